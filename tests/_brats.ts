/** The real BraTS case the volume tests use, and its modalities downsampled to test size. */
import { readNifti, writeNifti } from "../lib/nifti/mod.ts";
import type { Volume } from "../lib/nifti/volume.ts";
import { dataFile } from "./_data.ts";

/** The case's file prefix under ../shared/data. */
export const CASE = "brats/BraTS2021_00006/BraTS2021_00006_";

/** Whether the case is there (tests that need it are ignored otherwise). */
export const hasCase = dataFile(`${CASE}flair.nii.gz`) !== undefined;

/** 240 x 240 x 155 -> 40 x 40 x 155: the seed's slice dropping still applies. */
export const STEP = 6;

/** A modality of the real case, every STEP-th voxel in x and y, as .nii.gz bytes and volume. */
export async function downsampled(what: string): Promise<{ bytes: Uint8Array; volume: Volume }> {
  const v = await readNifti(await Deno.readFile(dataFile(`${CASE}${what}.nii.gz`)!));
  const w = v.width / STEP, h = v.height / STEP;
  const data = new (v.data.constructor as new (n: number) => typeof v.data)(w * h * v.depth);
  for (let z = 0; z < v.depth; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data[(z * h + y) * w + x] = v.data[(z * v.height + y * STEP) * v.width + x * STEP];
      }
    }
  }
  const bytes = await writeNifti(v.header, data, { dims: [w, h, v.depth] });
  return { bytes, volume: await readNifti(bytes) };
}
