/**
 * DICOM RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G: a 64-byte header (segment count and
 * 15 offsets), then one PackBits segment per byte plane, most significant byte first, one set per
 * sample; decoded to interleaved samples as pydicom's rle_handler and GDCM do. Hand-written: it is
 * a few dozen lines, and no npm package decodes it outside a whole viewer.
 */
import { BadInputError, UnsupportedError } from "../../errors.ts";
import { type DecodedFrame, type FrameDecoder, type FrameInfo, promised } from "./types.ts";

/**
 * Unpacks one PackBits segment (PS3.5 G.3.1) into every `stride`-th byte of `out` from `start`,
 * `count` bytes in all. A segment that decodes to more is tolerated (pydicom warns of padding and
 * keeps the first bytes); one that decodes to fewer is corrupt.
 */
function unpackSegment(
  src: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  start: number,
  stride: number,
  count: number,
  segment: number,
): void {
  let i = from, n = 0, o = start;
  while (i < to && n < count) {
    const header = src[i++];
    if (header < 128) {
      // Literal run: copy the next header + 1 bytes.
      const len = Math.min(header + 1, count - n, to - i);
      for (let k = 0; k < len; k++, o += stride) out[o] = src[i + k];
      i += header + 1;
      n += len;
    } else if (header > 128) {
      // Replicate run: the next byte, 257 - header times.
      if (i >= to) break;
      const value = src[i++];
      const len = Math.min(257 - header, count - n);
      for (let k = 0; k < len; k++, o += stride) out[o] = value;
      n += len;
    } // 128 is a no-op
  }
  if (n < count) {
    throw new BadInputError(
      `RLE segment ${segment} decodes to ${n} of its ${count} bytes (truncated or corrupt)`,
      { segment },
    );
  }
}

/**
 * Decodes one RLE Lossless frame: 8, 16 or 32 bits allocated, any samples per pixel (1-bit
 * frames, as DICOM SEG writes them, are unpacked to one byte per pixel).
 * @example const { data } = await decodeRle(frameBytes, { rows: 64, columns: 64, bitsAllocated: 16, ... })
 */
export const decodeRle: FrameDecoder = promised(decodeRleSync);

function decodeRleSync(encoded: Uint8Array, info: FrameInfo): DecodedFrame {
  const { bitsAllocated, samplesPerPixel: spp } = info;
  const pixels = info.rows * info.columns;
  if (![1, 8, 16, 32].includes(bitsAllocated)) {
    throw new UnsupportedError(
      `RLE Lossless with ${bitsAllocated} bits allocated is not supported (1, 8, 16 or 32)`,
      { field: "bits_allocated" },
    );
  }
  if (encoded.length < 64) {
    throw new BadInputError(
      `RLE frame of ${encoded.length} bytes is shorter than its 64-byte header`,
    );
  }
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  // 1-bit data is one byte plane of packed bits per sample.
  const bytesPerSample = bitsAllocated === 1 ? 1 : bitsAllocated / 8;
  const expected = bytesPerSample * spp;
  if (segments !== expected) {
    throw new BadInputError(
      `RLE header has ${segments} segments, but ${bitsAllocated}-bit data with ${spp} sample(s) per pixel needs ${expected}`,
      { segments, expected },
    );
  }
  if (segments > 15) {
    throw new BadInputError(`RLE header can hold 15 segments, ${segments} are needed`);
  }
  const offsets = Array.from({ length: segments }, (_, k) => view.getUint32(4 + 4 * k, true));
  offsets.forEach((o, k) => {
    if (o < 64 || o >= encoded.length || (k > 0 && o <= offsets[k - 1])) {
      throw new BadInputError(
        `RLE segment ${
          k + 1
        } offset ${o} lies outside the ${encoded.length}-byte frame or before the previous segment`,
        { segment: k + 1, offset: o },
      );
    }
  });
  const end = (k: number) => offsets[k + 1] ?? encoded.length;
  const pi = info.photometricInterpretation;
  if (bitsAllocated === 1) {
    const planeBytes = Math.ceil(pixels / 8);
    const out = new Uint8Array(pixels * spp);
    const plane = new Uint8Array(planeBytes);
    for (let s = 0; s < spp; s++) {
      unpackSegment(encoded, offsets[s], end(s), plane, 0, 1, planeBytes, s + 1);
      // Bits are packed least significant first (PS3.5 8.1.1).
      for (let i = 0; i < pixels; i++) out[i * spp + s] = (plane[i >> 3] >> (i & 7)) & 1;
    }
    return { data: out, photometricInterpretation: pi };
  }
  const out = new Uint8Array(pixels * expected);
  const stride = expected; // bytes per pixel
  for (let s = 0; s < spp; s++) {
    for (let b = 0; b < bytesPerSample; b++) {
      const k = s * bytesPerSample + b;
      // Segment b of a sample holds its byte (bytesPerSample - 1 - b) in little-endian order.
      const start = s * bytesPerSample + (bytesPerSample - 1 - b);
      unpackSegment(encoded, offsets[k], end(k), out, start, stride, pixels, k + 1);
    }
  }
  const data = bytesPerSample === 1
    ? out
    : bytesPerSample === 2
    ? new Uint16Array(out.buffer)
    : new Uint32Array(out.buffer);
  return { data, photometricInterpretation: pi };
}
