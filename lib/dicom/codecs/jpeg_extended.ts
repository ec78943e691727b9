/**
 * JPEG extended (1.2.840.10008.1.2.4.51): 8-bit frames go to libjpeg-turbo as baseline; 12-bit
 * frames are refused with a 415, because no decoder on npm that runs at the edge handles 12-bit
 * lossy JPEG (libjpeg-turbo's 12-bit build is not published for JavaScript).
 */
import { UnsupportedError } from "../../errors.ts";
import { decodeJpegBaseline } from "./jpeg_baseline.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

/** The sample precision from the JPEG frame header (SOF), or 0 when not found. */
function precision(encoded: Uint8Array): number {
  for (let i = 2; i + 4 < encoded.length;) {
    if (encoded[i] !== 0xff) return 0;
    const marker = encoded[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return encoded[i + 4];
    }
    i += 2 + ((encoded[i + 2] << 8) | encoded[i + 3]);
  }
  return 0;
}

/** Decodes one JPEG extended frame (8-bit only). */
export function decodeJpegExtended(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const p = precision(encoded);
  if (p > 8) {
    throw new UnsupportedError(
      `JPEG extended with ${p}-bit samples cannot be decoded here (no 12-bit JPEG decoder for the edge); send it as JPEG lossless, JPEG-LS, JPEG 2000 or uncompressed`,
      { field: "transfer_syntax" },
    );
  }
  return decodeJpegBaseline(encoded, info);
}
