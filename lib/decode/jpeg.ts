/**
 * JPEG (JFIF/Exif, 8-bit) to the one image type, by libjpeg-turbo (the wasm codec lib/dicom uses for
 * JPEG baseline transfer syntaxes, loaded on first use): grey, or YCbCr converted to RGB.
 */
import { UnsupportedError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { checkPixels } from "../image/png.ts";

/**
 * Decodes an 8-bit JPEG file.
 * @example const { channels } = await decodeJpeg(await Deno.readFile("16708_1_1.jpg")); // 3
 */
export async function decodeJpeg(bytes: Uint8Array, maxPixels = Infinity): Promise<Image> {
  const { readJpegHeader } = await import("../dicom/codecs/_codestream.ts");
  const { decodeJpeg8 } = await import("../dicom/codecs/jpeg8.ts");
  const header = readJpegHeader(bytes, "JPEG");
  if (header.precision !== 8) {
    throw new UnsupportedError(`JPEG of ${header.precision}-bit precision: send 8-bit JPEG or PNG`);
  }
  if (header.components !== 1 && header.components !== 3) {
    throw new UnsupportedError(
      `JPEG with ${header.components} components (CMYK?): send RGB or grey`,
    );
  }
  checkPixels(header.columns, header.rows, maxPixels);
  const { data } = await decodeJpeg8(bytes, header, {
    rows: header.rows,
    columns: header.columns,
    bitsAllocated: 8,
    bitsStored: 8,
    pixelRepresentation: 0,
    samplesPerPixel: header.components,
    // A JPEG file is YCbCr unless its markers say otherwise; libjpeg converts to RGB.
    photometricInterpretation: header.components === 3 ? "YBR_FULL_422" : "MONOCHROME2",
    planarConfiguration: 0,
  });
  return {
    width: header.columns,
    height: header.rows,
    channels: header.components as 1 | 3,
    // The codec answers a Uint8ClampedArray; the image type holds Uint8Array.
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}
