/**
 * series function: 2D segmentation of a whole DICOM series (`POST /segment/series?model=<name>`):
 * the instances (multipart `instance` parts, or a zip of a folder; or, with `study` and `series`
 * UIDs, pulled by WADO-RS from the PACS that MEDIMG_DICOMWEB_URL names) -> lib/dicom/series.ts
 * assembleSeries -> lib/pipelines/series.ts (the slice pipeline over every slice) -> the label
 * volume as JSON numbers (with dice/IoU/HD95 overall and per label against `truth` parts: DICOM
 * instances, or one NIfTI on the series' grid), NIfTI with the series' affine, or DICOM SEG
 * (lib/dicom/seg.ts; segments named and coded as the card's `segments` say, generic SNOMED codes
 * for labels it does not describe; `deidentify=1` replaces patient and study). The card's
 * postprocessing (overridable per request) and `tta=flip` apply in 3D. `store=1` sends the SEG
 * back to the PACS by STOW-RS and answers the numbers with its UIDs (`stored`).
 * A series whose estimated inference time (`MEDIMG_SERIES_MS_PER_SLICE`, default 600 ms, per
 * slice: the shipped fundus-vessels U-Net measured 576 ms per 512x512 IRCADb slice on 2 shared
 * cores, wasm) is over the request's time budget is refused with 503 before any model runs, unless
 * `job=1` asks for a job (202; GET /segment/series/jobs/{id} streams per-slice progress as
 * /segment/volume's jobs do, `/result` is the answer, DELETE forgets it). Requests are never
 * turned into jobs on their own: a caller that did not ask for a 202 would not follow it.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BadInputError, InvalidInputError } from "../lib/errors.ts";
import { assembleSeries } from "../lib/dicom/series.ts";
import { type AppEnv, createApp, env, envInt, refuseOverBudget, serve } from "../lib/http/mod.ts";
import { openApiRoutes, validQuery } from "../lib/http/openapi.ts";
import { reportSteps, stepOptions } from "../lib/http/steps.ts";
import { holdModels, loadModel } from "../lib/models/load.ts";
import { segmentSeries, type SeriesSegmentation } from "../lib/pipelines/series.ts";
import { postprocessUsed, ttaUsed } from "../lib/pipelines/postprocess.ts";
import { requireSliceModel } from "../lib/pipelines/slice.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import { jobOrEvents, jobView, resultFormat } from "./_jobs.ts";
import { jobStore } from "./_job_store.ts";
import { finishSeries, seriesInputs, seriesRunner } from "./_series_job.ts";
import { modelGuard } from "./_model_route.ts";
import {
  deleteSeriesJob,
  getSeriesJob,
  getSeriesJobResult,
  SERIES_JOBS,
  seriesQuery,
  seriesRoute,
} from "./_schemas/series.ts";
import {
  buildResult,
  pacsClient,
  pullSeries,
  readInstances,
  sendResult,
  seriesRef,
  type SeriesResult,
} from "./_series_io.ts";
import { shutdownPool, useAllCores } from "../lib/models/pool.ts";

/**
 * The series jobs (MEDIMG_SERIES_MAX_JOBS, MEDIMG_SERIES_TTL_S), kept by the engine
 * ./_job_store.ts picks: this process's memory unless MEDIMG_JOBS_DIR or MEDIMG_REDIS_URL is set.
 */
const queue = jobStore<SeriesResult>("series", seriesRunner, {
  maxJobs: envInt("MEDIMG_SERIES_MAX_JOBS", 4),
  maxBytes: envInt("MEDIMG_SERIES_MAX_BYTES", 1024 * 1024 * 1024),
  ttlMs: envInt("MEDIMG_SERIES_TTL_S", 900) * 1000,
  maxRunMs: 30 * 60_000,
});

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
  const name = q.model;
  if (!name) {
    throw new BadInputError(
      "model is required: ?model=<name> of an installed 2D model (GET /models lists them)",
      { field: "model" },
    );
  }
  const ref = seriesRef(q);
  if (q.store && !ref) {
    throw new InvalidInputError(
      "store=1 stores the SEG with the series it came from: name it by study and series",
      {
        field: "store",
      },
    );
  }
  if (q.store && q.format === "nifti") {
    throw new BadInputError("store=1 writes a SEG and answers JSON; format=nifti contradicts it", {
      field: "format",
    });
  }
  const format = q.format ?? "json";
  if (q.deidentify && format !== "seg" && !q.store) {
    throw new BadInputError(
      `deidentify=1 applies to the DICOM SEG; format=${format} answers none: ask for format=seg (or store=1)`,
      { field: "deidentify" },
    );
  }
  const deid = q.deidentify ? { deidentify: { uidKey: env("MEDIMG_DEID_KEY") ?? "" } } : {};
  const client = ref ? pacsClient() : undefined;
  const { instances, truth } = ref
    ? { instances: await run.stepAsync("retrieve", () => pullSeries(c, client!, ref)), truth: [] }
    : await readInstances(c);
  const series = await run.stepAsync("assemble", () => assembleSeries(instances));
  const depth = series.volume.depth;
  if (!q.job) {
    refuseOverBudget(
      c,
      depth * envInt("MEDIMG_SERIES_MS_PER_SLICE", 600),
      `segmenting ${depth} slices (job=1 runs it as a job)`,
    );
  }
  const loaded = await run.stepAsync("model", () => loadModel(name));
  const { card } = loaded;
  requireSliceModel(name, card);
  const tta = ttaUsed(card, q.tta);
  const options = { threshold: q.threshold, flips: tta.flips };
  const post = postprocessUsed(card, q, "mL");
  const finish = (seg: SeriesSegmentation, r: Steps) => finishSeries(seg, series, post, tta, r);
  const store = (signal?: AbortSignal) => (q.store ? { store: { client: client!, signal } } : {});
  if (!q.job) {
    const seg = finish(await segmentSeries(loaded, series, options, run, check), run);
    const result = await buildResult(
      { card, series, seg, truth, format, ...deid, ...store() },
      run,
    );
    return sendResult(c, result, false);
  }
  const job = await queue.submit({
    kind: "series",
    params: {
      model: name,
      threshold: q.threshold,
      format,
      postprocess: post,
      tta,
      ...(q.deidentify ? { deidentify: true } : {}),
      ...(q.store ? { store: ref } : {}),
    },
    inputs: seriesInputs(instances, truth),
    bytes: instances.reduce((n, b) => n + b.byteLength, 0) + series.volume.data.byteLength,
    local: (ctx) =>
      holdModels(async () => {
        const r = new Steps();
        const m = await r.stepAsync("model", () => loadModel(name));
        const progress = (done: number, total: number) => ctx.progress("infer", done, total);
        const seg = finish(await segmentSeries(m, series, options, r, undefined, progress), r);
        const input = { card, series, seg, truth, format, ...deid, ...store(ctx.signal) };
        return await buildResult(input, r);
      }),
    resultBytes: (r) => r.file?.bytes.byteLength ?? 0,
    meta: { model: card.name, shape: [series.volume.width, series.volume.height, depth] },
  });
  reportSteps(c, run.timings);
  c.header("location", `${SERIES_JOBS}/${job.id}`);
  return c.json(jobView(await queue.get(job.id), SERIES_JOBS), 202);
}

const routes = openApiRoutes();
routes.use("/segment/series", ...modelGuard("SERIES"));

/**
 * Largest POST body: a CT series sent uncompressed (3D-IRCADb patient 1's 129 slices are 67.8 MB,
 * over the 64 MiB default), MEDIMG_SERIES_BODY_LIMIT.
 */
export const seriesBodyLimits: Record<string, number> = {
  "/segment/series": envInt("MEDIMG_SERIES_BODY_LIMIT", 512 * 1024 * 1024),
};

/** The series routes, to mount on an app made by createApp. */
export const seriesRoutes: OpenAPIHono<AppEnv> = routes
  .openapi(seriesRoute, handleSeries)
  .openapi(
    getSeriesJob,
    (c) =>
      jobOrEvents(c, queue, c.req.valid("query").format, SERIES_JOBS, (r) => ({
        ...r.summary,
        timings_ms: r.timings,
      })),
  )
  .openapi(getSeriesJobResult, async (c) => {
    const job = await queue.result(c.req.param("id") ?? "");
    if (job.state === "failed") throw job.cause;
    if (job.state !== "done") {
      return c.json(jobView(job, SERIES_JOBS), 202, { "retry-after": "2" });
    }
    const format = resultFormat(c, c.req.valid("query").format, "file");
    return sendResult(c, job.result!, format === "json", { "x-job": job.id });
  })
  .openapi(deleteSeriesJob, async (c) => {
    const id = c.req.param("id") ?? "";
    await queue.get(id);
    return c.json({ id, deleted: await queue.delete(id) });
  });

/** The series function alone: `deno run -A functions/series.ts`. */
export const app = createApp({ bodyLimits: seriesBodyLimits }).route("/", seriesRoutes);

if (import.meta.main) {
  // a self-hosted origin: model passes over every core unless MEDIMG_WORKERS says otherwise
  useAllCores();
  serve(app).finished.then(shutdownPool);
}
