/**
 * PNG in and out over the one image type, with fast-png (8- and 16-bit grey, grey+alpha, RGB(A),
 * palette, 1/2/4-bit). Masks are written as 1-bit (0/1) or 8-bit (0/255) grey PNGs.
 */
import { decode, encode } from "fast-png";
import { BadInputError, LimitExceededError } from "../errors.ts";

/** A decoded PNG: row-major, interleaved channels, one byte or one uint16 per sample. */
export interface PngImage {
  width: number;
  height: number;
  channels: number;
  depth: number;
  data: Uint8Array | Uint16Array;
  palette?: number[][];
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Decodes a PNG; sub-byte depths are unpacked to one sample per byte.
 * @example decodePng(encodeMaskPng(Uint8Array.of(1, 0), 2, 1, 1)).data // [1, 0]
 */
export function decodePng(bytes: Uint8Array, maxPixels = Infinity): PngImage {
  if (!isPng(bytes)) throw new BadInputError("body is not a PNG (no PNG signature)");
  if (bytes.length < 24) throw new BadInputError("PNG is truncated before its header (IHDR)");
  // Refuse a huge declared size before fast-png allocates for it (a decompression bomb).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getUint32(16) * view.getUint32(20);
  checkPixels(view.getUint32(16), view.getUint32(20), maxPixels);
  if (declared === 0) throw new BadInputError("PNG header declares an empty image");
  let png;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new BadInputError(`PNG could not be decoded: ${(err as Error).message}`);
  }
  const { width, height, depth } = png;
  const channels = png.channels;
  let data = png.data as Uint8Array | Uint16Array;
  if (depth < 8) data = unpackBits(data as Uint8Array, width * channels, height, depth);
  if (data.length < width * height * channels) {
    throw new BadInputError("PNG pixel data is shorter than its header says");
  }
  return { width, height, channels, depth, data, palette: png.palette as number[][] | undefined };
}

/** Throws LimitExceededError when width*height is over `maxPixels`. */
export function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new LimitExceededError(
      `image of ${width}x${height} = ${width * height} pixels is over the limit of ${maxPixels}`,
      { limit: maxPixels },
    );
  }
}

function unpackBits(packed: Uint8Array, samplesPerRow: number, height: number, depth: number) {
  const out = new Uint8Array(samplesPerRow * height);
  const rowBytes = Math.ceil((samplesPerRow * depth) / 8);
  const perByte = 8 / depth;
  const maskBits = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < samplesPerRow; x++) {
      const byte = packed[y * rowBytes + Math.floor(x / perByte)];
      const shift = 8 - depth * ((x % perByte) + 1);
      out[y * samplesPerRow + x] = (byte >> shift) & maskBits;
    }
  }
  return out;
}

/**
 * A 0/1 mask from any PNG: a pixel is in the mask when any colour sample is non-zero (alpha is
 * ignored; palette entries are looked up).
 */
export function maskFromPng(img: PngImage): Uint8Array {
  const { width, height, channels, data, palette } = img;
  const n = width * height;
  const mask = new Uint8Array(n);
  const colour = channels === 2 || channels === 4 ? channels - 1 : channels;
  if (palette) {
    const on = palette.map((c) => (c[0] | c[1] | c[2]) !== 0);
    for (let i = 0; i < n; i++) mask[i] = on[data[i]] ? 1 : 0;
    return mask;
  }
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    let v = 0;
    for (let c = 0; c < colour; c++) v |= data[p + c];
    mask[i] = v !== 0 ? 1 : 0;
  }
  return mask;
}

/**
 * Encodes a 0/1 mask as a grey PNG: 1-bit (values 0/1) or 8-bit (values 0/255).
 * @example encodeMaskPng(Uint8Array.of(1, 0), 2, 1, 8) // PNG bytes
 */
export function encodeMaskPng(
  mask: Uint8Array,
  width: number,
  height: number,
  bits: 1 | 8,
): Uint8Array {
  if (bits === 8) {
    const data = new Uint8Array(mask.length);
    for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
    return encode({ width, height, data, depth: 8, channels: 1 });
  }
  const rowBytes = Math.ceil(width / 8);
  const packed = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const row = y * width, out = y * rowBytes;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]) packed[out + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  return encode({ width, height, data: packed, depth: 1, channels: 1 });
}
