/**
 * JPEG baseline 8-bit (1.2.840.10008.1.2.4.50, also 8-bit data under .4.51) with libjpeg-turbo
 * (@cornerstonejs/codec-libjpeg-turbo-8bit). libjpeg-turbo converts YCbCr to RGB as it decodes, so
 * colour frames come back RGB and say so.
 */
import type { DecodedFrame, FrameInfo } from "./types.ts";
import { decodeWith, lazyModule } from "./wasm.ts";

const turbo = lazyModule(() => import("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs"));

/** Decodes one JPEG baseline frame. */
export async function decodeJpegBaseline(
  encoded: Uint8Array,
  info: FrameInfo,
): Promise<DecodedFrame> {
  const { bytes, info: f } = await decodeWith(turbo, "JPEGDecoder", encoded, "JPEG baseline");
  return {
    data: bytes,
    photometricInterpretation: f.componentCount === 3 ? "RGB" : info.photometricInterpretation,
  };
}
