/**
 * The volume type: the one image type (lib/image/image.ts) with depth. Voxels are stored x fastest,
 * then y, then z, then any further axes (NIfTI's order, nibabel's array in Fortran order), so each
 * z slice is a row-major `Image` of width x, height y.
 */
import type { Image, Pixels } from "../image/image.ts";
import type { Affine } from "./affine.ts";
import type { Datatype, NiftiHeader } from "./header.ts";

/** A volume read from NIfTI (or made from one). */
export interface Volume<T extends Pixels = Pixels> {
  /** The data shape as nibabel's `img.shape`: [x, y, z, ...] (1 to 7 axes). */
  dims: number[];
  /** dims[0]: voxels along x (the fastest axis). */
  width: number;
  /** dims[1], or 1. */
  height: number;
  /** dims[2], or 1. */
  depth: number;
  /** Product of dims[3..] (time points, components), 1 for a 3D volume. */
  frames: number;
  /** width·height·depth·frames voxels: the stored values, or Float32Array when scaled. */
  data: T;
  /** Voxel size in mm along x, y, z (nibabel `header.get_zooms()[:3]`; 1 for absent axes). */
  spacing: [number, number, number];
  /** Voxel to world (mm, RAS+), as nibabel's `img.affine`. */
  affine: Affine;
  /** The datatype stored in the file. */
  datatype: Datatype;
  /** True when scl_slope/scl_inter were applied (data is then a Float32Array). */
  scaled: boolean;
  /** The header it came from (after nibabel's load-time repairs). */
  header: NiftiHeader;
}

/**
 * width, height, depth and frames of a nibabel shape (absent axes count 1).
 * @example shapeParts([128, 96, 24, 2]) // [128, 96, 24, 2]
 */
export function shapeParts(dims: number[]): [number, number, number, number] {
  let frames = 1;
  for (let i = 3; i < dims.length; i++) frames *= dims[i];
  return [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1, frames];
}

/**
 * Slice `z` of frame `frame` as a 2D image (a view on the volume's data, no copy); spacing is
 * [row, column] = [y, x] as the image type has it.
 * @example const img = sliceZ(volume, 77) // img.width === volume.width
 */
export function sliceZ<T extends Pixels>(volume: Volume<T>, z: number, frame = 0): Image<T> {
  const { width, height, depth, frames } = volume;
  if (!(Number.isInteger(z) && z >= 0 && z < depth && frame >= 0 && frame < frames)) {
    throw new RangeError(`slice ${z} of frame ${frame} is outside ${depth} slices x ${frames}`);
  }
  const plane = width * height;
  const start = (frame * depth + z) * plane;
  return {
    width,
    height,
    channels: 1,
    data: volume.data.subarray(start, start + plane) as T,
    spacing: [volume.spacing[1], volume.spacing[0]],
  };
}
