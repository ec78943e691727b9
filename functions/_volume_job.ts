/**
 * The volume job's work as data, so that any process can do it: the NIfTI or DICOM parts as they came, the
 * model's name and the inference parameters; the runner decodes the parts again and runs
 * lib/pipelines/volume.ts's segmentVolume (what the route runs in process with the memory engine).
 */
import type { JobRunner } from "../lib/jobs/mod.ts";
import { holdModels } from "../lib/models/load.ts";
import { findModel } from "../lib/models/registry.ts";
import { segmentVolume, volumeModel, type VolumeParams } from "../lib/pipelines/volume.ts";
import { decodeInputs, segSource, type VolumeResult } from "./_volume_io.ts";

/** A volume job's params (JSON). */
export interface VolumeJobParams {
  /** The model's name, found again under the runner's models root. */
  model: string;
  params: VolumeParams;
  /** Largest volume accepted, voxels of one modality. */
  max_voxels: number;
  /** A SEG (DICOM input) with patient and study replaced (deidentify=1). */
  deidentify?: boolean;
}

/** The runner of "volume" jobs over the models under `root()`. */
export function volumeRunner(root: () => string): JobRunner<VolumeResult> {
  return async ({ params, inputs }, ctx) => {
    const q = params as unknown as VolumeJobParams;
    const m = volumeModel((await findModel(q.model, root())).card);
    const input = await decodeInputs(inputs, q.max_voxels);
    const dicom = segSource(input, q.deidentify === true);
    return await holdModels(() =>
      segmentVolume({ ...input, dicom }, m, q.params, root(), ctx.progress)
    );
  };
}
