/**
 * DICOM RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G): a 64-byte header (segment count and up
 * to 15 offsets), then one PackBits segment per byte plane, most significant byte first, for each
 * sample. Hand-written: it is a few dozen lines and no npm package decodes it outside a viewer.
 */
import { BadInputError } from "../../errors.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

/** PackBits into `out` (length = the plane's pixels); stops when the plane is full. */
function unpackBits(src: Uint8Array, start: number, end: number, out: Uint8Array): void {
  let i = start, o = 0;
  while (i < end && o < out.length) {
    const n = (src[i++] << 24) >> 24; // signed header byte
    if (n >= 0) {
      const len = Math.min(n + 1, out.length - o, end - i);
      out.set(src.subarray(i, i + len), o);
      i += n + 1;
      o += len;
    } else if (n > -128) {
      if (i >= end) break;
      const len = Math.min(1 - n, out.length - o);
      out.fill(src[i++], o, o + len);
      o += len;
    }
  }
  if (o < out.length) {
    throw new BadInputError(
      `RLE segment ends after ${o} of ${out.length} bytes (truncated or corrupt)`,
    );
  }
}

/**
 * Decodes one RLE frame to interleaved samples.
 * @example await decodeRle(fragmentBytes, info)
 */
export function decodeRle(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const bytesPerSample = Math.ceil(info.bitsAllocated / 8);
  const spp = info.samplesPerPixel;
  const pixels = info.rows * info.columns;
  if (encoded.length < 64) {
    throw new BadInputError(
      `RLE frame of ${encoded.length} bytes is shorter than its 64-byte header`,
    );
  }
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  // 1-bit data is stored as one byte plane of packed bits.
  const expected = info.bitsAllocated === 1 ? spp : bytesPerSample * spp;
  if (segments !== expected) {
    throw new BadInputError(
      `RLE header has ${segments} segments, but ${info.bitsAllocated}-bit data with ${spp} sample(s) needs ${expected}`,
    );
  }
  const offsets = Array.from({ length: segments }, (_, k) => view.getUint32(4 + 4 * k, true));
  offsets.forEach((o, k) => {
    if (o < 64 || o > encoded.length || (k > 0 && o < offsets[k - 1])) {
      throw new BadInputError(`RLE segment ${k + 1} offset ${o} lies outside the frame`);
    }
  });
  const planeLen = info.bitsAllocated === 1 ? Math.ceil(pixels / 8) : pixels;
  const plane = new Uint8Array(planeLen);
  if (info.bitsAllocated === 1) {
    unpackBits(encoded, offsets[0], offsets[1] ?? encoded.length, plane);
    const out = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = (plane[i >> 3] >> (i & 7)) & 1;
    return Promise.resolve({
      data: out,
      photometricInterpretation: info.photometricInterpretation,
    });
  }
  const out = new Uint8Array(pixels * spp * bytesPerSample);
  for (let s = 0; s < spp; s++) {
    for (let b = 0; b < bytesPerSample; b++) {
      const k = s * bytesPerSample + b;
      unpackBits(encoded, offsets[k], offsets[k + 1] ?? encoded.length, plane);
      // Segment b holds byte (bytesPerSample - 1 - b) of each little-endian sample.
      const byte = bytesPerSample - 1 - b;
      for (let i = 0, o = s * bytesPerSample + byte; i < pixels; i++, o += spp * bytesPerSample) {
        out[o] = plane[i];
      }
    }
  }
  const data = bytesPerSample === 1
    ? out
    : bytesPerSample === 2
    ? new Uint16Array(out.buffer)
    : new Uint32Array(out.buffer);
  return Promise.resolve({ data, photometricInterpretation: info.photometricInterpretation });
}
