/**
 * Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, PS3.5 A.4.11): each frame's native bytes
 * deflated on their own. Inflated with node:zlib, capped at the frame's size.
 */
import { inflateRawSync } from "node:zlib";
import { BadInputError } from "../../errors.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

/** Decodes one deflated frame (1-bit frames are unpacked to one byte per pixel). */
export function decodeDeflatedFrame(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const pixels = info.rows * info.columns * info.samplesPerPixel;
  const size = Math.ceil((pixels * info.bitsAllocated) / 8);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(inflateRawSync(encoded, { maxOutputLength: size + 16 }));
  } catch (err) {
    throw new BadInputError(
      `deflated frame could not be inflated: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (bytes.length < size) {
    throw new BadInputError(`deflated frame holds ${bytes.length} bytes, expected ${size}`);
  }
  const pi = info.photometricInterpretation;
  if (info.bitsAllocated === 1) {
    const out = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
    return Promise.resolve({ data: out, photometricInterpretation: pi });
  }
  const copy = bytes.slice(0, size);
  const data = info.bitsAllocated === 8
    ? copy
    : info.bitsAllocated === 16
    ? new Uint16Array(copy.buffer)
    : new Uint32Array(copy.buffer);
  return Promise.resolve({ data, photometricInterpretation: pi });
}
