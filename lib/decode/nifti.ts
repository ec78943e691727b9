/**
 * NIfTI parts of a request body (the volume function's multipart form): each part read as one 3D
 * volume within a voxel limit, with the form field named in any error.
 */
import {
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  type ProblemFacts,
} from "../errors.ts";
import { readNifti } from "../nifti/mod.ts";
import type { Volume } from "../nifti/volume.ts";

/** Re-throws a library error with the form field named in its message and facts. */
function inField(field: string, err: unknown): never {
  if (err instanceof MedimgError) {
    const Ctor = err.constructor as new (m: string, f: ProblemFacts) => MedimgError;
    throw new Ctor(`${field}: ${err.message}`, { ...err.facts, field });
  }
  throw err;
}

/**
 * The part `field` (.nii or .nii.gz bytes) as a 3D volume of at most `maxVoxels` voxels.
 * @example const flair = await decodeNiftiPart("flair", bytes, 256 ** 3)
 */
export async function decodeNiftiPart(
  field: string,
  bytes: Uint8Array,
  maxVoxels: number,
): Promise<Volume> {
  let v: Volume;
  try {
    v = await readNifti(bytes, { maxBytes: maxVoxels * 8 });
  } catch (err) {
    inField(field, err);
  }
  if (v.frames !== 1) {
    throw new InvalidInputError(
      `${field}: a 3D volume is needed, this one has ${v.frames} frames`,
      { field },
    );
  }
  if (v.width * v.height * v.depth > maxVoxels) {
    throw new LimitExceededError(
      `${field}: ${v.width}x${v.height}x${v.depth} is over the limit of ${maxVoxels} voxels`,
      { field, limit: maxVoxels },
    );
  }
  return v;
}
