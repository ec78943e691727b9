/**
 * volume function (the origin, on a GPU where there is one): 3D segmentation of a BraTS-style MR
 * study. `POST /segment/volume` takes the four co-registered modalities FLAIR, T1, T1CE and T2
 * (multipart: each one NIfTI, or a DICOM series as repeated instance parts or a zip; or all four as
 * one 4D NIfTI `image`; optionally the ground-truth `seg`) and answers 202 with a job;
 * `GET /segment/volume/jobs/{id}` streams its progress as Server-Sent Events and ends with the
 * result; `GET .../result` is the label volume (labels 0, 1, 2, 4) as `.nii.gz` in the input's
 * geometry (with `probs=1` on the POST, the per-label probabilities as a 4D float32 `.nii.gz`), with
 * `?format=json` voxel counts, mL and dice per label, with `?format=seg` (DICOM input) a DICOM SEG
 * over the T1CE series (else the first modality sent as DICOM). `?wait=1` answers at once for small
 * volumes. The handlers: validated query (./_schemas/) -> the parts (lib/decode/volume_parts.ts) ->
 * a job running lib/pipelines/volume.ts's segmentVolume -> the answer.
 * Not for clinical use.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { LimitExceededError, UnsupportedError } from "../lib/errors.ts";
import { type AppEnv, createApp, env, envInt, serve } from "../lib/http/mod.ts";
import { openApiRoutes } from "../lib/http/openapi.ts";
import { JobQueue } from "../lib/jobs/mod.ts";
import { preferGpuBackend } from "../lib/models/backend.ts";
import { holdModels } from "../lib/models/load.ts";
import { findModel, modelsRoot } from "../lib/models/registry.ts";
import { segmentVolume, volumeModel, volumeParams } from "../lib/pipelines/volume.ts";
import { DEFAULT_VOLUME_MODEL, JOBS } from "./_schemas/volume.ts";
import { deleteJob, getJob, getJobResult, postVolume } from "./_schemas/volume_routes.ts";
import { jobOrEvents } from "./_jobs.ts";
import { jobStore } from "./_job_store.ts";
import { volumeRunner } from "./_volume_job.ts";
import {
  jobView,
  noSeg,
  readInputs,
  resultAnswer,
  resultFormat,
  segSource,
  type VolumeResult,
} from "./_volume_io.ts";
import { shutdownPool, useAllCores } from "../lib/models/pool.ts";

export { DEFAULT_VOLUME_MODEL, type VolumeResult };

/** Options of {@link createVolumeRoutes} (tests; deployments use the environment). */
export interface VolumeOptions {
  /** Models root (default MEDIMG_MODELS_DIR or models/). */
  modelsRoot?: string;
  /**
   * An in-memory job queue (tests); by default the engine functions/_job_store.ts picks, bounded
   * by MEDIMG_VOLUME_MAX_JOBS, _MAX_BYTES, _TTL_S, _MAX_RUN_S.
   */
  queue?: JobQueue<VolumeResult>;
  /** Largest volume (voxels of one modality) answered with ?wait=1 (MEDIMG_VOLUME_WAIT_VOXELS). */
  waitVoxels?: number;
  /** Largest volume accepted (voxels of one modality; MEDIMG_VOLUME_MAX_VOXELS, default 256^3). */
  maxVoxels?: number;
}

/** Largest POST body: four uncompressed float32 BraTS volumes and a seg fit (MEDIMG_VOLUME_BODY_LIMIT). */
export const volumeBodyLimits: Record<string, number> = {
  "/segment/volume": envInt("MEDIMG_VOLUME_BODY_LIMIT", 512 * 1024 * 1024),
};

/**
 * The volume routes with their own job queue, to mount on an app made by createApp.
 * @example createApp({ bodyLimits: volumeBodyLimits }).route("/", createVolumeRoutes())
 */
export function createVolumeRoutes(options: VolumeOptions = {}): OpenAPIHono<AppEnv> {
  const root = () => options.modelsRoot ?? modelsRoot();
  const queue = jobStore("volume", volumeRunner(root), {
    maxJobs: envInt("MEDIMG_VOLUME_MAX_JOBS", 8),
    maxBytes: envInt("MEDIMG_VOLUME_MAX_BYTES", 1024 * 1024 * 1024),
    ttlMs: envInt("MEDIMG_VOLUME_TTL_S", 900) * 1000,
    maxRunMs: envInt("MEDIMG_VOLUME_MAX_RUN_S", 1800) * 1000,
  }, options.queue);
  const waitVoxels = options.waitVoxels ?? envInt("MEDIMG_VOLUME_WAIT_VOXELS", 2_000_000);
  const maxVoxels = options.maxVoxels ?? envInt("MEDIMG_VOLUME_MAX_VOXELS", 256 ** 3);

  return openApiRoutes()
    .openapi(
      postVolume,
      async (c) => {
        const q = c.req.valid("query");
        const wait = q.wait === true;
        const format = wait ? resultFormat(c, q.format) : "json";
        const name = q.model ?? env("MEDIMG_VOLUME_MODEL") ?? DEFAULT_VOLUME_MODEL;
        const m = volumeModel((await findModel(name, root())).card);
        const p = volumeParams(q, m);
        const input = await readInputs(c, maxVoxels);
        const wantsSeg = q.format === "seg" || format === "seg";
        if (!input.dicom && (wantsSeg || q.deidentify)) {
          if (wantsSeg) throw noSeg();
          throw new UnsupportedError(
            "deidentify=1 applies to the DICOM SEG; these modalities came as NIfTI",
            { field: "deidentify" },
          );
        }
        const dicom = segSource(input, q.deidentify === true);
        const ref = input.volumes[0];
        const voxels = ref.width * ref.height * ref.depth;
        if (wait && voxels > waitVoxels) {
          throw new LimitExceededError(
            `wait=1 is for volumes up to ${waitVoxels} voxels; this one has ${voxels}: drop wait=1 and follow the job`,
            { field: "wait", limit: waitVoxels },
          );
        }
        const job = await queue.submit({
          kind: "volume",
          params: {
            model: name,
            params: p,
            max_voxels: maxVoxels,
            deidentify: q.deidentify === true,
          },
          inputs: input.parts,
          bytes: input.bytes,
          local: (ctx) =>
            holdModels(() =>
              segmentVolume(
                { volumes: input.volumes, seg: input.seg, dicom },
                m,
                p,
                root(),
                ctx.progress,
              )
            ),
          resultBytes: (r) => r.nifti.byteLength + (r.seg?.byteLength ?? 0),
          meta: { model: m.card.name, shape: [ref.width, ref.height, ref.depth] },
        });
        if (wait) {
          const done = await queue.settled(job.id);
          await queue.delete(job.id);
          if (done.state === "failed") throw done.cause;
          return resultAnswer(c, done, format);
        }
        c.header("location", `${JOBS}/${job.id}`);
        return c.json(jobView(await queue.get(job.id), JOBS), 202);
      },
    )
    .openapi(
      getJob,
      (c) => jobOrEvents(c, queue, c.req.valid("query").format, JOBS, (r) => r.summary),
    )
    .openapi(
      getJobResult,
      async (c) => {
        const format = resultFormat(c, c.req.valid("query").format);
        const job = await queue.result(c.req.param("id") ?? "");
        if (job.state === "failed") throw job.cause;
        if (job.state !== "done") {
          return c.json(jobView(job, JOBS), 202, { "retry-after": "2" });
        }
        return resultAnswer(c, job, format);
      },
    )
    .openapi(
      deleteJob,
      async (c) => {
        const id = c.req.param("id") ?? "";
        await queue.get(id);
        return c.json({ id, deleted: await queue.delete(id) });
      },
    );
}

/** The volume routes of this process. */
export const volumeRoutes: OpenAPIHono<AppEnv> = createVolumeRoutes();

/** The volume function alone: `deno run -A functions/volume.ts` (the GPU origin). */
export const app = createApp({ bodyLimits: volumeBodyLimits, title: "medimg-edge volume" })
  .route("/", volumeRoutes);

if (import.meta.main) {
  // on the origin: WebGPU when there is a hardware GPU adapter and MEDIMG_BACKEND is not set
  const line = await preferGpuBackend("volume");
  if (line) console.log(line);
  // a self-hosted origin: model passes over every core unless MEDIMG_WORKERS says otherwise
  useAllCores();
  serve(app).finished.then(shutdownPool);
}
