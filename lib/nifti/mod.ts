/**
 * NIfTI-1/2 volumes (`.nii`, `.nii.gz`) read to the values nibabel 5 gives, reoriented as nibabel's
 * `as_closest_canonical` and back, and written as NIfTI-1 `.nii.gz` with the input's geometry.
 * @example
 * const t1 = await readNifti((await Deno.open("t1.nii.gz")).readable);
 * const { volume, undo } = toCanonical(t1);
 * const labels = fromCanonical(segment(volume), undo);
 * await Deno.writeFile("seg.nii.gz", await writeNifti(t1.header, labels, { dims: t1.dims.slice(0, 3) }));
 */
export {
  type Affine,
  baseAffine,
  bestAffine,
  multiplyAffine,
  qformAffine,
  sformAffine,
  withAffine,
} from "./affine.ts";
export {
  type Datatype,
  DATATYPE_CODES,
  datatypeOf,
  type NiftiHeader,
  parseHeader,
  shapeOf,
  slopeInter,
  sniffNifti,
  zoomsOf,
} from "./header.ts";
export {
  applyOrientation,
  axcodes,
  type CanonicalUndo,
  fromCanonical,
  invertOrientation,
  ioOrientation,
  type Orientation,
  toCanonical,
} from "./orient.ts";
export { DEFAULT_MAX_BYTES, isGzip, readNifti, type ReadOptions } from "./read.ts";
export { datatypeOfArray, encodeNifti, writeNifti, type WriteOptions } from "./write.ts";
export { shapeParts, sliceZ, type Volume } from "./volume.ts";
