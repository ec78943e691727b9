/**
 * The volume function's request and answers: the multipart form of NIfTI parts in, and out a job's
 * JSON view and a finished job's label volume or numbers (its events: ./_jobs.ts).
 */
import type { Context } from "hono";
import { decodeNiftiPart } from "../lib/decode/nifti.ts";
import { BadInputError, UnsupportedError } from "../lib/errors.ts";
import { type AppEnv, mediaType, readForm, reportSteps, sendBytes } from "../lib/http/mod.ts";
import type { Job } from "../lib/jobs/mod.ts";
import type { Volume } from "../lib/nifti/volume.ts";
import { BRATS_MODALITIES } from "../lib/pipelines/brats.ts";
import { checkCoregistered } from "../lib/pipelines/volume.ts";
import { jobView, resultFormat as pickFormat } from "./_jobs.ts";
import { FILE_FIELDS } from "./_schemas/volume.ts";

export { jobView };

/**
 * What a finished job keeps: the NIfTI answer, the numbers (lib/pipelines/volume.ts's
 * VolumeSummary; the answers need only the backend's name) and the time per step.
 */
export interface VolumeResult {
  nifti: Uint8Array;
  summary: { backend: { name: string } };
  timings: Record<string, number>;
}

/**
 * The four modalities (and seg) from the multipart form, read and checked to share one grid;
 * `parts` are the files as they came (what a stored job keeps).
 */
export async function readInputs(
  c: Context<AppEnv>,
  maxVoxels: number,
): Promise<{ volumes: Volume[]; seg?: Volume; bytes: number; parts: Record<string, Uint8Array> }> {
  if (mediaType(c) !== "multipart/form-data") {
    throw new UnsupportedError(
      `send multipart/form-data with the files ${
        BRATS_MODALITIES.join(", ")
      } (and optionally seg), got ${JSON.stringify(mediaType(c) || "(none)")}`,
      { field: "content-type" },
    );
  }
  const { files } = await readForm(c, { files: FILE_FIELDS, onlyFiles: true, skipText: true });
  const missing = BRATS_MODALITIES.filter((m) => !files[m]);
  if (missing.length > 0) {
    throw new BadInputError(
      `the form needs one NIfTI file per modality (${BRATS_MODALITIES.join(", ")}); missing: ${
        missing.join(", ")
      }`,
      { field: missing[0] },
    );
  }
  const parts: Record<string, Uint8Array> = {};
  for (const name of FILE_FIELDS) if (files[name]) parts[name] = files[name]!;
  return { ...await decodeInputs(parts, maxVoxels), parts };
}

/** The NIfTI parts (modalities and optional seg) decoded and checked to share one grid. */
export async function decodeInputs(
  parts: Record<string, Uint8Array>,
  maxVoxels: number,
): Promise<{ volumes: Volume[]; seg?: Volume; bytes: number }> {
  const read = (name: string) => decodeNiftiPart(name, parts[name]!, maxVoxels);
  const volumes: Volume[] = [];
  for (const m of BRATS_MODALITIES) volumes.push(await read(m));
  const seg = parts.seg ? await read("seg") : undefined;
  const all = [...volumes, ...(seg ? [seg] : [])];
  checkCoregistered(all.map((v, i) => [FILE_FIELDS[i], v] as const));
  return { volumes, seg, bytes: all.reduce((n, v) => n + v.data.byteLength, 0) };
}

/** A finished job's answer: the labels as .nii.gz, or the numbers as JSON. */
export function resultAnswer(c: Context<AppEnv>, job: Job<VolumeResult>, format: "nifti" | "json") {
  const r = job.result!;
  reportSteps(c, r.timings);
  const headers = { "x-backend": r.summary.backend.name, "x-job": job.id };
  if (format === "json") return c.json({ job: job.id, ...r.summary }, 200, headers);
  return sendBytes(c, r.nifti, "application/gzip", {
    ...headers,
    "content-disposition": `attachment; filename="${job.id}_seg.nii.gz"`,
  });
}

/** nifti (default) or json, from ?format= (validated by the route) or Accept (./_jobs.ts). */
export function resultFormat(
  c: Context<AppEnv>,
  f: "nifti" | "json" | undefined,
): "nifti" | "json" {
  return pickFormat(c, f, "nifti");
}
