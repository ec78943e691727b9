/**
 * series function: 2D segmentation of a whole DICOM series (`POST /segment/series?model=<name>`):
 * the instances (multipart `instance` parts, or a zip of a folder) -> lib/dicom/series.ts
 * assembleSeries -> lib/pipelines/series.ts (the slice pipeline over every slice) -> the label
 * volume as JSON numbers, NIfTI with the series' affine, or DICOM SEG (lib/dicom/seg.ts). Cards
 * carry no segment descriptions yet, so SEG gets one segment per label with a generic SNOMED code
 * (category 91723000 Anatomical Structure, type 85756007 Tissue), named "<model> label <n>"
 * (lib/pipelines/series.ts segmentsFor).
 * A series whose estimated inference time (`MEDIMG_SERIES_MS_PER_SLICE`, default 600 ms, per
 * slice: the shipped fundus-vessels U-Net measured 576 ms per 512x512 IRCADb slice on 2 shared
 * cores, wasm) is over the request's time budget is refused with 503 before any model runs.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BadInputError, InvalidInputError } from "../lib/errors.ts";
import { assembleSeries, type Series } from "../lib/dicom/series.ts";
import { writeSeg } from "../lib/dicom/seg.ts";
import { readZipInstances } from "../lib/dicom/zip.ts";
import {
  type AppEnv,
  createApp,
  envInt,
  readBytes,
  readForm,
  refuseOverBudget,
  requireContentType,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { openApiRoutes, validQuery } from "../lib/http/openapi.ts";
import { reportSteps, stepOptions } from "../lib/http/steps.ts";
import { overlapScores } from "../lib/image/measure.ts";
import { loadModel } from "../lib/models/load.ts";
import { writeNifti } from "../lib/nifti/mod.ts";
import { segmentSeries, segmentsFor } from "../lib/pipelines/series.ts";
import { requireSliceModel } from "../lib/pipelines/slice.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import { modelGuard } from "./_model_route.ts";
import { seriesQuery, seriesRoute } from "./_schemas/series.ts";

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
async function readInstances(
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

/** Dice and IoU of the foreground (any label) against a ground-truth series on the same grid. */
async function truthScores(truth: Uint8Array[], series: Series, labels: Uint8Array, run: Steps) {
  const gt = await run.stepAsync("truth", () => assembleSeries(truth));
  const a = series.volume, b = gt.volume;
  if (a.width !== b.width || a.height !== b.height || a.depth !== b.depth) {
    throw new InvalidInputError(
      `the ground truth is ${b.width}x${b.height}x${b.depth}, the series ${a.width}x${a.height}x${a.depth}`,
      { field: "truth" },
    );
  }
  const mask = labels.map((v) => (v ? 1 : 0));
  const t = new Uint8Array(labels.length);
  for (let i = 0; i < t.length; i++) t[i] = b.data[i] ? 1 : 0;
  return overlapScores(mask, t);
}

/** POST /segment/series; the steps run so far go into Server-Timing also when one fails. */
async function handleSeries(c: Context<AppEnv>): Promise<Response> {
  const options = stepOptions(c);
  const run = new Steps(options);
  try {
    return await answerSeries(c, run, options.check);
  } catch (err) {
    reportSteps(c, run.timings);
    throw err;
  }
}

async function answerSeries(
  c: Context<AppEnv>,
  run: Steps,
  check?: (step: string) => void,
): Promise<Response> {
  const q = validQuery(c, seriesQuery);
  const format = q.format ?? "json";
  const name = q.model;
  if (!name) {
    throw new BadInputError(
      "model is required: ?model=<name> of an installed 2D model (GET /models lists them)",
      { field: "model" },
    );
  }
  const { instances, truth } = await readInstances(c);
  const series = await run.stepAsync("assemble", () => assembleSeries(instances));
  const depth = series.volume.depth;
  refuseOverBudget(
    c,
    depth * envInt("MEDIMG_SERIES_MS_PER_SLICE", 600),
    `segmenting ${depth} slices`,
  );
  const loaded = await run.stepAsync("model", () => loadModel(name));
  const { card } = loaded;
  requireSliceModel(name, card);
  const seg = await segmentSeries(loaded, series, { threshold: q.threshold }, run, check);
  const headers = { "x-model": card.name, "x-model-version": card.version };
  let res: Response;
  if (format === "nifti") {
    const v = series.volume;
    const nifti = await run.stepAsync("write", () =>
      writeNifti(v.header, seg.labels, {
        dims: [v.width, v.height, v.depth],
        description: `medimg-edge ${card.name} ${card.version} labels`,
      }));
    res = sendBytes(c, nifti, "application/gzip", {
      ...headers,
      "content-disposition": "attachment; filename=series_seg.nii.gz",
    });
  } else if (format === "seg") {
    const segments = segmentsFor(card, Object.keys(seg.volumes).map(Number));
    const bytes = await run.stepAsync("write", () => writeSeg(seg.labels, series, segments));
    res = sendBytes(c, bytes, "application/dicom", headers);
  } else {
    const v = series.volume;
    return c.json(
      {
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
        ...(truth.length
          ? { ground_truth: await truthScores(truth, series, seg.labels, run) }
          : {}),
        timings_ms: reportSteps(c, run.timings),
      },
      200,
      headers,
    );
  }
  reportSteps(c, run.timings);
  return res;
}

const routes = openApiRoutes();
routes.use("/segment/series", ...modelGuard("SERIES"));

/** The series route, to mount on an app made by createApp. */
export const seriesRoutes: OpenAPIHono<AppEnv> = routes.openapi(seriesRoute, handleSeries);

/** The series function alone: `deno run -A functions/series.ts`. */
export const app = createApp().route("/", seriesRoutes);

if (import.meta.main) serve(app);
