/**
 * 8-bit JPEG frames with libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit), once their
 * header is read: the one 8-bit decoder that the baseline and extended transfer syntaxes (and
 * lib/decode's JPEG files) all end in. libjpeg-turbo converts YCbCr to RGB as it decodes, so
 * colour frames come back RGB and say so. Colour-space choice matches pydicom's Pillow handler and
 * GDCM on the conformance files: where the dataset says RGB and the codestream has neither a JFIF
 * nor an Adobe marker, the components are taken as RGB as coded (libjpeg would guess YCbCr from
 * component ids 0,1,2 and convert); otherwise the codestream's own markers decide.
 */
import { checkFrameSize, type JpegHeader } from "./_codestream.ts";
import { checkDecodedSize, decodeWasm, lazyModule } from "./_wasm.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

const turbo = lazyModule(() => import("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs"));

/**
 * Decodes an 8-bit JPEG frame whose header has been read.
 * @example const { data } = await decodeJpeg8(frame, readJpegHeader(frame, "JPEG"), info)
 */
export async function decodeJpeg8(
  encoded: Uint8Array,
  header: JpegHeader,
  info: FrameInfo,
): Promise<DecodedFrame> {
  checkFrameSize(header, info, "JPEG");
  const stream = header.components === 3 && codedAsRgb(header, info) ? markAsRgb(encoded) : encoded;
  const { bytes, info: f } = await decodeWasm(turbo, "JPEGDecoder", stream, "JPEG");
  checkDecodedSize(f, bytes, info, "JPEG");
  return {
    data: bytes,
    photometricInterpretation: f.componentCount === 3 ? "RGB" : info.photometricInterpretation,
  };
}

/**
 * True when the dataset says RGB and the codestream says nothing: no JFIF marker (which implies
 * YCbCr) and no Adobe marker (which says either way).
 */
function codedAsRgb(header: JpegHeader, info: FrameInfo): boolean {
  return info.photometricInterpretation === "RGB" && header.jfifOffset < 0 &&
    header.adobeTransform < 0;
}

/**
 * The codestream with an Adobe APP14 marker (transform 0: no colour transform) after SOI, the one
 * way to tell libjpeg-turbo's TurboJPEG API, which the wasm build exposes, not to convert.
 */
function markAsRgb(encoded: Uint8Array): Uint8Array {
  // FFEE, length 14, "Adobe", version 100, flags0 0, flags1 0, transform 0.
  const app14 = Uint8Array.of(
    0xff,
    0xee,
    0,
    14,
    0x41,
    0x64,
    0x6f,
    0x62,
    0x65,
    0,
    100,
    0,
    0,
    0,
    0,
    0,
  );
  const out = new Uint8Array(encoded.length + app14.length);
  out.set(encoded.subarray(0, 2));
  out.set(app14, 2);
  out.set(encoded.subarray(2), 2 + app14.length);
  return out;
}
