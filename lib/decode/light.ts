/**
 * The pure-JavaScript codecs (PNG by fast-png, GIF by omggif, TIFF by utif; the latter two loaded
 * on first use): what a function may decode without pulling a wasm codec or lib/dicom into its
 * module graph (functions/rle.ts, where edge cold start is paid per isolate).
 */
import { type Codecs, type DecodeImageOptions, decodeWith, maskWith } from "./decode.ts";
import { pngToImage } from "./png.ts";
import type { DecodedImage, DecodedMask } from "./types.ts";

/** PNG, TIFF and GIF. */
export const LIGHT_CODECS: Codecs = {
  png: (bytes, maxPixels) =>
    Promise.resolve({ image: pngToImage(bytes, maxPixels), meta: {}, format: "png" }),
  tiff: async (bytes, maxPixels) => {
    const { decodeTiff } = await import("./tiff.ts");
    return { image: await decodeTiff(bytes, maxPixels), meta: {}, format: "tiff" };
  },
  gif: async (bytes, maxPixels) => {
    const { decodeGif } = await import("./gif.ts");
    return { image: await decodeGif(bytes, maxPixels), meta: {}, format: "gif" };
  },
};

/**
 * Decodes a PNG, TIFF or GIF body.
 * @example const { image } = await decodeLightImage(await Deno.readFile("01_manual1.gif"));
 */
export function decodeLightImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedImage> {
  return decodeWith(bytes, LIGHT_CODECS, options);
}

/**
 * A 0/1 mask from a PNG, TIFF or GIF body (any non-zero colour is mask).
 * @example const { mask } = await maskFromLightBytes(await Deno.readFile("01_test_mask.gif"));
 */
export function maskFromLightBytes(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedMask> {
  return maskWith(bytes, LIGHT_CODECS, options);
}
