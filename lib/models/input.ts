/**
 * An image body for a model, whatever it came as: DICOM (lib/dicom: Modality LUT applied, so CT is
 * in HU; MONOCHROME1 inverted), PNG (8/16-bit grey or RGB; alpha dropped, palettes expanded), JPEG
 * (8-bit, libjpeg-turbo as lib/dicom's codec, JFIF YCbCr to RGB) or TIFF (utif: 8/16-bit grey or
 * RGB, chunky, any compression utif reads: none, LZW, PackBits, Deflate, JPEG). The format is
 * sniffed from the bytes, not trusted from Content-Type. Also masks from any of these.
 */
import UTIF from "utif";
import { BadInputError, UnsupportedError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { checkPixels, decodePng, isPng } from "../image/png.ts";
import type { PresetMeta } from "./presets.ts";

/** Formats an image body may have. */
export type ImageFormat = "dicom" | "png" | "jpeg" | "tiff";

/** A decoded body: pixels, what is known about them, and the format they came in. */
export interface DecodedInput {
  image: Image;
  meta: PresetMeta;
  format: ImageFormat;
}

/** Default largest image in pixels (64 Mi). */
export const DEFAULT_MAX_PIXELS = 1 << 26;

/**
 * The format of an image body from its first bytes; anything else is taken as DICOM (which may
 * come without its preamble).
 * @example sniffFormat(pngBytes) // "png"
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  if (isPng(bytes)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "jpeg";
  }
  if (
    bytes.length >= 4 &&
    ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 42 && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 42))
  ) return "tiff";
  return "dicom";
}

function dropAlpha<T extends Uint8Array | Uint16Array>(
  data: T,
  n: number,
  from: number,
  to: number,
): T {
  const out = new (data.constructor as new (n: number) => T)(n * to);
  for (let i = 0; i < n; i++) for (let k = 0; k < to; k++) out[i * to + k] = data[i * from + k];
  return out;
}

function fromPng(bytes: Uint8Array, maxPixels: number): Image {
  const png = decodePng(bytes, maxPixels);
  const { width, height } = png;
  const n = width * height;
  if (png.palette) {
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const c = png.palette[png.data[i]] ?? [0, 0, 0];
      rgb[3 * i] = c[0], rgb[3 * i + 1] = c[1], rgb[3 * i + 2] = c[2];
    }
    return { width, height, channels: 3, data: rgb };
  }
  const ch = png.channels;
  if (ch === 1 || ch === 3) return { width, height, channels: ch, data: png.data };
  const to = ch === 2 ? 1 : 3;
  return { width, height, channels: to, data: dropAlpha(png.data, n, ch, to) };
}

async function fromJpeg(bytes: Uint8Array, maxPixels: number): Promise<Image> {
  const { readJpegHeader } = await import("../dicom/codecs/_codestream.ts");
  const { decodeJpeg8 } = await import("../dicom/codecs/jpeg_baseline.ts");
  const header = readJpegHeader(bytes, "JPEG");
  if (header.precision !== 8) {
    throw new UnsupportedError(`JPEG of ${header.precision}-bit precision: send 8-bit JPEG or PNG`);
  }
  if (header.components !== 1 && header.components !== 3) {
    throw new UnsupportedError(
      `JPEG with ${header.components} components (CMYK?): send RGB or grey`,
    );
  }
  checkPixels(header.columns, header.rows, maxPixels);
  const { data } = await decodeJpeg8(bytes, header, {
    rows: header.rows,
    columns: header.columns,
    bitsAllocated: 8,
    bitsStored: 8,
    pixelRepresentation: 0,
    samplesPerPixel: header.components,
    // A JPEG file is YCbCr unless its markers say otherwise; libjpeg converts to RGB.
    photometricInterpretation: header.components === 3 ? "YBR_FULL_422" : "MONOCHROME2",
    planarConfiguration: 0,
  });
  return {
    width: header.columns,
    height: header.rows,
    channels: header.components as 1 | 3,
    // The codec answers a Uint8ClampedArray; the image type holds Uint8Array.
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

function tag(ifd: Record<string, unknown>, t: number): number[] | undefined {
  const v = ifd[`t${t}`];
  return Array.isArray(v) ? v as number[] : undefined;
}

function fromTiff(bytes: Uint8Array, maxPixels: number): Image {
  let ifds: ReturnType<typeof UTIF.decode>;
  try {
    ifds = UTIF.decode(bytes);
  } catch (err) {
    throw new BadInputError(`TIFF could not be read: ${(err as Error).message}`);
  }
  const ifd = ifds[0] as unknown as Record<string, unknown>;
  if (!ifd) throw new BadInputError("TIFF has no image");
  const width = tag(ifd, 256)?.[0] ?? 0, height = tag(ifd, 257)?.[0] ?? 0;
  if (!(width > 0 && height > 0)) throw new BadInputError("TIFF declares no image size");
  checkPixels(width, height, maxPixels);
  const bits = tag(ifd, 258) ?? [1];
  const spp = tag(ifd, 277)?.[0] ?? 1;
  const photometric = tag(ifd, 262)?.[0] ?? 1;
  if ((tag(ifd, 284)?.[0] ?? 1) !== 1 && spp > 1) {
    throw new UnsupportedError("planar TIFF (PlanarConfiguration 2): send chunky RGB or PNG");
  }
  if (!bits.every((b) => b === bits[0]) || (bits[0] !== 8 && bits[0] !== 16)) {
    throw new UnsupportedError(`TIFF of ${bits.join("/")} bits per sample: send 8 or 16-bit`);
  }
  if (photometric > 2) {
    throw new UnsupportedError(`TIFF photometric interpretation ${photometric}: send grey or RGB`);
  }
  try {
    UTIF.decodeImage(bytes, ifds[0]);
  } catch (err) {
    throw new BadInputError(`TIFF pixels could not be decoded: ${(err as Error).message}`);
  }
  const raw = (ifd as { data?: Uint8Array }).data;
  const n = width * height;
  if (!raw || raw.length < n * spp * (bits[0] / 8)) {
    throw new BadInputError("TIFF pixel data is shorter than its header says");
  }
  let data: Uint8Array | Uint16Array;
  if (bits[0] === 8) data = raw.slice(0, n * spp);
  else {
    const le = (ifd as { isLE?: boolean }).isLE !== false;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    data = new Uint16Array(n * spp);
    for (let i = 0; i < data.length; i++) data[i] = view.getUint16(2 * i, le);
  }
  if (photometric === 0) {
    const max = bits[0] === 8 ? 255 : 65535; // WhiteIsZero: invert so that bright means high
    for (let i = 0; i < data.length; i++) data[i] = max - data[i];
  }
  if (spp === 1 || spp === 3) return { width, height, channels: spp, data };
  if (spp === 2 || spp === 4) {
    const to = spp === 2 ? 1 : 3;
    return { width, height, channels: to, data: dropAlpha(data, n, spp, to) };
  }
  throw new UnsupportedError(`TIFF with ${spp} samples per pixel: send grey or RGB`);
}

/**
 * Decodes an image body of any accepted format.
 * @example const { image, meta, format } = await decodeImageBytes(await Deno.readFile("ct.dcm"));
 */
export async function decodeImageBytes(
  bytes: Uint8Array,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<DecodedInput> {
  if (bytes.length === 0) throw new BadInputError("the body is empty: send an image");
  const format = sniffFormat(bytes);
  if (format === "png") return { image: fromPng(bytes, maxPixels), meta: {}, format };
  if (format === "jpeg") return { image: await fromJpeg(bytes, maxPixels), meta: {}, format };
  if (format === "tiff") return { image: fromTiff(bytes, maxPixels), meta: {}, format };
  const { decodeDicom } = await import("../dicom/pixels.ts");
  const { image, meta } = await decodeDicom(bytes, { pixelLimit: maxPixels * 8 });
  checkPixels(image.width, image.height, maxPixels);
  return {
    image,
    meta: {
      ...(meta.pixelSpacing ? { spacing: meta.pixelSpacing } : {}),
      rescaleSlope: meta.rescaleSlope,
      rescaleIntercept: meta.rescaleIntercept,
      ...(meta.modality ? { modality: meta.modality } : {}),
    },
    format,
  };
}

/**
 * A 0/1 mask from an image body: a pixel is in the mask when any of its samples is non-zero.
 * @example const { mask, width, height } = await decodeMaskBytes(pngBytes);
 */
export async function decodeMaskBytes(
  bytes: Uint8Array,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const { image } = await decodeImageBytes(bytes, maxPixels);
  const { width, height, channels: c, data } = image;
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) {
    let on = 0;
    for (let k = 0; k < c; k++) on |= data[i * c + k] !== 0 ? 1 : 0;
    mask[i] = on;
  }
  return { mask, width, height };
}
