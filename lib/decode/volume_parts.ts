/**
 * The volume function's modality parts, whatever form each came in: one NIfTI file (./nifti.ts), a
 * DICOM series (one part per instance, or a zip of them: lib/dicom/series.ts assembleSeries, whose
 * volume already has NIfTI's voxel order and RAS+ affine, so the pipeline sees the same volume a
 * NIfTI conversion of the series gives), or all modalities as the frames of one 4D NIfTI.
 */
import {
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  type ProblemFacts,
} from "../errors.ts";
import type { Series } from "../dicom/series.ts";
import type { Volume } from "../nifti/volume.ts";
import { decodeNiftiPart } from "./nifti.ts";

/** A modality's volume, and the series it was assembled from when it came as DICOM. */
export interface ModalityVolume {
  volume: Volume;
  series?: Series;
}

const isZip = (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

function inField(field: string, err: unknown): never {
  if (err instanceof MedimgError) {
    const Ctor = err.constructor as new (m: string, f: ProblemFacts) => MedimgError;
    throw new Ctor(`${field}: ${err.message}`, { ...err.facts, field });
  }
  throw err;
}

/**
 * The parts sent under one modality's name as one volume: a single part that is neither a zip nor
 * DICOM is a NIfTI file; otherwise every part (zips expanded to their DICOM entries) is an instance
 * of one series. Errors name the field.
 * @example const { volume, series } = await decodeModalityParts("t1ce", parts, 256 ** 3)
 */
export async function decodeModalityParts(
  field: string,
  parts: readonly Uint8Array[],
  maxVoxels: number,
): Promise<ModalityVolume> {
  const { looksLikeDicom } = await import("../dicom/zip.ts");
  if (parts.length === 1 && !isZip(parts[0]) && !looksLikeDicom(parts[0])) {
    return { volume: await decodeNiftiPart(field, parts[0], maxVoxels) };
  }
  let series: Series;
  try {
    const { readZipInstances } = await import("../dicom/zip.ts");
    const { assembleSeries } = await import("../dicom/series.ts");
    const instances = parts.flatMap((b) =>
      isZip(b) ? readZipInstances(b).instances.map((i) => i.bytes) : [b]
    );
    if (instances.length === 0) throw new InvalidInputError("the zip holds no DICOM file");
    series = await assembleSeries(instances, { maxBytes: maxVoxels * 8 });
  } catch (err) {
    inField(field, err);
  }
  const v = series.volume;
  if (v.width * v.height * v.depth > maxVoxels) {
    throw new LimitExceededError(
      `${field}: ${v.width}x${v.height}x${v.depth} is over the limit of ${maxVoxels} voxels`,
      { field, limit: maxVoxels },
    );
  }
  return { volume: v, series };
}

/**
 * A 4D NIfTI part holding one 3D volume per name, in the order of `names` (its 4th axis), as one
 * Volume each (views on the file's data, the file's header and affine). Anything else than exactly
 * `names.length` volumes along the 4th axis is a 422 naming the field.
 * @example const [flair, t1, t1ce, t2] = await decodeFramesPart("image", bytes, BRATS_MODALITIES, n)
 */
export async function decodeFramesPart(
  field: string,
  bytes: Uint8Array,
  names: readonly string[],
  maxVoxels: number,
): Promise<Volume[]> {
  const { readNifti } = await import("../nifti/mod.ts");
  let v: Volume;
  try {
    v = await readNifti(bytes, { maxBytes: maxVoxels * names.length * 8 });
  } catch (err) {
    inField(field, err);
  }
  const want = `a 4D NIfTI of ${names.length} volumes along its 4th axis (${names.join(", ")})`;
  if (v.dims.length < 4 || v.dims.slice(4).some((d) => d !== 1) || v.dims[3] !== names.length) {
    throw new InvalidInputError(
      `${field}: ${want} is needed; this one is ${v.dims.join("x")}${
        v.dims.length < 4 ? " (3D: send the modalities as separate parts)" : ""
      }`,
      { field, dims: v.dims.join("x") },
    );
  }
  if (v.width * v.height * v.depth > maxVoxels) {
    throw new LimitExceededError(
      `${field}: ${v.width}x${v.height}x${v.depth} is over the limit of ${maxVoxels} voxels`,
      { field, limit: maxVoxels },
    );
  }
  const n = v.width * v.height * v.depth;
  const dims = [v.width, v.height, v.depth];
  return names.map((_, k) => ({
    ...v,
    dims,
    frames: 1,
    data: v.data.subarray(k * n, (k + 1) * n) as Volume["data"],
  }));
}
