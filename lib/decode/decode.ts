/**
 * The decoder of request bodies over a table of codecs: sniff the bytes (./sniff.ts), refuse a
 * format the table lacks with a 415 naming those it has, decode, and make masks (a pixel is in the
 * mask when any sample is non-zero, so RGB(A) masks such as CBIS-DDSM's ROI PNGs are masks).
 * mod.ts binds every codec; light.ts only the pure-JavaScript ones, for functions that must keep
 * wasm codecs out of their module graph (functions/rle.ts: edge cold start).
 */
import { BadInputError, UnsupportedError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { type ImageFormat, sniffImage } from "./sniff.ts";
import type { DecodedImage, DecodedMask } from "./types.ts";

/** Default largest image in pixels (64 Mi). */
export const DEFAULT_MAX_PIXELS = 1 << 26;

/** One format's decoder: bytes -> image and metadata; the size is checked against maxPixels. */
export type Codec = (bytes: Uint8Array, maxPixels: number, frame: number) => Promise<DecodedImage>;

/** Decoders by format, in the order problems name them. */
export type Codecs = Partial<Record<ImageFormat, Codec>>;

/** Options of {@link decodeWith}. */
export interface DecodeImageOptions {
  /** Largest image in pixels (default 64 Mi). */
  maxPixels?: number;
  /** DICOM frame, from 0. */
  frame?: number;
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
 * naming the accepted ones; null when no signature is known.
 * @example bodyFormat(gifBytes, ["dicom"]) // throws UnsupportedError: a GIF, not DICOM
 */
export function bodyFormat(bytes: Uint8Array, accept: readonly ImageFormat[]): ImageFormat | null {
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
 * Decodes a body with `codecs`. A body without a known signature goes to the DICOM codec when
 * there is one (a bare dataset need not start with a group the sniffer knows), and its failure
 * names every accepted format; without a DICOM codec it is a 400 naming them. A known format the
 * table lacks is a 415 (see {@link bodyFormat}).
 * @example const { image, format } = await decodeWith(bytes, { png: pngCodec });
 */
export async function decodeWith(
  bytes: Uint8Array,
  codecs: Codecs,
  options: DecodeImageOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const frame = options.frame ?? 0;
  const accept = Object.keys(codecs) as ImageFormat[];
  const format = bodyFormat(bytes, accept);
  if (format) return await codecs[format]!(bytes, maxPixels, frame);
  const others = list(accept.filter((f) => f !== "dicom"));
  if (!codecs.dicom) {
    throw new BadInputError(`the body is not a ${others} (its first bytes match no signature)`, {
      field: "body",
    });
  }
  try {
    return await codecs.dicom(bytes, maxPixels, frame);
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    throw new BadInputError(`the body is not a ${others}, and not DICOM either: ${err.message}`, {
      field: "body",
    });
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
 * A 0/1 mask from a body decoded with `codecs` (RGB(A) masks included: any non-zero colour).
 * @example const { mask } = await maskWith(gifBytes, LIGHT_CODECS);
 */
export async function maskWith(
  bytes: Uint8Array,
  codecs: Codecs,
  options: DecodeImageOptions = {},
): Promise<DecodedMask> {
  const { image, format } = await decodeWith(bytes, codecs, options);
  return { mask: maskFromImage(image), width: image.width, height: image.height, format };
}
