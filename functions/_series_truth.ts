/**
 * The ground truth of /segment/series on the series' grid: DICOM mask instances assembled as a
 * series, or one NIfTI part (.nii or .nii.gz, told by its bytes) read in its stored voxel order,
 * which is the label volume's when it was written with the series' affine (the NIfTI that
 * format=nifti answers). Other dims, or voxel axes that run other ways than the series', are a
 * 422 naming `truth`.
 */
import { InvalidInputError } from "../lib/errors.ts";
import { decodeNiftiPart } from "../lib/decode/nifti.ts";
import { assembleSeries, type Series } from "../lib/dicom/series.ts";
import type { Affine } from "../lib/nifti/affine.ts";
import { sniffNifti } from "../lib/nifti/header.ts";

/** True when a truth part is a NIfTI (gzip, or a NIfTI-1/2 header) rather than DICOM. */
export function isNiftiTruth(bytes: Uint8Array): boolean {
  return (bytes[0] === 0x1f && bytes[1] === 0x8b) || sniffNifti(bytes) !== undefined;
}

/** Each voxel axis' world axis and direction, e.g. "+x-y+z" (the largest term of its column). */
function axisCodes(a: Affine): string {
  return [0, 1, 2].map((col) => {
    let best = 0;
    for (let row = 1; row < 3; row++) {
      if (Math.abs(a[row][col]) > Math.abs(a[best][col])) best = row;
    }
    return (a[best][col] < 0 ? "-" : "+") + "xyz"[best];
  }).join("");
}

/**
 * The truth parts as voxels in the label volume's order (width fastest, then height, then slice).
 * @example const t = await truthVoxels(parts, series) // compare with labelOverlap(labels, t)
 */
export async function truthVoxels(parts: Uint8Array[], series: Series): Promise<ArrayLike<number>> {
  const v = series.volume;
  const grid = `${v.width}x${v.height}x${v.depth}`;
  const nifti = parts.some(isNiftiTruth);
  if (nifti && parts.length !== 1) {
    throw new InvalidInputError(
      `a NIfTI ground truth is one truth part; this request has ${parts.length}`,
      { field: "truth" },
    );
  }
  const b = nifti
    ? await decodeNiftiPart("truth", parts[0], Math.max(v.width * v.height * v.depth, 256 ** 3))
    : (await assembleSeries(parts)).volume;
  if (v.width !== b.width || v.height !== b.height || v.depth !== b.depth) {
    throw new InvalidInputError(
      `the ground truth is ${b.width}x${b.height}x${b.depth}, the series ${grid}`,
      { field: "truth" },
    );
  }
  if (nifti && axisCodes(b.affine) !== axisCodes(v.affine)) {
    throw new InvalidInputError(
      `the ground truth NIfTI's voxel axes run ${axisCodes(b.affine)}, the series' ` +
        `${axisCodes(v.affine)}: write it with the series' affine (the NIfTI format=nifti answers)`,
      { field: "truth" },
    );
  }
  return b.data;
}
