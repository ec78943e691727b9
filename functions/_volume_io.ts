/**
 * The volume function's request and answers: the multipart form of NIfTI or DICOM parts in (or one
 * 4D NIfTI), and out a job's JSON view and a finished job's label volume (or probabilities), DICOM
 * SEG or numbers (its events: ./_jobs.ts).
 */
import type { Context } from "hono";
import { decodeNiftiPart } from "../lib/decode/nifti.ts";
import { BadInputError, UnsupportedError } from "../lib/errors.ts";
import type { Series } from "../lib/dicom/series.ts";
import { decodeFramesPart, decodeModalityParts } from "../lib/decode/volume_parts.ts";
import { type AppEnv, env, mediaType, readForm, reportSteps, sendBytes } from "../lib/http/mod.ts";
import type { Job } from "../lib/jobs/mod.ts";
import type { Volume } from "../lib/nifti/volume.ts";
import { BRATS_MODALITIES } from "../lib/pipelines/brats.ts";
import { checkCoregistered } from "../lib/pipelines/volume.ts";
import { jobView, resultFormat as pickFormat } from "./_jobs.ts";
import { FILE_FIELDS, IMAGE_FIELD, type RESULT_FORMATS } from "./_schemas/volume.ts";

export { jobView };

/**
 * What a finished job keeps: the NIfTI answer (labels, or probabilities with probs=1), the DICOM SEG
 * when the input was DICOM, the numbers (lib/pipelines/volume.ts's VolumeSummary; the answers need
 * only the backend's name) and the time per step.
 */
export interface VolumeResult {
  nifti: Uint8Array;
  probabilities?: boolean;
  seg?: Uint8Array;
  summary: { backend: { name: string } };
  timings: Record<string, number>;
}

/** What the form held: the four modalities, the ground truth, the series a SEG references. */
export interface VolumeInputs {
  volumes: Volume[];
  seg?: Volume;
  /** The series a SEG of the labels references: T1CE's when it came as DICOM, else the first. */
  dicom?: { modality: string; series: Series };
  bytes: number;
}

/**
 * The four modalities (and seg) from the multipart form, read and checked to share one grid: each
 * modality a NIfTI part, or DICOM instance parts (or a zip of them) assembled into its series; or
 * all four as the 4D NIfTI part `image`. `parts` are the files as they came (what a stored job
 * keeps, ./_volume_job.ts): `image`, `seg`, and each modality's parts as `<modality>.<n>`.
 */
export async function readInputs(
  c: Context<AppEnv>,
  maxVoxels: number,
): Promise<VolumeInputs & { parts: Record<string, Uint8Array> }> {
  if (mediaType(c) !== "multipart/form-data") {
    throw new UnsupportedError(
      `send multipart/form-data with the files ${
        BRATS_MODALITIES.join(", ")
      } (and optionally seg), got ${JSON.stringify(mediaType(c) || "(none)")}`,
      { field: "content-type" },
    );
  }
  const { files, repeatedBy } = await readForm(c, {
    files: [IMAGE_FIELD, "seg"],
    repeated: BRATS_MODALITIES,
    onlyFiles: true,
    skipText: true,
  });
  const parts: Record<string, Uint8Array> = {};
  for (const name of [IMAGE_FIELD, "seg"]) if (files[name]) parts[name] = files[name]!;
  for (const m of BRATS_MODALITIES) repeatedBy[m].forEach((b, i) => parts[`${m}.${i}`] = b);
  return { ...await decodeInputs(parts, maxVoxels), parts };
}

/** The parts of {@link readInputs} (as a stored job keeps them) decoded and checked. */
export async function decodeInputs(
  parts: Record<string, Uint8Array>,
  maxVoxels: number,
): Promise<VolumeInputs> {
  const partsOf = (m: string) =>
    Object.keys(parts).filter((k) => k.startsWith(`${m}.`))
      .sort((a, b) => Number(a.slice(m.length + 1)) - Number(b.slice(m.length + 1)))
      .map((k) => parts[k]);
  const sent = BRATS_MODALITIES.filter((m) => partsOf(m).length > 0);
  const volumes: Volume[] = [];
  let dicom: VolumeInputs["dicom"];
  let bytes = 0;
  if (parts[IMAGE_FIELD]) {
    if (sent.length > 0) {
      throw new BadInputError(
        `send the modalities either as one 4D NIfTI (${IMAGE_FIELD}) or as parts (${
          BRATS_MODALITIES.join(", ")
        }), not both; ${sent.join(", ")} came with ${IMAGE_FIELD}`,
        { field: IMAGE_FIELD },
      );
    }
    volumes.push(
      ...await decodeFramesPart(IMAGE_FIELD, parts[IMAGE_FIELD], BRATS_MODALITIES, maxVoxels),
    );
  } else {
    const missing = BRATS_MODALITIES.filter((m) => !sent.includes(m));
    if (missing.length > 0) {
      throw new BadInputError(
        `the form needs each modality (${
          BRATS_MODALITIES.join(", ")
        }) as a NIfTI file or as DICOM instances (or a zip of them), or all four as one 4D NIfTI ${IMAGE_FIELD}; missing: ${
          missing.join(", ")
        }`,
        { field: missing[0] },
      );
    }
    const series: Partial<Record<string, Series>> = {};
    for (const m of BRATS_MODALITIES) {
      const part = await decodeModalityParts(m, partsOf(m), maxVoxels);
      volumes.push(part.volume);
      if (part.series) series[m] = part.series;
    }
    const modality = series[SEG_SOURCE] ? SEG_SOURCE : BRATS_MODALITIES.find((m) => series[m]);
    if (modality) {
      // the job keeps this series (its parsed instances) for the SEG; the others are let go
      dicom = { modality, series: series[modality]! };
      bytes += partsOf(modality).reduce((n, b) => n + b.byteLength, 0);
    }
  }
  const seg = parts.seg ? await decodeNiftiPart("seg", parts.seg, maxVoxels) : undefined;
  const all = [...volumes, ...(seg ? [seg] : [])];
  checkCoregistered(all.map((v, i) => [FILE_FIELDS[i], v] as const));
  bytes += all.reduce((n, v) => n + v.data.byteLength, 0);
  return { volumes, seg, ...(dicom ? { dicom } : {}), bytes };
}

/**
 * What segmentVolume needs to write a SEG of the labels: the series it references (when a modality
 * came as DICOM), `deidentify` as asked, the UID replacement key from MEDIMG_DEID_KEY.
 */
export function segSource(input: VolumeInputs, deidentify: boolean) {
  return input.dicom
    ? { series: input.dicom.series, deidentify, uidKey: env("MEDIMG_DEID_KEY") ?? "" }
    : undefined;
}

/** The modality whose series a SEG references when it came as DICOM (the contrast-enhanced T1). */
export const SEG_SOURCE = "t1ce";

/** A finished job's answer: the labels (or probabilities) as .nii.gz, the SEG, or the numbers. */
export function resultAnswer(c: Context<AppEnv>, job: Job<VolumeResult>, format: ResultFormat) {
  const r = job.result!;
  reportSteps(c, r.timings);
  const headers = { "x-backend": r.summary.backend.name, "x-job": job.id };
  if (format === "json") return c.json({ job: job.id, ...r.summary }, 200, headers);
  if (format === "seg") {
    if (!r.seg) throw noSeg();
    return sendBytes(c, r.seg, "application/dicom", {
      ...headers,
      "content-disposition": `attachment; filename="${job.id}_seg.dcm"`,
    });
  }
  const name = r.probabilities ? "probs" : "seg";
  return sendBytes(c, r.nifti, "application/gzip", {
    ...headers,
    "content-disposition": `attachment; filename="${job.id}_${name}.nii.gz"`,
  });
}

/** format=seg on a job whose modalities all came as NIfTI (415, as /segment/slice's). */
export function noSeg(): UnsupportedError {
  return new UnsupportedError(
    "format=seg answers a DICOM SEG, which references the DICOM series it was computed from; " +
      "these modalities came as NIfTI: send them as DICOM series",
    { field: "format" },
  );
}

/** The result formats (./_schemas/volume.ts RESULT_FORMATS). */
export type ResultFormat = typeof RESULT_FORMATS[number];

/**
 * nifti (default), json or seg, from ?format= (validated by the route) or Accept (./_jobs.ts; seg
 * when it asks for application/dicom and not for application/gzip).
 */
export function resultFormat(c: Context<AppEnv>, f: ResultFormat | undefined): ResultFormat {
  const accept = c.req.header("accept") ?? "";
  if (f === undefined && accept.includes("application/dicom") && !accept.includes("gzip")) {
    return "seg";
  }
  return pickFormat(c, f, "nifti");
}
