/**
 * The chosen files: what each is, from its first bytes (names only where bytes cannot tell), its
 * BraTS role from its name, and the file a function takes among them.
 */
import { InputError } from "./api.js";
import { state } from "./state.js";

/**
 * What a file is from its first 352 bytes: "png", "jpeg", "dicom", "tiff", "gif", "nifti", "zip"
 * or "unknown"; the name decides only where the bytes cannot (a .nii.gz is gzip).
 * @example await sniff(new File([bytes], "image_60")) // "dicom"
 */
export async function sniff(file) {
  const head = new Uint8Array(await file.slice(0, 352).arrayBuffer());
  const name = file.name.toLowerCase();
  const text = (a, b) => String.fromCharCode(...head.subarray(a, b));
  if (text(1, 4) === "PNG" && head[0] === 0x89) return "png";
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  // DICM before TIFF: a DICOM preamble may itself be a TIFF header (PS3.10 7.5; CT_small.dcm's is).
  if (text(128, 132) === "DICM") return "dicom";
  if (text(0, 4) === "II*\0" || text(0, 4) === "MM\0*") return "tiff";
  if (text(0, 4) === "GIF8") return "gif";
  if (text(0, 4) === "PK\x03\x04") return "zip";
  if (/\.nii(\.gz)?$/.test(name)) return "nifti";
  if (head.length >= 4) {
    const v = new DataView(head.buffer);
    if ([348, 540].includes(v.getInt32(0, true)) || [348, 540].includes(v.getInt32(0, false))) {
      return "nifti";
    }
  }
  if (/\.(dcm|dicom)$/.test(name) || (head[1] === 0 && (head[0] === 2 || head[0] === 8))) {
    return "dicom";
  }
  return "unknown";
}

/**
 * BraTS role of a NIfTI file from its name: flair, t1, t1ce, t2 or seg (BraTS 2021 and 2023
 * names).
 */
export function roleOf(name) {
  const n = name.toLowerCase().replace(/\.nii(\.gz)?$/, "");
  if (/(seg|label|mask|lesion)/.test(n)) return "seg";
  if (/(flair|t2f)$|flair/.test(n)) return "flair";
  if (/t1ce|t1c$/.test(n)) return "t1ce";
  if (/t2w?$/.test(n)) return "t2";
  if (/t1n?$/.test(n)) return "t1";
  return "";
}

/** A size as people read it: 512 B, 1.5 KiB, 3.2 MiB. */
export function formatBytes(n) {
  return n < 1024
    ? `${n} B`
    : n < 1 << 20
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** The kinds an image function takes (an unknown file goes too: the route says what it is). */

export const IMAGE_KINDS = ["dicom", "png", "jpeg", "tiff", "gif", "unknown"];

/** The first file of one of `kinds`, else the first file; an InputError when there is none. */

export function oneFile(kinds, what) {
  const f = state.files.find((e) => kinds.includes(e.kind)) ?? state.files[0];
  if (!f) throw new InputError(`Drop or choose ${what} first.`, "#file");
  return f;
}
