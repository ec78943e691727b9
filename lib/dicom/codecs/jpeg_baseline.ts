/**
 * JPEG baseline 8-bit (1.2.840.10008.1.2.4.50, and 8-bit frames under .4.51) with libjpeg-turbo
 * (@cornerstonejs/codec-libjpeg-turbo-8bit) through ./jpeg8.ts, which says how colour is handled.
 */
import { readJpegHeader } from "./_codestream.ts";
import { decodeJpeg8 } from "./jpeg8.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

/**
 * Decodes one JPEG frame of 8-bit precision (a 12-bit one goes to the JPEG extended decoder).
 * @example const { data, photometricInterpretation } = await decodeJpegBaseline(frame, info)
 */
export async function decodeJpegBaseline(
  encoded: Uint8Array,
  info: FrameInfo,
): Promise<DecodedFrame> {
  const header = readJpegHeader(encoded, "JPEG");
  if (header.precision > 8) {
    // Mislabelled 12-bit data under the baseline syntax: decode it rather than refuse it.
    const { decodeJpegExtended } = await import("./jpeg_extended.ts");
    return decodeJpegExtended(encoded, info);
  }
  return decodeJpeg8(encoded, header, info);
}
