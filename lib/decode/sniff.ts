/**
 * The format of an image body from its first bytes (magic numbers), never from its Content-Type:
 * PNG (PNG 1.2 §3.1 signature), JPEG (SOI + marker), TIFF (II*\0 / MM\0*), GIF (GIF87a / GIF89a)
 * and DICOM (PS3.10 "DICM" after the 128-byte preamble, or a bare dataset that starts with a
 * group 0002/0008 element, as some archives send).
 */

/** Formats an image body may have. */
export type ImageFormat = "dicom" | "png" | "jpeg" | "tiff" | "gif";

/** Every format the decoder reads, in the order error messages name them. */
export const IMAGE_FORMATS: readonly ImageFormat[] = ["dicom", "png", "jpeg", "tiff", "gif"];

const starts = (b: Uint8Array, sig: number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);

/**
 * The format of `bytes`, or null when no known signature is there.
 * @example sniffImage(await Deno.readFile("01_test_mask.gif")) // "gif"
 */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  // First: a PS3.10 preamble may itself be a TIFF header (dual-personality files, PS3.10 7.1).
  if (starts(bytes, [0x44, 0x49, 0x43, 0x4d], 128)) return "dicom";
  if (starts(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (starts(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (starts(bytes, [0x49, 0x49, 42, 0]) || starts(bytes, [0x4d, 0x4d, 0, 42])) return "tiff";
  if (starts(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39)) {
    return bytes[5] === 0x61 ? "gif" : null;
  }
  // A dataset without preamble: (0002,xxxx) or (0008,xxxx) little or big endian.
  if (starts(bytes, [0x02, 0x00]) || starts(bytes, [0x08, 0x00])) return "dicom";
  if (starts(bytes, [0x00, 0x02]) || starts(bytes, [0x00, 0x08])) return "dicom";
  return null;
}
