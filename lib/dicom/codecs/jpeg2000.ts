/**
 * JPEG 2000 (1.2.840.10008.1.2.4.90, .91) with OpenJPEG (@cornerstonejs/codec-openjpeg), the
 * library pydicom's Pillow and pylibjpeg handlers use. OpenJPEG reads a codestream wrapped in JP2
 * boxes as well as a bare one (ELSCINT1_JP2vsJ2K.dcm, MAROTECH_CT_JP2Lossy.dcm). Colour frames
 * coded with a component transform (COD's MCT flag; YBR_RCT, YBR_ICT) come back RGB and say so,
 * as GDCM does.
 *
 * Signedness: the samples are returned as the codestream codes them (signed ones as two's
 * complement bit patterns), and pixels.ts reads them by BitsStored and PixelRepresentation. Where
 * the two disagree (J2K_pixelrep_mismatch.dcm: an unsigned 13-bit codestream under
 * PixelRepresentation 1) that equals pydicom's J2K correction (APPLY_J2K_CORRECTIONS: unsigned
 * samples reinterpreted as two's complement), which GDCM's values in our fixture also follow.
 */
import { BadInputError } from "../../errors.ts";
import { checkFrameSize, readJ2kHeader } from "./_codestream.ts";
import { checkDecodedSize, decodeWasm, lazyModule, samples } from "./_wasm.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

const openjpeg = lazyModule(() => import("@cornerstonejs/codec-openjpeg/decodewasmjs"));

/**
 * Decodes one JPEG 2000 frame.
 * @example const { data } = await decodeJpeg2000(frame, info)
 */
export async function decodeJpeg2000(encoded: Uint8Array, info: FrameInfo): Promise<DecodedFrame> {
  const header = readJ2kHeader(encoded, "JPEG 2000");
  checkFrameSize(header, info, "JPEG 2000");
  if (header.precision > 16) {
    throw new BadInputError(
      `JPEG 2000 frame has ${header.precision}-bit samples; DICOM allows at most 16`,
    );
  }
  const { bytes, info: f } = await decodeWasm(openjpeg, "J2KDecoder", encoded, "JPEG 2000");
  // OpenJPEG reports failure as a 0x0 frame rather than an exception.
  checkDecodedSize(f, bytes, info, "JPEG 2000");
  const pi = info.photometricInterpretation;
  return {
    data: samples(bytes, f.bitsPerSample),
    photometricInterpretation:
      f.componentCount === 3 && (header.mct || pi === "YBR_RCT" || pi === "YBR_ICT") ? "RGB" : pi,
  };
}
