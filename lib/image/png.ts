/**
 * PNG in and out over the one image type. Reading: non-interlaced PNGs (every colour type and bit
 * depth) are inflated by the runtime's native zlib (node:zlib inflateSync, into one buffer sized
 * from the header) and unfiltered here in typed-array loops; interlaced (Adam7) PNGs, and anything
 * this reader does not take, go to fast-png, whose output this one matches bit for bit (pinned by
 * tests/image/png_test.ts over synthetic PNGs of every kind and filter and over ../shared/data).
 * fast-png inflates in JavaScript (fflate): a 2600x4144 16-bit RGB CBIS-DDSM ROI took 1.7-3.9 s
 * there against a few hundred ms here. inflateSync rather than DecompressionStream: it keeps
 * decodePng synchronous for its callers and writes one output buffer (the stream took 3x longer on
 * that ROI, copying chunk by chunk). Writing is over the platform's native zlib too (fast-png
 * deflates with fflate in JavaScript, which took 8-13 ms for a 1024x1024 mask against 2-3 ms
 * native): images stream through CompressionStream in blocks; masks go through one deflateSync
 * at level 1 with the RLE strategy, OpenCV's PNG defaults, which took 4 ms instead of 80-110 ms
 * for a 3812x3812 CBIS-DDSM mask here.
 */
import { constants as zlib, deflateRawSync, inflateSync } from "node:zlib";
import { decode } from "fast-png";
import { BadInputError, LimitExceededError } from "../errors.ts";

/**
 * A decoded PNG as the file holds it: row-major, interleaved channels, one byte or one uint16 per
 * sample. Not the one `Image` (./image.ts): it keeps what a PNG can be and an Image is not (1 to 4
 * channels, alpha included; the bit depth; the palette); lib/decode/png.ts makes an Image of it.
 */
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
 * @example decodePng(await Deno.readFile("mask.png")).width
 */
export function decodePng(bytes: Uint8Array, maxPixels = Infinity): PngImage {
  if (!isPng(bytes)) throw new BadInputError("body is not a PNG (no PNG signature)");
  if (bytes.length < 24) throw new BadInputError("PNG is truncated before its header (IHDR)");
  // Refuse a huge declared size before fast-png allocates for it (a decompression bomb).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getUint32(16) * view.getUint32(20);
  checkPixels(view.getUint32(16), view.getUint32(20), maxPixels);
  if (declared === 0) throw new BadInputError("PNG header declares an empty image");
  let png = decodeNative(bytes);
  if (!png) {
    try {
      const d = decode(bytes);
      png = { ...d, data: d.data as Uint8Array | Uint16Array, palette: d.palette as number[][] };
    } catch (err) {
      throw new BadInputError(`PNG could not be decoded: ${(err as Error).message}`);
    }
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

/** Samples per pixel of each PNG colour type; valid bit depths. */
const COLOUR: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

/**
 * Decodes a non-interlaced PNG with the native inflate, or returns undefined for whatever it does
 * not take (interlaced, malformed, a chunk layout fast-png reads differently), which then goes to
 * fast-png: that one either decodes it or names the fault. Exported for the parity tests; callers
 * use {@link decodePng}. As fast-png's answer, sub-byte depths are still packed here.
 */
export function decodeNative(bytes: Uint8Array): PngImage | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, depth = 0, colourType = -1, interlace = 0, seenHeader = false;
  let palette: number[][] | undefined;
  const idat: Uint8Array[] = [];
  let idatBytes = 0, ended = false;
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const from = at + 8, to = from + length;
    if (to + 4 > bytes.length) return undefined;
    if (type === "IHDR") {
      if (length !== 13) return undefined;
      width = view.getUint32(from);
      height = view.getUint32(from + 4);
      depth = bytes[from + 8];
      colourType = bytes[from + 9];
      // compression 0 and filter method 0 are the only ones defined
      if (bytes[from + 10] !== 0 || bytes[from + 11] !== 0) return undefined;
      interlace = bytes[from + 12];
      seenHeader = true;
    } else if (type === "PLTE") {
      if (length % 3 !== 0) return undefined;
      palette = [];
      for (let p = from; p < to; p += 3) palette.push([bytes[p], bytes[p + 1], bytes[p + 2]]);
    } else if (type === "tRNS") {
      // fast-png keeps tRNS only as palette alpha (refusing it elsewhere but for grey and RGB)
      if (colourType === 3) {
        if (!palette || length > palette.length) return undefined;
        palette.forEach((c, i) => c.push(i < length ? bytes[from + i] : 255));
      } else if (colourType !== 0 && colourType !== 2) return undefined;
      else if (length % 2 !== 0 || length / 2 > width * height) return undefined;
    } else if (type === "IDAT") {
      idat.push(bytes.subarray(from, to));
      idatBytes += length;
    } else if (type === "IEND") {
      ended = true;
      break;
    } else if (type === "pHYs" && length !== 9) return undefined;
    at = to + 4;
  }
  const kind = COLOUR[colourType];
  if (!ended || !seenHeader || interlace !== 0 || !kind || !kind.depths.includes(depth)) {
    return undefined;
  }
  const channels = kind.channels;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const stride = rowBytes + 1;
  const expected = stride * height;
  let stream = idat[0] ?? new Uint8Array(0);
  if (idat.length > 1) {
    stream = new Uint8Array(idatBytes);
    let k = 0;
    for (const part of idat) stream.set(part, k), k += part.length;
  }
  let raw: Uint8Array;
  try {
    // One output buffer of exactly the size the header implies; more data is an error here.
    const out = inflateSync(stream, {
      chunkSize: Math.max(64, expected),
      maxOutputLength: expected,
    });
    raw = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch {
    return undefined;
  }
  if (raw.length !== expected) return undefined;
  const bpp = Math.max(1, (channels * depth) >> 3);
  if (!unfilter(raw, rowBytes, height, bpp)) return undefined;
  // Rows moved left over their filter bytes, in place: a fresh buffer of this size costs more to
  // touch for the first time (page faults) than the whole copy (measured 200-600 ms against 4 ms
  // for 64 MB here). The answer is a view on the inflated buffer.
  for (let y = 0; y < height; y++) raw.copyWithin(y * rowBytes, y * stride + 1, (y + 1) * stride);
  let data: Uint8Array | Uint16Array = raw.subarray(0, rowBytes * height);
  if (depth === 16) {
    data = raw.byteOffset % 2 === 0
      ? new Uint16Array(raw.buffer, raw.byteOffset, (rowBytes >> 1) * height)
      : new Uint16Array(data.slice().buffer);
    swapBytes16(data);
  }
  return { width, height, channels, depth, data, palette: colourType === 3 ? palette : undefined };
}

/**
 * Undoes the PNG row filters in place: row y's bytes are raw[y*stride+1 ..], its filter type at
 * raw[y*stride]; `bpp` is the bytes per complete pixel (at least 1). False on an unknown filter.
 */
function unfilter(raw: Uint8Array, rowBytes: number, height: number, bpp: number): boolean {
  const stride = rowBytes + 1;
  for (let y = 0; y < height; y++) {
    const r = y * stride + 1; // the row's first byte; the row above starts at r - stride
    const first = y === 0;
    switch (raw[r - 1]) {
      case 0:
        break;
      case 1:
        if (bpp === 1) {
          // the running sum in a register: no store-to-load wait per byte (2.5x faster)
          for (let i = r + 1, end = r + rowBytes, acc = raw[r]; i < end; i++) {
            acc = (acc + raw[i]) & 0xff;
            raw[i] = acc;
          }
        } else for (let i = r + bpp, end = r + rowBytes; i < end; i++) raw[i] += raw[i - bpp];
        break;
      case 2:
        if (first) break;
        for (let i = r, end = r + rowBytes; i < end; i++) raw[i] += raw[i - stride];
        break;
      case 3:
        if (first) {
          for (let i = r + bpp, end = r + rowBytes; i < end; i++) raw[i] += raw[i - bpp] >> 1;
        } else {
          for (let i = r, end = r + bpp; i < end; i++) raw[i] += raw[i - stride] >> 1;
          for (let i = r + bpp, end = r + rowBytes; i < end; i++) {
            raw[i] += (raw[i - bpp] + raw[i - stride]) >> 1;
          }
        }
        break;
      case 4:
        if (first) {
          // Paeth with no row above is Sub
          for (let i = r + bpp, end = r + rowBytes; i < end; i++) raw[i] += raw[i - bpp];
        } else {
          // left and upper-left are 0 on the first pixel: Paeth picks the byte above
          for (let i = r, end = r + bpp; i < end; i++) raw[i] += raw[i - stride];
          for (let i = r + bpp, end = r + rowBytes; i < end; i++) {
            const a = raw[i - bpp], b = raw[i - stride], c = raw[i - stride - bpp];
            const pa = b > c ? b - c : c - b, pb = a > c ? a - c : c - a;
            const pc = a + b - c - c > 0 ? a + b - c - c : c + c - a - b;
            raw[i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          }
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

/** PNG's big-endian 16-bit samples to the platform's (little-endian) order, two at a time. */
function swapBytes16(data: Uint16Array): void {
  // a Uint32Array view needs a 4-byte aligned start; the odd one before it is swapped alone
  const head = data.byteOffset % 4 === 0 ? 0 : 1;
  const pairs = (data.length - head) >> 1;
  const words = new Uint32Array(data.buffer, data.byteOffset + 2 * head, pairs);
  for (let i = 0; i < pairs; i++) {
    const w = words[i];
    words[i] = ((w & 0xff00ff00) >>> 8) | ((w & 0x00ff00ff) << 8);
  }
  const one = (i: number) => (data[i] = ((data[i] & 0xff) << 8) | (data[i] >> 8));
  if (head) one(0);
  if (head + 2 * pairs < data.length) one(data.length - 1);
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
  // the common layouts unrolled (a 2600x4144 RGB ROI: 32 M samples)
  if (colour === 3) {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      mask[i] = (data[p] | data[p + 1] | data[p + 2]) !== 0 ? 1 : 0;
    }
  } else if (colour === 1) {
    for (let i = 0, p = 0; i < n; i++, p += channels) mask[i] = data[p] !== 0 ? 1 : 0;
  } else {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      let v = 0;
      for (let c = 0; c < colour; c++) v |= data[p + c];
      mask[i] = v !== 0 ? 1 : 0;
    }
  }
  return mask;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Rows handed to the compressor at a time: bounds the uncompressed bytes held to one block. */
const BLOCK_BYTES = 1 << 20;

/**
 * Encodes a grey (1 channel) or RGB (3 channels) PNG: `fillRow` writes each scanline's packed bytes
 * (filter type 0: measured, Sub filtering made the native deflate 1.5x slower for 40% smaller
 * files on mammograms). Rows are streamed through the native deflate in blocks, so the whole
 * uncompressed image is never held at once.
 */
async function encodeRowsPng(
  width: number,
  height: number,
  depth: 1 | 8 | 16,
  fillRow: (y: number, out: Uint8Array) => void,
  channels: 1 | 3 = 1,
): Promise<Uint8Array<ArrayBuffer>> {
  const rowBytes = Math.ceil((width * depth * channels) / 8);
  const stride = rowBytes + 1;
  const rowsPerBlock = Math.max(1, Math.floor(BLOCK_BYTES / stride));
  const deflate = new CompressionStream("deflate");
  const writer = deflate.writable.getWriter();
  const compressed = new Response(deflate.readable).arrayBuffer();
  for (let y0 = 0; y0 < height; y0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, height - y0);
    const block = new Uint8Array(rows * stride);
    for (let r = 0; r < rows; r++) {
      fillRow(y0 + r, block.subarray(r * stride + 1, (r + 1) * stride));
    }
    await writer.write(block);
  }
  await writer.close();
  const idat = new Uint8Array(await compressed);
  return wrapPng(width, height, depth, channels === 3 ? 2 : 0, idat);
}

/** The IHDR, IDAT and IEND chunks around a zlib stream of scanlines. */
function wrapPng(
  width: number,
  height: number,
  depth: number,
  colourType: number,
  idat: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = depth;
  ihdr[9] = colourType; // compression, filter, interlace 0
  // Signature, IHDR (25), IDAT (12 + data), IEND (12), written once into the answer.
  const out = new Uint8Array(8 + 25 + 12 + idat.length + 12);
  out.set(PNG_SIGNATURE, 0);
  out.set(chunk("IHDR", ihdr), 8);
  const view = new DataView(out.buffer);
  const at = 33;
  view.setUint32(at, idat.length);
  out.set([0x49, 0x44, 0x41, 0x54], at + 4);
  out.set(idat, at + 8);
  view.setUint32(at + 8 + idat.length, crc32(out, at + 4, at + 8 + idat.length));
  out.set(chunk("IEND", new Uint8Array(0)), at + 12 + idat.length);
  return out;
}

/** Bytes of scanlines deflated per native call, in one reused buffer (see zlibRows). */
const MASK_BLOCK = 1 << 18;

/**
 * A zlib stream of PNG scanlines (filter type 0) that `fillRow` writes into a zeroed row, with the
 * native deflate at OpenCV's PNG defaults (level 1, RLE strategy: masks are long runs). Rows are
 * filled a block at a time into one small reused buffer, each block deflated on its own and
 * flushed to a byte boundary (Z_SYNC_FLUSH), the blocks joined under one zlib header and Adler-32:
 * a fresh buffer of the whole image cost more than all the rest here (first touch of its pages:
 * ~5 ms per MB on this machine). With `on255`, every non-zero byte is written as 255.
 */
function zlibRows(
  rowBytes: number,
  height: number,
  fillRow: (y: number, row: Uint8Array) => void,
  on255: boolean,
  timings?: Record<string, number>,
): Uint8Array {
  const stride = rowBytes + 1;
  const rowsPerBlock = Math.max(1, Math.floor(MASK_BLOCK / stride));
  const block = new Uint8Array(Math.ceil((rowsPerBlock * stride) / 4) * 4);
  const words = new Uint32Array(block.buffer);
  const parts: Uint8Array[] = [Uint8Array.of(0x78, 0x01)];
  const options = { level: 1, strategy: zlib.Z_RLE, finishFlush: zlib.Z_SYNC_FLUSH };
  let a = 1, b = 0, rowsMs = 0, deflateMs = 0, total = 2;
  for (let y0 = 0; y0 < height; y0 += rowsPerBlock) {
    const t0 = performance.now();
    const rows = Math.min(rowsPerBlock, height - y0), n = rows * stride;
    block.fill(0, 0, n);
    for (let r = 0; r < rows; r++) {
      fillRow(y0 + r, block.subarray(r * stride + 1, (r + 1) * stride));
    }
    // Adler-32 (and 0/255) in one pass, four bytes at a time where all four are 0 (most of a
    // mask): a stays, b grows by 4a. 4096 bytes between reductions keeps b exact in a double.
    const whole = n & ~3;
    for (let i = 0; i < whole;) {
      const end = Math.min(whole, i + 4096);
      for (let j = i >> 2; i < end; i += 4, j++) {
        if (words[j] === 0) {
          b += 4 * a;
          continue;
        }
        for (let k = i; k < i + 4; k++) {
          let v = block[k];
          if (on255 && v !== 0) block[k] = v = 255;
          a += v;
          b += a;
        }
      }
      a %= 65521;
      b %= 65521;
    }
    for (let k = whole; k < n; k++) {
      let v = block[k];
      if (on255 && v !== 0) block[k] = v = 255;
      a = (a + v) % 65521;
      b = (b + a) % 65521;
    }
    const t1 = performance.now();
    const part = deflateRawSync(block.subarray(0, n), options);
    parts.push(part);
    total += part.length;
    rowsMs += t1 - t0;
    deflateMs += performance.now() - t1;
  }
  // the last block: an empty final fixed-Huffman block, then Adler-32 big-endian
  parts.push(Uint8Array.of(3, 0, b >>> 8, b & 0xff, a >>> 8, a & 0xff));
  total += 6;
  const out = new Uint8Array(total);
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  if (timings) Object.assign(timings, { rows: rowsMs, deflate: deflateMs });
  return out;
}

/**
 * An 8-bit grey 0/255 mask PNG whose rows `fillRow` writes (0 off, anything else on) straight into
 * the scanlines: no mask image in between. `timings`, when given, gets the ms spent filling rows
 * (`rows`) and deflating (`deflate`).
 * @example encodeMaskRowsPng(2, 1, (y, row) => row.set([0, 1]))
 */
export function encodeMaskRowsPng(
  width: number,
  height: number,
  fillRow: (y: number, row: Uint8Array) => void,
  timings?: Record<string, number>,
): Uint8Array<ArrayBuffer> {
  return wrapPng(width, height, 8, 0, zlibRows(width, height, fillRow, true, timings));
}

/**
 * Encodes a 0/1 (or 0/non-zero) mask as a grey PNG: 1-bit (values 0/1) or 8-bit (values 0/255).
 * @example await encodeMaskPng(Uint8Array.of(1, 0), 2, 1, 8)
 */
export function encodeMaskPng(
  mask: Uint8Array,
  width: number,
  height: number,
  bits: 1 | 8,
): Promise<Uint8Array<ArrayBuffer>> {
  if (bits === 8) {
    return Promise.resolve(
      encodeMaskRowsPng(
        width,
        height,
        (y, row) => row.set(mask.subarray(y * width, (y + 1) * width)),
      ),
    );
  }
  const idat = zlibRows(Math.ceil(width / 8), height, (y, row) => {
    for (let x = 0, p = y * width; x < width; x++, p++) if (mask[p]) row[x >> 3] |= 0x80 >> (x & 7);
  }, false);
  return Promise.resolve(wrapPng(width, height, 1, 0, idat));
}

/**
 * Encodes an 8- or 16-bit grey or RGB image (interleaved samples as given; 16-bit is written
 * big-endian as PNG requires).
 * @example await encodeImagePng(Uint16Array.of(0, 65535), 2, 1)
 */
export function encodeImagePng(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: 1 | 3 = 1,
): Promise<Uint8Array<ArrayBuffer>> {
  const n = width * channels;
  if (data instanceof Uint8Array) {
    return encodeRowsPng(
      width,
      height,
      8,
      (y, out) => out.set(data.subarray(y * n, (y + 1) * n)),
      channels,
    );
  }
  return encodeRowsPng(width, height, 16, (y, out) => {
    for (let x = 0, p = y * n; x < n; x++, p++) {
      out[2 * x] = data[p] >> 8;
      out[2 * x + 1] = data[p] & 0xff;
    }
  }, channels);
}
