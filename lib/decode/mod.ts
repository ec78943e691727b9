/**
 * The one decoder of request bodies: bytes -> the one 2D image type plus the metadata pipelines
 * need, whatever the body is (DICOM, PNG, JPEG, TIFF, GIF), recognised by its bytes and never by its
 * Content-Type; and masks from any of these (a pixel is in the mask when any sample is non-zero, so
 * RGB(A) masks such as CBIS-DDSM's ROI PNGs are masks). Codecs other than PNG load on first use, so
 * a function that only ever sees PNGs pays for no other codec. No HTTP and no tfjs here.
 */
import { BadInputError, UnsupportedError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { pngToImage } from "./png.ts";
import { type ImageFormat, sniffImage } from "./sniff.ts";
import type { DecodedImage, DecodedMask } from "./types.ts";

export { IMAGE_FORMATS, type ImageFormat, sniffImage } from "./sniff.ts";
export type { DecodedImage, DecodedMask, DecodedMeta } from "./types.ts";

/** Default largest image in pixels (64 Mi). */
export const DEFAULT_MAX_PIXELS = 1 << 26;

/** Options of {@link decodeImage}. */
export interface DecodeImageOptions {
  /** Largest image in pixels (default 64 Mi). */
  maxPixels?: number;
  /** DICOM frame, from 0. */
  frame?: number;
  /** The formats the caller takes (default all); another one is a 415. */
  accept?: readonly ImageFormat[];
}

const NAMES: Record<ImageFormat, string> = {
  dicom: "DICOM",
  png: "PNG",
  jpeg: "JPEG",
  tiff: "TIFF",
  gif: "GIF",
};

/** "PNG, JPEG or GIF" */
function list(formats: readonly ImageFormat[]): string {
  const names = formats.map((f) => NAMES[f]);
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/**
 * The format of a body, checked against what the caller takes: a known other format is a 415
 * naming the accepted ones; no known signature is "dicom" when DICOM is accepted (a bare dataset
 * need not start with a group the sniffer knows; the DICOM parser then says what is wrong).
 * @example bodyFormat(gifBytes, ["dicom"]) // throws UnsupportedError: a GIF, not DICOM
 */
export function bodyFormat(
  bytes: Uint8Array,
  accept: readonly ImageFormat[] = ["dicom", "png", "jpeg", "tiff", "gif"],
): ImageFormat | null {
  if (bytes.length === 0) throw new BadInputError("the body is empty: send an image");
  const format = sniffImage(bytes);
  if (format && !accept.includes(format)) {
    throw new UnsupportedError(
      `the body is a ${NAMES[format]} (by its bytes); this route takes ${list(accept)}`,
      { field: "body" },
    );
  }
  return format;
}

/**
 * Decodes an image body of any accepted format.
 * @example const { image, meta, format } = await decodeImage(await Deno.readFile("01_test_mask.gif"));
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const accept = options.accept ?? ["dicom", "png", "jpeg", "tiff", "gif"];
  const format = bodyFormat(bytes, accept);
  switch (format) {
    case "png":
      return { image: pngToImage(bytes, maxPixels), meta: {}, format };
    case "jpeg": {
      const { decodeJpeg } = await import("./jpeg.ts");
      return { image: await decodeJpeg(bytes, maxPixels), meta: {}, format };
    }
    case "tiff": {
      const { decodeTiff } = await import("./tiff.ts");
      return { image: await decodeTiff(bytes, maxPixels), meta: {}, format };
    }
    case "gif": {
      const { decodeGif } = await import("./gif.ts");
      return { image: await decodeGif(bytes, maxPixels), meta: {}, format };
    }
  }
  if (!accept.includes("dicom")) {
    throw new UnsupportedError(
      `the body is none of ${list(accept)} (its first bytes match no signature)`,
      { field: "body" },
    );
  }
  const { dicomToImage } = await import("./dicom.ts");
  if (format === "dicom") return await dicomToImage(bytes, maxPixels, options.frame);
  try {
    return await dicomToImage(bytes, maxPixels, options.frame);
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    const others = list(accept.filter((f) => f !== "dicom"));
    throw new BadInputError(
      `the body is not a ${others}, and not DICOM either: ${err.message}`,
      { field: "body" },
    );
  }
}

/**
 * A 0/1 mask from an image: a pixel is in the mask when any of its samples is non-zero.
 * @example maskFromImage({ width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 0, 0, 9, 0, 0) }) // [0, 1]
 */
export function maskFromImage(image: Image): Uint8Array {
  const { width, height, channels: c, data } = image;
  const mask = new Uint8Array(width * height);
  if (c === 1) {
    for (let i = 0; i < mask.length; i++) mask[i] = data[i] !== 0 ? 1 : 0;
    return mask;
  }
  for (let i = 0, p = 0; i < mask.length; i++, p += c) {
    let on = 0;
    for (let k = 0; k < c; k++) on |= data[p + k] !== 0 ? 1 : 0;
    mask[i] = on;
  }
  return mask;
}

/**
 * A 0/1 mask from a body of any accepted format (RGB(A) masks included: any non-zero colour).
 * @example const { mask, width, height } = await maskFromBytes(await Deno.readFile("01_manual1.gif"));
 */
export async function maskFromBytes(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<DecodedMask> {
  const { image, format } = await decodeImage(bytes, options);
  return { mask: maskFromImage(image), width: image.width, height: image.height, format };
}
