/**
 * The series function's request and answers (functions/series.ts): the instances from the body (a
 * form of `instance` and `truth` parts, or a zip) or pulled by WADO-RS from the deployment's PACS
 * (MEDIMG_DICOMWEB_URL) by study and series UID; the answer (JSON numbers, NIfTI, DICOM SEG, or
 * with store=1 the SEG stored back by STOW-RS and its UIDs) built once, for a request or a job.
 */
import type { Context } from "hono";
import { BadInputError, InvalidInputError } from "../lib/errors.ts";
import { parseDataSet } from "../lib/dicom/parse.ts";
import { checkUid, configFromEnv, DicomWebClient } from "../lib/dicom/dicomweb.ts";
import type { Series } from "../lib/dicom/series.ts";
import { writeSeg } from "../lib/dicom/seg.ts";
import { readZipInstances } from "../lib/dicom/zip.ts";
import {
  type AppEnv,
  readBytes,
  readForm,
  remainingBudget,
  reportSteps,
  requireContentType,
  sendBytes,
} from "../lib/http/mod.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { writeNifti } from "../lib/nifti/mod.ts";
import { withHd95 } from "../lib/pipelines/label_metrics.ts";
import {
  labelOverlap,
  segmentsFor,
  type SeriesSegmentation,
  truthLabels,
} from "../lib/pipelines/series.ts";
import type { Steps } from "../lib/pipelines/steps.ts";
import { truthVoxels } from "./_series_truth.ts";

/** A PACS series named by the request. */
export interface SeriesRef {
  study: string;
  series: string;
}

/** What a request or a job answers: the JSON numbers, and the file when one was asked for. */
export interface SeriesResult {
  summary: Record<string, unknown>;
  file?: { bytes: Uint8Array; type: string; filename?: string };
  headers: Record<string, string>;
  timings: Record<string, number>;
}

/** A part's instances: the DICOM entries of a zip, else the part itself. */
function expand(parts: Uint8Array[]): Uint8Array[] {
  return parts.flatMap((b) =>
    b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04
      ? readZipInstances(b).instances.map((i) => i.bytes)
      : [b]
  );
}

/**
 * The instances of the request and of its ground truth: a form's `instance` and `truth` parts (a
 * part may be a zip of DICOM files), or a zip body (no truth then).
 */
export async function readInstances(
  c: Context<AppEnv>,
): Promise<{ instances: Uint8Array[]; truth: Uint8Array[] }> {
  const type = requireContentType(c, ["multipart/form-data", "application/zip"]);
  if (type === "multipart/form-data") {
    const { repeatedBy } = await readForm(c, { repeated: ["instance", "truth"] });
    const instances = expand(repeatedBy.instance);
    if (instances.length === 0) {
      throw new BadInputError("the form has no instance field", { field: "instance" });
    }
    return { instances, truth: expand(repeatedBy.truth) };
  }
  // application/zip: its DICOM entries, in natural path order
  const { instances } = readZipInstances(await readBytes(c));
  if (instances.length === 0) throw new BadInputError("the zip holds no DICOM file");
  return { instances: instances.map((i) => i.bytes), truth: [] };
}

/**
 * The PACS series the query names (`study` and `series`, both UIDs: 400 naming the field
 * otherwise), or undefined when it names none.
 */
export function seriesRef(q: { study?: string; series?: string }): SeriesRef | undefined {
  if (q.study === undefined && q.series === undefined) return undefined;
  for (const field of ["study", "series"] as const) {
    if (q[field] === undefined) {
      throw new BadInputError(
        `name the PACS series by both study and series UID; ${field} is missing`,
        {
          field,
        },
      );
    }
    checkUid(q[field]!, field);
  }
  return { study: q.study!, series: q.series! };
}

/**
 * The client of the deployment's PACS. None configured is a 422 (InvalidInputError): the request is
 * well formed but this deployment cannot serve it, and no retry will change that (a 503 would invite
 * one).
 */
export function pacsClient(): DicomWebClient {
  const config = configFromEnv();
  if (!config) {
    throw new InvalidInputError(
      "this deployment names no PACS (MEDIMG_DICOMWEB_URL): send the instances instead of study and series",
      { field: "study" },
    );
  }
  return new DicomWebClient(config);
}

/** The series' instances by WADO-RS, within what is left of the request's time budget. */
export function pullSeries(c: Context<AppEnv>, client: DicomWebClient, ref: SeriesRef) {
  if (c.req.header("content-type")) {
    throw new BadInputError(
      "name the series by study and series UID or send its instances, not both",
      { field: "study" },
    );
  }
  const left = remainingBudget(c);
  const signal = Number.isFinite(left) ? AbortSignal.timeout(Math.max(1, left)) : undefined;
  return client.retrieveSeries(ref.study, ref.series, { signal });
}

/** What {@link buildResult} makes the answer from. */
export interface ResultInput {
  card: Pick<ModelCard, "name" | "version" | "segments">;
  series: Series;
  seg: SeriesSegmentation;
  truth: Uint8Array[];
  format: "json" | "nifti" | "seg";
  /** deidentify=1: the SEG's patient and study replaced, UIDs keyed by `uidKey` (MEDIMG_DEID_KEY). */
  deidentify?: { uidKey: string };
  /** With store=1: the PACS the SEG goes to, and the signal bounding the STOW-RS. */
  store?: { client: DicomWebClient; signal?: AbortSignal };
}

/** The UIDs of a written SEG (as the PACS will index it). */
function segUids(bytes: Uint8Array) {
  const ds = parseDataSet(bytes);
  const s = (tag: string) => ds.string(tag)?.replace(/\0/g, "").trim() ?? "";
  return {
    study_instance_uid: s("x0020000d"),
    series_instance_uid: s("x0020000e"),
    sop_instance_uid: s("x00080018"),
    sop_class_uid: s("x00080016"),
  };
}

/** The answer of a segmented series: the numbers, the NIfTI or SEG file, or the stored SEG's UIDs. */
export async function buildResult(input: ResultInput, run: Steps): Promise<SeriesResult> {
  const { card, series, seg, truth, format } = input;
  const v = series.volume;
  const headers = { "x-model": card.name, "x-model-version": card.version };
  let file: SeriesResult["file"], stored: ReturnType<typeof segUids> | undefined;
  if (format === "nifti") {
    const nifti = await run.stepAsync("write", () =>
      writeNifti(v.header, seg.labels, {
        dims: [v.width, v.height, v.depth],
        description: `medimg-edge ${card.name} ${card.version} labels`,
      }));
    file = { bytes: nifti, type: "application/gzip", filename: "series_seg.nii.gz" };
  } else if (format === "seg" || input.store) {
    const segments = segmentsFor(card, Object.keys(seg.volumes).map(Number));
    const bytes = await run.stepAsync("write", () =>
      writeSeg(seg.labels, series, segments, {
        deidentify: input.deidentify !== undefined,
        uidKey: input.deidentify?.uidKey,
      }));
    if (input.store) {
      const { client, signal } = input.store;
      await run.stepAsync("store", () => client.storeInstances([bytes], { signal }));
      stored = segUids(bytes);
    } else file = { bytes, type: "application/dicom" };
  }
  let ground_truth;
  if (truth.length) {
    const t = await run.stepAsync("truth", () => truthVoxels(truth, series));
    const { overall, labels } = labelOverlap(seg.labels, t);
    const dims = [v.width, v.height, v.depth] as const;
    ground_truth = {
      ...overall,
      labels: withHd95(labels, seg.labels, truthLabels(t), dims, v.spacing),
    };
  }
  const summary = {
    model: { name: card.name, version: card.version },
    series: {
      series_instance_uid: series.seriesInstanceUID,
      width: v.width,
      height: v.height,
      slices: v.depth,
      spacing: v.spacing,
      ordering: series.ordering,
    },
    volumes: seg.volumes,
    slices: seg.slices,
    passes: seg.passes,
    ...(seg.postprocess ? { postprocess: seg.postprocess } : {}),
    ...(seg.tta ? { tta: seg.tta } : {}),
    ...(ground_truth ? { ground_truth } : {}),
    ...(stored ? { stored } : {}),
  };
  return { summary, file, headers, timings: run.timings };
}

/** A result as an HTTP answer: its file, or (format json, or no file) its numbers. */
export function sendResult(
  c: Context<AppEnv>,
  r: SeriesResult,
  json: boolean,
  extra: Record<string, string> = {},
): Response {
  const timings_ms = reportSteps(c, r.timings);
  if (json || !r.file) return c.json({ ...r.summary, timings_ms }, 200, { ...r.headers, ...extra });
  const { bytes, type, filename } = r.file;
  return sendBytes(c, bytes, type, {
    ...r.headers,
    ...extra,
    ...(filename ? { "content-disposition": `attachment; filename=${filename}` } : {}),
  });
}
