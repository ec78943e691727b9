/**
 * JPEG 2000 (1.2.840.10008.1.2.4.90, .91) with OpenJPEG (@cornerstonejs/codec-openjpeg), which also
 * reads codestreams wrapped in a JP2 box. Colour frames coded with a component transform
 * (YBR_RCT, YBR_ICT) come back RGB and say so.
 */
import type { DecodedFrame, FrameInfo } from "./types.ts";
import { decodeWith, lazyModule, samples } from "./wasm.ts";

const openjpeg = lazyModule(() => import("@cornerstonejs/codec-openjpeg/decodewasmjs"));

/** Decodes one JPEG 2000 frame. */
export async function decodeJpeg2000(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const { bytes, info: f } = await decodeWith(openjpeg, "J2KDecoder", encoded, "JPEG 2000");
  const pi = f.componentCount === 3 && info.photometricInterpretation.startsWith("YBR_")
    ? "RGB"
    : info.photometricInterpretation;
  return { data: samples(bytes, f.bitsPerSample), photometricInterpretation: pi };
}
