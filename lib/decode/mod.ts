/**
 * The one decoder of request bodies: bytes -> the one 2D image type plus the metadata pipelines
 * need (spacing, window, modality, age, sex, view, frame), whatever the body is (DICOM, PNG, JPEG,
 * TIFF, GIF), recognised by its bytes and never by its Content-Type; and masks from any of these
 * (any non-zero sample is mask). Every codec but PNG loads on first use. No HTTP and no tfjs here.
 */
import { type Codecs, type DecodeImageOptions, decodeWith, maskWith } from "./decode.ts";
import { LIGHT_CODECS } from "./light.ts";
import type { DecodedImage, DecodedMask } from "./types.ts";

export {
  bodyFormat,
  type Codec,
  type Codecs,
  type DecodeImageOptions,
  DEFAULT_MAX_PIXELS,
  maskFromImage,
} from "./decode.ts";
export { decodeLightImage, LIGHT_CODECS, maskFromLightBytes } from "./light.ts";
export { IMAGE_FORMATS, type ImageFormat, sniffImage } from "./sniff.ts";
export type { DecodedImage, DecodedMask, DecodedMeta } from "./types.ts";

/** Every format: DICOM (lib/dicom), PNG, JPEG (libjpeg-turbo wasm), TIFF, GIF. */
export const ALL_CODECS: Codecs = {
  dicom: async (bytes, maxPixels, frame) => {
    const { dicomToImage } = await import("./dicom.ts");
    return await dicomToImage(bytes, maxPixels, frame);
  },
  png: LIGHT_CODECS.png,
  jpeg: async (bytes, maxPixels) => {
    const { decodeJpeg } = await import("./jpeg.ts");
    return { image: await decodeJpeg(bytes, maxPixels), meta: {}, format: "jpeg" };
  },
  tiff: LIGHT_CODECS.tiff,
  gif: LIGHT_CODECS.gif,
};

/**
 * Decodes an image body of any format.
 * @example const { image, meta, format } = await decodeImage(await Deno.readFile("image_60"));
 */
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedImage> {
  return decodeWith(bytes, ALL_CODECS, options);
}

/**
 * A 0/1 mask from a body of any format (RGB(A) masks included: any non-zero colour is mask).
 * @example const { mask, width, height } = await maskFromBytes(await Deno.readFile("01_manual1.gif"));
 */
export function maskFromBytes(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedMask> {
  return maskWith(bytes, ALL_CODECS, options);
}
