/**
 * JPEG lossless, process 14 (1.2.840.10008.1.2.4.57, and .70 first-order prediction) with
 * jpeg-lossless-decoder-js.
 */
import { Decoder } from "jpeg-lossless-decoder-js";
import { BadInputError } from "../../errors.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

/** Decodes one JPEG lossless frame. */
export function decodeJpegLossless(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const copy = encoded.slice(); // the decoder wants an ArrayBuffer of its own
  try {
    const out = new Decoder().decode(copy.buffer, 0, copy.length, info.bitsAllocated <= 8 ? 1 : 2);
    return Promise.resolve({
      data: out as Uint8Array | Uint16Array,
      photometricInterpretation: info.photometricInterpretation,
    });
  } catch (err) {
    throw new BadInputError(
      `JPEG lossless frame could not be decoded: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
}
