/**
 * Voxel axis orientation as nibabel 5 has it: `io_orientation` (the closest axis permutation and
 * flips of an affine, through the polar decomposition), `aff2axcodes`, `apply_orientation`, and
 * `as_closest_canonical` (reorder a volume so its voxel axes point to R, A, S). Each reorientation
 * records how to undo itself (MONAI's invertible transforms), so a result computed in canonical
 * order goes back to the input's voxel order and header.
 */
import { InvalidInputError } from "../errors.ts";
import { sameType } from "../image/image.ts";
import type { Pixels } from "../image/image.ts";
import { closestOrthogonal } from "./_linalg.ts";
import { type Affine, multiplyAffine, withAffine } from "./affine.ts";
import type { NiftiHeader } from "./header.ts";
import { shapeParts, type Volume } from "./volume.ts";

/**
 * For each voxel axis (x, y, z), the world axis it runs along (0 = R/L, 1 = A/P, 2 = S/I) and
 * whether it runs the positive way (1) or the negative way (-1): nibabel's `ornt` array.
 */
export type Orientation = [number, 1 | -1][];

const LABELS = [["L", "R"], ["P", "A"], ["I", "S"]];

/**
 * nibabel `io_orientation(affine)`: voxel axis -> closest world axis and direction. Throws
 * InvalidInputError when a voxel axis maps to no world axis (a degenerate affine).
 * @example ioOrientation([[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]) // [[0, -1], [1, 1], [2, 1]]
 */
export function ioOrientation(affine: Affine): Orientation {
  const rzs = [0, 1, 2].map((i) => affine[i].slice(0, 3));
  const zooms = [0, 1, 2].map((j) => Math.hypot(rzs[0][j], rzs[1][j], rzs[2][j]) || 1);
  const r = closestOrthogonal(rzs.map((row) => row.map((x, j) => x / zooms[j])));
  const out: Orientation = [];
  for (let axis = 0; axis < 3; axis++) {
    const col = [r[0][axis], r[1][axis], r[2][axis]];
    // numpy.allclose(col, 0): every |x| <= 1e-8.
    if (col.every((x) => Math.abs(x) <= 1e-8)) {
      throw new InvalidInputError(
        `the affine is degenerate: voxel axis ${axis} does not run along any world axis`,
      );
    }
    let best = 0;
    for (let i = 1; i < 3; i++) if (Math.abs(col[i]) > Math.abs(col[best])) best = i;
    out.push([best, col[best] < 0 ? -1 : 1]);
    r[best] = [0, 0, 0];
  }
  return out;
}

/**
 * nibabel `aff2axcodes(affine)`: the world direction each voxel axis points to.
 * @example axcodes(brats.affine) // ["L", "P", "S"]
 */
export function axcodes(affine: Affine): string[] {
  return ioOrientation(affine).map(([axis, flip]) => LABELS[axis][flip === 1 ? 1 : 0]);
}

/** True when the orientation is the identity (voxel axes already R, A, S). */
function isIdentity(ornt: Orientation): boolean {
  return ornt.every(([axis, flip], i) => axis === i && flip === 1);
}

/**
 * The orientation that undoes `ornt` (nibabel `ornt_transform(ornt, identity)` read backwards).
 * @example invertOrientation([[1, -1], [0, 1], [2, 1]]) // [[1, 1], [0, -1], [2, 1]]
 */
export function invertOrientation(ornt: Orientation): Orientation {
  const out: Orientation = [[0, 1], [1, 1], [2, 1]];
  ornt.forEach(([axis, flip], i) => (out[axis] = [i, flip]));
  return out;
}

/**
 * nibabel `apply_orientation(arr, ornt)` on data stored x fastest: flips the voxel axes marked -1
 * and moves voxel axis i to position ornt[i][0]. Axes after the third (frames) keep their order.
 * Returns a new array of the same type, and the new shape.
 * @example applyOrientation(Uint8Array.of(1, 2, 3, 4), [2, 2, 1], [[0, -1], [1, 1], [2, 1]]) // data [2, 1, 4, 3]
 */
export function applyOrientation<T extends Pixels>(
  data: T,
  dims: number[],
  ornt: Orientation,
): { data: T; dims: number[] } {
  const [w, h, d, frames] = shapeParts(dims);
  const inDims = [w, h, d];
  const inStride = [1, w, w * h];
  const outDims = [0, 0, 0];
  const step = [0, 0, 0];
  let base = 0;
  ornt.forEach(([axis, flip], i) => {
    outDims[axis] = inDims[i];
    step[axis] = flip * inStride[i];
    if (flip === -1) base += (inDims[i] - 1) * inStride[i];
  });
  const plane = w * h * d;
  if (data.length !== plane * frames) {
    throw new InvalidInputError(
      `data has ${data.length} values, shape ${dims.join("x")} needs ${plane * frames}`,
    );
  }
  const out = sameType(data, data.length);
  const [n0, n1, n2] = outDims;
  const [s0, s1, s2] = step;
  let k = 0;
  for (let f = 0; f < frames; f++) {
    const frameBase = f * plane + base;
    for (let z = 0; z < n2; z++) {
      for (let y = 0; y < n1; y++, k += n0) {
        const src = frameBase + z * s2 + y * s1;
        // Rows that stay rows (x kept or flipped) are native copies; others go voxel by voxel.
        if (s0 === 1) out.set(data.subarray(src, src + n0), k);
        else if (s0 === -1) {
          out.set(data.subarray(src - n0 + 1, src + 1), k);
          out.subarray(k, k + n0).reverse();
        } else for (let x = 0, at = src; x < n0; x++, at += s0) out[k + x] = data[at];
      }
    }
  }
  return { data: out, dims: [...outDims, ...dims.slice(3)] };
}

/** The affine taking voxel indices after `ornt` back to indices before it (nibabel `inv_ornt_aff`). */
function inverseOrientationAffine(ornt: Orientation, dims: number[]): Affine {
  const m: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  const [w, h, d] = shapeParts(dims);
  const size = [w, h, d];
  ornt.forEach(([axis, flip], i) => {
    m[i][axis] = flip;
    m[i][3] = flip === -1 ? size[i] - 1 : 0;
  });
  return m;
}

/** What {@link toCanonical} did, so that {@link fromCanonical} can undo it. */
export interface CanonicalUndo {
  /** The orientation that was applied (input voxel axes -> canonical ones). */
  ornt: Orientation;
  /** The input's shape, affine and header. */
  dims: number[];
  affine: Affine;
  header: NiftiHeader;
}

/**
 * nibabel `as_closest_canonical(img)`: the volume with its voxel axes reordered and flipped to run
 * closest to R, A, S (the same volume when they already do), its affine `affine · inv_ornt_aff`, and
 * its header as nibabel stores a changed affine (see `withAffine`). Spacing follows the header
 * (the new affine's column lengths). `undo` brings results back with {@link fromCanonical}. A 2D
 * image is taken as one slice (nibabel refuses to reorient it).
 * @example const { volume, undo } = toCanonical(await readNifti(bytes))
 */
export function toCanonical<T extends Pixels>(
  volume: Volume<T>,
): { volume: Volume<T>; undo: CanonicalUndo } {
  const ornt = ioOrientation(volume.affine);
  const undo = { ornt, dims: volume.dims, affine: volume.affine, header: volume.header };
  if (isIdentity(ornt)) return { volume, undo };
  const { data, dims } = applyOrientation(volume.data, volume.dims, ornt);
  const affine = multiplyAffine(volume.affine, inverseOrientationAffine(ornt, volume.dims));
  const header = withAffine(volume.header, affine, dims);
  // nibabel's Nifti1Image.as_reoriented: dim_info's frequency/phase/slice axes move with the data.
  const dimInfo = [
    volume.header.dim_info & 3,
    (volume.header.dim_info >> 2) & 3,
    (volume.header.dim_info >> 4) & 3,
  ].map((axis) => (axis === 0 ? 0 : ornt[axis - 1][0] + 1));
  header.dim_info = dimInfo[0] | (dimInfo[1] << 2) | (dimInfo[2] << 4);
  const [width, height, depth, frames] = shapeParts(dims);
  return {
    volume: {
      ...volume,
      dims,
      width,
      height,
      depth,
      frames,
      data,
      spacing: [header.pixdim[1], header.pixdim[2], header.pixdim[3]],
      affine,
      header,
    },
    undo,
  };
}

/**
 * Data computed on the canonical grid of {@link toCanonical} (any frames after the three spatial
 * axes, e.g. a label map or probabilities) back in the input's voxel order, to be written with
 * `undo.header`'s geometry. When the input already was canonical, `data` itself is returned.
 * @example const labels = fromCanonical(canonicalLabels, undo) // in the input's voxel order
 */
export function fromCanonical<T extends Pixels>(data: T, undo: CanonicalUndo): T {
  if (isIdentity(undo.ornt)) return data;
  const [w, h, d] = shapeParts(undo.dims);
  const spatial = [w, h, d];
  const canonical = [0, 0, 0];
  undo.ornt.forEach(([axis], i) => (canonical[axis] = spatial[i]));
  const plane = w * h * d;
  if (data.length % plane !== 0) {
    throw new InvalidInputError(
      `data has ${data.length} values, not a whole number of ${canonical.join("x")} volumes`,
    );
  }
  const frames = data.length / plane;
  const dims = frames === 1 ? canonical : [...canonical, frames];
  return applyOrientation(data, dims, invertOrientation(undo.ornt)).data;
}
