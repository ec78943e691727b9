/**
 * JPEG-LS lossless and near-lossless (1.2.840.10008.1.2.4.80, .81) with CharLS
 * (@cornerstonejs/codec-charls). Colour frames coded without interleave (ILV 0) come back planar
 * and are interleaved here.
 */
import type { DecodedFrame, FrameInfo } from "./types.ts";
import { interleavePlanes } from "../../image/image.ts";
import { decodeWith, lazyModule, samples } from "./wasm.ts";

const charls = lazyModule(() => import("@cornerstonejs/codec-charls/decodewasmjs"));

/** Decodes one JPEG-LS frame. */
export async function decodeJpegLs(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const { bytes, info: f, interleave } = await decodeWith(
    charls,
    "JpegLSDecoder",
    encoded,
    "JPEG-LS",
  );
  let data = samples(bytes, f.bitsPerSample);
  if (f.componentCount === 3 && interleave === 0) data = interleavePlanes(data, f.width * f.height);
  return { data, photometricInterpretation: info.photometricInterpretation };
}
