/**
 * JPEG-LS lossless and near-lossless (1.2.840.10008.1.2.4.80, .81) with CharLS
 * (@cornerstonejs/codec-charls), the library GDCM and pylibjpeg use. CharLS returns unsigned bit
 * patterns (pixels.ts applies the sign); colour frames coded without interleave (ILV 0) come back
 * planar and are interleaved here, line- and sample-interleaved ones come back interleaved.
 */
import { interleavePlanes } from "../../image/image.ts";
import { checkFrameSize, readJpegHeader } from "./_codestream.ts";
import { checkDecodedSize, decodeWasm, lazyModule, samples } from "./_wasm.ts";
import { BadInputError } from "../../errors.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

const charls = lazyModule(() => import("@cornerstonejs/codec-charls/decodewasmjs"));

/**
 * Decodes one JPEG-LS frame.
 * @example const { data } = await decodeJpegLs(frame, info) // Uint16Array for 16-bit CT
 */
export async function decodeJpegLs(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const header = readJpegHeader(encoded, "JPEG-LS");
  if (header.sof !== 0xf7) {
    throw new BadInputError(
      `JPEG-LS frame has frame marker FF${
        header.sof.toString(16).toUpperCase()
      }, not JPEG-LS's FFF7 (is the transfer syntax right?)`,
    );
  }
  checkFrameSize(header, info, "JPEG-LS");
  const { bytes, info: f, interleave } = await decodeWasm(
    charls,
    "JpegLSDecoder",
    encoded,
    "JPEG-LS",
  );
  checkDecodedSize(f, bytes, info, "JPEG-LS");
  let data = samples(bytes, f.bitsPerSample);
  if (f.componentCount === 3 && interleave === 0) data = interleavePlanes(data, f.width * f.height);
  return { data, photometricInterpretation: info.photometricInterpretation };
}
