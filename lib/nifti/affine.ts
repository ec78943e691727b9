/**
 * The voxel-to-world affine of a NIfTI header, chosen and computed as nibabel 5's
 * `Nifti1Header.get_best_affine()`: the sform when sform_code != 0, else the qform (quaternion,
 * pixdim and qfac) when qform_code != 0, else the pixdim-only fallback centred on the volume with x
 * flipped (`shape_zoom_affine`). nibabel computes the qform rotation in long double; we compute it
 * in double, so qform affines agree to about 1e-15 relative.
 */
import { BadInputError, InvalidInputError } from "../errors.ts";
import { closestOrthogonal, det3, rotationToQuaternion } from "./_linalg.ts";
import type { NiftiHeader } from "./header.ts";

/** A 4x4 affine, row-major (`affine[row][col]`), as nibabel's `img.affine`. */
export type Affine = number[][];

type Geometry = Pick<
  NiftiHeader,
  | "version"
  | "dim"
  | "pixdim"
  | "qform_code"
  | "sform_code"
  | "quatern_b"
  | "quatern_c"
  | "quatern_d"
  | "qoffset_x"
  | "qoffset_y"
  | "qoffset_z"
  | "srow_x"
  | "srow_y"
  | "srow_z"
>;

/**
 * The sform rows as an affine (nibabel `get_sform()`).
 * @example sformAffine(header)[0] // header.srow_x
 */
export function sformAffine(h: Geometry): Affine {
  return [[...h.srow_x], [...h.srow_y], [...h.srow_z], [0, 0, 0, 1]];
}

/**
 * The qform as an affine (nibabel `get_qform()`): rotation from the quaternion (b, c, d; a filled
 * in as sqrt(1 - b² - c² - d²)), times pixdim[1..3] with the z size multiplied by qfac, plus the
 * qoffsets. BadInputError when b² + c² + d² exceeds 1 by more than three float epsilons.
 * @example qformAffine(header)[0][3] // header.qoffset_x
 */
export function qformAffine(h: Geometry): Affine {
  const [b, c, d] = [h.quatern_b, h.quatern_c, h.quatern_d];
  const threshold = -3 * (h.version === 1 ? 2 ** -23 : Number.EPSILON);
  const w2 = 1 - (b * b + c * c + d * d);
  if (w2 < threshold || Number.isNaN(w2)) {
    throw new BadInputError(`NIfTI qform quaternion (b, c, d) = (${b}, ${c}, ${d}) is not unit`);
  }
  const a = w2 < 0 ? 0 : Math.sqrt(w2);
  const r = quaternionToMatrix(a, b, c, d);
  const vox = [h.pixdim[1], h.pixdim[2], h.pixdim[3] * h.pixdim[0]];
  const offsets = [h.qoffset_x, h.qoffset_y, h.qoffset_z];
  const out: Affine = [];
  for (let i = 0; i < 3; i++) {
    out.push([r[i][0] * vox[0], r[i][1] * vox[1], r[i][2] * vox[2], offsets[i]]);
  }
  out.push([0, 0, 0, 1]);
  return out;
}

/** nibabel `quaternions.quat2mat`. */
function quaternionToMatrix(w: number, x: number, y: number, z: number): number[][] {
  const nq = w * w + x * x + y * y + z * z;
  if (nq < Number.EPSILON) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const s = 2 / nq;
  const [X, Y, Z] = [x * s, y * s, z * s];
  const [wX, wY, wZ] = [w * X, w * Y, w * Z];
  const [xX, xY, xZ] = [x * X, x * Y, x * Z];
  const [yY, yZ, zZ] = [y * Y, y * Z, z * Z];
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/**
 * The fallback affine from shape and voxel sizes only (nibabel `get_base_affine()`, i.e.
 * `shape_zoom_affine(shape, zooms, x_flip=True)`): world origin at the volume's centre, x flipped.
 * @example baseAffine(header) // [[-3, 0, 0, 3], [0, 2, 0, -4], [0, 0, 1, -3], [0, 0, 0, 1]] for 3x5x7, 3x2x1 mm
 */
export function baseAffine(h: Pick<NiftiHeader, "dim" | "pixdim">): Affine {
  const ndim = h.dim[0];
  const shape = [1, 1, 1];
  const zooms = [1, 1, 1];
  for (let i = 0; i < Math.min(ndim, 3); i++) {
    shape[i] = h.dim[i + 1];
    zooms[i] = h.pixdim[i + 1];
  }
  zooms[0] = -zooms[0];
  const out: Affine = [];
  for (let i = 0; i < 3; i++) {
    const row = [0, 0, 0, -((shape[i] - 1) / 2) * zooms[i]];
    row[i] = zooms[i];
    out.push(row);
  }
  out.push([0, 0, 0, 1]);
  return out;
}

/**
 * The affine nibabel gives as `img.affine` for a loaded NIfTI file (`get_best_affine()`).
 * @example bestAffine(parseHeader(bytes))
 */
export function bestAffine(h: Geometry): Affine {
  if (h.sform_code !== 0) return sformAffine(h);
  if (h.qform_code !== 0) return qformAffine(h);
  return baseAffine(h);
}

/**
 * The 4x4 product a·b.
 * @example multiplyAffine(a, identity) // a
 */
export function multiplyAffine(a: Affine, b: Affine): Affine {
  return a.map((row) =>
    [0, 1, 2, 3].map((j) =>
      row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j] + row[3] * b[3][j]
    )
  );
}

/**
 * A copy of `header` holding `affine` as nibabel's `Nifti1Image(data, affine, header)` stores a
 * changed affine (`_affine2header`): the sform is the affine with code 2 (aligned); the qform
 * (code 0, unknown) holds its closest shear-free version: pixdim[1..3] the column lengths, qfac
 * the sign of the determinant, the quaternion of the nearest rotation and the translation. `dims`,
 * when given, replace the shape (dim[0..]). InvalidInputError for an affine with a zero column.
 * @example const h = withAffine(volume.header, canonicalAffine, [240, 240, 155])
 */
export function withAffine(header: NiftiHeader, affine: Affine, dims?: number[]): NiftiHeader {
  const zooms = [0, 1, 2].map((j) => Math.hypot(affine[0][j], affine[1][j], affine[2][j]));
  if (!zooms.every((z) => z > 0 && Number.isFinite(z))) {
    throw new InvalidInputError(`affine has a zero or non-finite column: voxel sizes ${zooms}`);
  }
  const r = [0, 1, 2].map((i) => [0, 1, 2].map((j) => affine[i][j] / zooms[j]));
  let qfac = 1;
  if (!(det3(r) > 0)) {
    qfac = -1;
    for (let i = 0; i < 3; i++) r[i][2] = -r[i][2];
  }
  const [, b, c, d] = rotationToQuaternion(closestOrthogonal(r));
  const out: NiftiHeader = {
    ...header,
    dim: [...header.dim],
    pixdim: [qfac, zooms[0], zooms[1], zooms[2], ...header.pixdim.slice(4)],
    sform_code: 2,
    srow_x: [...affine[0]],
    srow_y: [...affine[1]],
    srow_z: [...affine[2]],
    qform_code: 0,
    quatern_b: b,
    quatern_c: c,
    quatern_d: d,
    qoffset_x: affine[0][3],
    qoffset_y: affine[1][3],
    qoffset_z: affine[2][3],
  };
  if (dims) out.dim = [dims.length, ...dims, ...Array(7 - dims.length).fill(1)];
  return out;
}
