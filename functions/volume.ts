/**
 * volume function (the origin, on a GPU where there is one): 3D segmentation of a BraTS-style MR
 * study (seed 002). `POST /segment/volume` takes the four co-registered modalities FLAIR,
 * T1, T1CE and T2 (multipart, one NIfTI each, optionally the ground-truth `seg`) and answers 202 with
 * a job; `GET /segment/volume/jobs/{id}` streams its progress as Server-Sent Events and ends with
 * the result; `GET .../result` is the label volume (labels 0, 1, 2, 4) as `.nii.gz` in the input's
 * geometry, or with `?format=json` voxel counts, mL and dice per label. `?wait=1` answers at once for
 * small volumes. Steps: NIfTI read -> reorientation to RAS (nibabel's as_closest_canonical) -> the
 * seed's stacking, slice dropping and z-score -> sliding-window 3D inference -> labels -> back to the
 * input's voxel order. Not for clinical use.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { setMetric } from "hono/timing";
import {
  BadInputError,
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  type ProblemFacts,
  UnsupportedError,
} from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  env,
  envInt,
  mediaType,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { statusFor } from "../lib/http/problem.ts";
import {
  BINARY,
  enumQuery,
  filePart,
  flagQuery,
  formatQuery,
  header,
  intQuery,
  jsonContent,
  numberQuery,
  openApiRoutes,
  problems,
  route,
  textQuery,
  z,
} from "../lib/http/openapi.ts";
import { type Job, JobQueue } from "../lib/jobs/mod.ts";
import type { ModelCard } from "../lib/models/card.ts";
import { setupBackend } from "../lib/models/backend.ts";
import { holdModels, loadModel } from "../lib/models/load.ts";
import { findModel, modelsRoot } from "../lib/models/registry.ts";
import {
  type Blend,
  fastConv3dOnWasm,
  layersForward,
  type PatchLayout,
  type Size3,
} from "../lib/models/sliding3d.ts";
import { readNifti, writeNifti } from "../lib/nifti/mod.ts";
import type { Volume } from "../lib/nifti/volume.ts";
import {
  BRATS_DEFAULTS,
  BRATS_LABELS,
  BRATS_MODALITIES,
  type BratsParams,
  dicePerLabel,
  labelVolumes,
  segmentBrats,
} from "../lib/pipelines/brats.ts";

/** The model used when the request names none (MEDIMG_VOLUME_MODEL overrides it). */
export const DEFAULT_VOLUME_MODEL = "brats-demo";

/** The seed's patch (channels-first 4 x 160 x 160 x 24, here [z, y, x]) when a card fixes none. */
const DEFAULT_PATCH: Size3 = [24, 160, 160];

/** What a finished job keeps: the NIfTI answer and the numbers. */
export interface VolumeResult {
  nifti: Uint8Array;
  summary: Record<string, unknown>;
  timings: Record<string, number>;
}

/** Options of {@link createVolumeRoutes} (tests; deployments use the environment). */
export interface VolumeOptions {
  /** Models root (default MEDIMG_MODELS_DIR or models/). */
  modelsRoot?: string;
  /** The job queue (default bounded by MEDIMG_VOLUME_MAX_JOBS, _MAX_BYTES, _TTL_S). */
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

/** A volume model's card facts: window, layout, labels, preprocessing. */
interface VolumeModel {
  card: ModelCard;
  patch: Size3;
  overlap: number;
  blend: Blend;
  channels: number;
  layout: PatchLayout;
  labels: number[];
  params: BratsParams;
}

/** Reads the 3D facts from a card, or says why it is not a BraTS volume model. */
function volumeModel(card: ModelCard): VolumeModel {
  const bad = (why: string) =>
    new InvalidInputError(`model ${card.name} is not a volume model: ${why}`, {
      model: card.name,
    });
  if (card.task !== "segmentation") throw bad(`its task is ${card.task}`);
  if (card.preprocess?.preset !== "brats") {
    throw bad(`its preprocess preset is ${card.preprocess?.preset ?? "none"}, not brats`);
  }
  const input = card.inputs[0] as { shape: (number | null)[]; layout?: string };
  if (card.inputs.length !== 1 || input.shape.length !== 5) {
    throw bad("it needs one rank-5 input [batch, depth, height, width, channels]");
  }
  const layout = (input.layout ?? "NDHWC") as PatchLayout;
  if (layout !== "NDHWC" && layout !== "NCDHW") throw bad(`its input layout is ${layout}`);
  const [, a, b, c, d] = input.shape;
  const [channels, dims] = layout === "NDHWC" ? [d, [a, b, c]] : [a, [b, c, d]];
  if (channels !== BRATS_MODALITIES.length) {
    throw bad(`it takes ${channels} channels, not the 4 modalities`);
  }
  // card.sliding_window (this function's extension of the card) sets the window, else the input
  const sw = (card as { sliding_window?: { patch_zyx?: Size3; overlap?: number; blend?: Blend } })
    .sliding_window ?? {};
  const patch = sw.patch_zyx ?? dims.map((v, i) => v ?? DEFAULT_PATCH[i]) as Size3;
  if (!(patch.length === 3 && patch.every((v) => Number.isInteger(v) && v > 0))) {
    throw bad(`its sliding_window.patch_zyx ${JSON.stringify(patch)} is not three sizes`);
  }
  const labels = (card as { label_values?: number[] }).label_values ?? [...BRATS_LABELS];
  const p = (card.preprocess.params ?? {}) as Partial<BratsParams>;
  const params = { ...BRATS_DEFAULTS, ...p };
  return {
    card,
    patch,
    overlap: sw.overlap ?? 0.25,
    blend: sw.blend ?? "gaussian",
    channels,
    layout,
    labels,
    params,
  };
}

/** Re-throws a library error with the form field named in its message and facts. */
function inField(field: string, err: unknown): never {
  if (err instanceof MedimgError) {
    const Ctor = err.constructor as new (m: string, f: ProblemFacts) => MedimgError;
    throw new Ctor(`${field}: ${err.message}`, { ...err.facts, field });
  }
  throw err;
}

const FILE_FIELDS = [...BRATS_MODALITIES, "seg"] as const;

/** The four modalities (and seg) from the multipart form, read and checked to share one grid. */
async function readInputs(
  c: Context<AppEnv>,
  maxVoxels: number,
): Promise<{ volumes: Volume[]; seg?: Volume; bytes: number }> {
  if (mediaType(c) !== "multipart/form-data") {
    throw new UnsupportedError(
      `send multipart/form-data with the files ${
        BRATS_MODALITIES.join(", ")
      } (and optionally seg), got ${JSON.stringify(mediaType(c) || "(none)")}`,
      { field: "content-type" },
    );
  }
  const form = await c.req.formData().catch((err) => {
    throw new BadInputError(`multipart body could not be read: ${err.message}`);
  });
  for (const [name, value] of form.entries()) {
    if (value instanceof File && !(FILE_FIELDS as readonly string[]).includes(name)) {
      throw new BadInputError(
        `unexpected file field ${JSON.stringify(name)}: the form takes ${FILE_FIELDS.join(", ")}`,
        { field: name },
      );
    }
  }
  const missing = BRATS_MODALITIES.filter((m) => !(form.get(m) instanceof File));
  if (missing.length > 0) {
    throw new BadInputError(
      `the form needs one NIfTI file per modality (${BRATS_MODALITIES.join(", ")}); missing: ${
        missing.join(", ")
      }`,
      { field: missing[0] },
    );
  }
  const read = async (name: string): Promise<Volume> => {
    const f = form.get(name) as File;
    let v: Volume;
    try {
      v = await readNifti(new Uint8Array(await f.arrayBuffer()), { maxBytes: maxVoxels * 8 });
    } catch (err) {
      inField(name, err);
    }
    if (v.frames !== 1) {
      throw new InvalidInputError(
        `${name}: a 3D volume is needed, this one has ${v.frames} frames`,
        {
          field: name,
        },
      );
    }
    if (v.width * v.height * v.depth > maxVoxels) {
      throw new LimitExceededError(
        `${name}: ${v.width}x${v.height}x${v.depth} is over the limit of ${maxVoxels} voxels`,
        { field: name, limit: maxVoxels },
      );
    }
    return v;
  };
  const volumes: Volume[] = [];
  for (const m of BRATS_MODALITIES) volumes.push(await read(m));
  const seg = form.get("seg") instanceof File ? await read("seg") : undefined;
  const ref = volumes[0];
  const grid = (v: Volume) => `${v.width}x${v.height}x${v.depth}`;
  [...volumes, ...(seg ? [seg] : [])].forEach((v, i) => {
    const name = FILE_FIELDS[i];
    if (grid(v) !== grid(ref)) {
      throw new InvalidInputError(
        `${name} is ${grid(v)}, ${BRATS_MODALITIES[0]} is ${
          grid(ref)
        }: the modalities must be co-registered on one grid`,
        { field: name },
      );
    }
    const off = Math.max(...v.affine.flat().map((x, k) => Math.abs(x - ref.affine.flat()[k])));
    if (off > 1e-3) {
      throw new InvalidInputError(
        `${name} has another voxel-to-world affine than ${BRATS_MODALITIES[0]} (differs by up to ${
          off.toFixed(3)
        }): the modalities must be co-registered`,
        { field: name },
      );
    }
  });
  const bytes = [...volumes, ...(seg ? [seg] : [])].reduce((n, v) => n + v.data.byteLength, 0);
  return { volumes, seg, bytes };
}

const BLENDS = ["gaussian", "linear", "constant"] as const;

/** The query of POST /segment/volume, declared once: documented and validated by the route. */
const volumeQuery = z.object({
  model: textQuery(
    `installed volume model (default ${DEFAULT_VOLUME_MODEL})`,
    DEFAULT_VOLUME_MODEL,
  ),
  wait: flagQuery("on: answer with the result (small volumes only)"),
  format: formatQuery(["nifti", "json"]),
  overlap: numberQuery(
    "overlap",
    "fraction of a window shared with a neighbour, in [0, 0.95]",
    0.25,
    { min: 0, max: 0.95 },
  ),
  blend: enumQuery(BLENDS, "how overlapping windows are averaged (default gaussian)"),
  batch: intQuery("batch", "windows per forward pass, 1 to 16 (default 1)", 1, { min: 1, max: 16 }),
  threshold: numberQuery(
    "threshold",
    "probability for a label, in [0, 1] (default the card's)",
    0.5,
    { min: 0, max: 1 },
  ),
});

/** The request's inference parameters, with their defaults. */
function inferParams(q: z.output<typeof volumeQuery>, m: VolumeModel) {
  return {
    overlap: q.overlap ?? m.overlap,
    blend: q.blend ?? m.blend,
    batch: q.batch ?? 1,
    threshold: q.threshold ?? m.card.threshold ?? 0.5,
    patch: m.patch,
  };
}

/** Runs one segmentation: what a job does. */
async function segment(
  input: { volumes: Volume[]; seg?: Volume },
  m: VolumeModel,
  p: ReturnType<typeof inferParams>,
  root: string,
  progress: (stage: string, done?: number, total?: number) => void,
): Promise<VolumeResult> {
  let loaded: Awaited<ReturnType<typeof loadModel>> | undefined;
  let fastConv3d = false;
  const seg = await segmentBrats(
    input.volumes,
    {
      load: async () => {
        // the wasm kernels are replaced before the model's warm-up pass runs
        const backend = await setupBackend();
        fastConv3d = backend.name === "wasm" && fastConv3dOnWasm();
        loaded = await loadModel(m.card.name, { root });
        return layersForward(loaded.predict, m.channels, m.layout);
      },
    },
    { ...p, labels: m.labels, params: m.params, layout: m.layout },
    async (stage, done, total) => {
      progress(stage, done, total);
      // let the event stream and other requests run between forward passes
      if (done !== undefined) await new Promise((r) => setTimeout(r, 0));
    },
  );
  const ms = seg.timings;
  const ref = input.volumes[0];
  progress("write");
  const t0 = performance.now();
  const nifti = await writeNifti(ref.header, seg.labels, {
    dims: [ref.width, ref.height, ref.depth],
    description: `medimg-edge ${m.card.name} ${m.card.version} labels`,
  });
  ms.write = Math.round((performance.now() - t0) * 10) / 10;
  const volumes = labelVolumes(seg.labels, ref.spacing, m.labels);
  const dice = input.seg ? dicePerLabel(seg.labels, input.seg.data, m.labels) : undefined;
  const backend = loaded!.backend;
  const summary = {
    model: { name: m.card.name, version: m.card.version, not_for: m.card.not_for ?? null },
    backend: {
      name: backend.name,
      simd: backend.simd,
      threads: backend.threads,
      conv3d: backend.name === "wasm"
        ? fastConv3d ? "wasm Conv2D (XNNPACK) per kernel depth" : "wasm Conv3D"
        : `${backend.name} Conv3D`,
    },
    input: {
      shape: [ref.width, ref.height, ref.depth],
      spacing_mm: ref.spacing,
      datatype: input.volumes.map((v) => v.datatype),
    },
    preprocess: {
      reoriented_from: seg.orientation.map(([axis, flip]) => ({ axis, flip })),
      kept_slices: seg.keptSlices,
      params: seg.params,
    },
    inference: {
      patch_zyx: p.patch,
      overlap: p.overlap,
      blend: p.blend,
      batch: p.batch,
      windows: seg.windows,
      forward_ms: Math.round(seg.forwardMs),
    },
    threshold: p.threshold,
    labels: volumes,
    ...(dice ? { dice, dice_eps: 1e-5 } : {}),
    timings_ms: ms,
  };
  return { nifti, summary, timings: ms };
}

/** The JSON view of a job, with its links. */
function jobView(job: Job<VolumeResult>, base: string) {
  return {
    id: job.id,
    state: job.state,
    ...(job.position === undefined ? {} : { position: job.position }),
    model: job.meta.model,
    shape: job.meta.shape,
    created_at: new Date(job.createdAt).toISOString(),
    ...(job.startedAt ? { started_at: new Date(job.startedAt).toISOString() } : {}),
    ...(job.finishedAt ? { finished_at: new Date(job.finishedAt).toISOString() } : {}),
    ...(job.expiresAt ? { expires_at: new Date(job.expiresAt).toISOString() } : {}),
    ...(job.error ? { error: job.error } : {}),
    links: {
      self: `${base}/${job.id}`,
      events: `${base}/${job.id}`,
      result: `${base}/${job.id}/result`,
    },
  };
}

/** A finished job's answer: the labels as .nii.gz, or the numbers as JSON. */
function resultAnswer(c: Context<AppEnv>, job: Job<VolumeResult>, format: "nifti" | "json") {
  const r = job.result!;
  for (const [name, ms] of Object.entries(r.timings)) setMetric(c, name, ms);
  const backend = (r.summary.backend as { name: string }).name;
  const headers = { "x-backend": backend, "x-job": job.id };
  if (format === "json") return c.json({ job: job.id, ...r.summary }, 200, headers);
  return sendBytes(c, r.nifti, "application/gzip", {
    ...headers,
    "content-disposition": `attachment; filename="${job.id}_seg.nii.gz"`,
  });
}

/** nifti (default) or json, from ?format= (validated by the route) or Accept. */
function resultFormat(c: Context<AppEnv>, f: "nifti" | "json" | undefined): "nifti" | "json" {
  if (f !== undefined) return f;
  const accept = c.req.header("accept") ?? "";
  return /application\/json/.test(accept) && !/application\/(gzip|octet-stream)/.test(accept)
    ? "json"
    : "nifti";
}

const JOBS = "/segment/volume/jobs";

const int = z.number().int(), num = z.number();
/** A job as jobView shows it (components.schemas.VolumeJob). */
const JobAnswer = z.strictObject({
  id: z.string(),
  state: z.enum(["queued", "running", "done", "failed"]),
  position: int.optional().describe("place in the waiting line (0 = next), while queued"),
  model: z.string(),
  shape: z.array(int).describe("[x, y, z] voxels of the input"),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().optional(),
  finished_at: z.iso.datetime().optional(),
  expires_at: z.iso.datetime().optional().describe("when a finished job is forgotten"),
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    status: int.optional(),
    facts: z.record(z.string(), z.unknown()).optional(),
  }).optional().describe("why a failed job failed"),
  links: z.strictObject({ self: z.string(), events: z.string(), result: z.string() }),
}).openapi("VolumeJob");
/** A finished job's numbers: the segment() summary with the job id. */
const VolumeNumbers = z.strictObject({
  job: z.string(),
  links: z.strictObject({ self: z.string(), events: z.string(), result: z.string() }).optional()
    .describe("in the event stream's result event only"),
  model: z.strictObject({ name: z.string(), version: z.string(), not_for: z.string().nullable() }),
  backend: z.strictObject({
    name: z.string(),
    simd: z.boolean(),
    threads: int,
    conv3d: z.string().describe("how 3D convolutions ran"),
  }),
  input: z.strictObject({
    shape: z.tuple([int, int, int]),
    spacing_mm: z.tuple([num, num, num]),
    datatype: z.array(z.string()).describe("NIfTI datatype of each modality"),
  }),
  preprocess: z.strictObject({
    reoriented_from: z.array(z.strictObject({ axis: int, flip: int })),
    kept_slices: z.tuple([int, int]).describe("[start, end) of the axial slices kept"),
    params: z.strictObject({ dropDepth: int, dropHead: int, dropTail: int }),
  }),
  inference: z.strictObject({
    patch_zyx: z.tuple([int, int, int]),
    overlap: num,
    blend: z.enum(BLENDS),
    batch: int,
    windows: int,
    forward_ms: num,
  }),
  threshold: num,
  labels: z.record(z.string(), z.strictObject({ voxels: int, ml: num })).describe(
    "per label value: voxels and millilitres",
  ),
  dice: z.record(z.string(), num).optional().describe("per label, when seg was sent"),
  dice_eps: num.optional(),
  timings_ms: z.record(z.string(), num),
}).openapi("VolumeNumbers");
const RESULT_HEADERS = {
  "X-Backend": header("tfjs backend that ran the model"),
  "X-Job": header("the job's id"),
};

/**
 * The volume routes with their own job queue, to mount on an app made by createApp.
 * @example createApp({ bodyLimits: volumeBodyLimits }).route("/", createVolumeRoutes())
 */
export function createVolumeRoutes(options: VolumeOptions = {}): OpenAPIHono<AppEnv> {
  const queue = options.queue ?? new JobQueue<VolumeResult>({
    maxJobs: envInt("MEDIMG_VOLUME_MAX_JOBS", 8),
    maxBytes: envInt("MEDIMG_VOLUME_MAX_BYTES", 1024 * 1024 * 1024),
    ttlMs: envInt("MEDIMG_VOLUME_TTL_S", 900) * 1000,
    maxRunMs: envInt("MEDIMG_VOLUME_MAX_RUN_S", 1800) * 1000,
    statusOf: statusFor,
  });
  const root = () => options.modelsRoot ?? modelsRoot();
  const waitVoxels = options.waitVoxels ?? envInt("MEDIMG_VOLUME_WAIT_VOXELS", 2_000_000);
  const maxVoxels = options.maxVoxels ?? envInt("MEDIMG_VOLUME_MAX_VOXELS", 256 ** 3);

  const jobParams = z.object({ id: z.string().openapi({ description: "job id from the POST" }) });

  return openApiRoutes()
    .openapi(
      route({
        method: "post",
        path: "/segment/volume",
        operationId: "segmentVolume",
        summary:
          "3D BraTS segmentation of FLAIR, T1, T1CE, T2 (a job, or ?wait=1 for small volumes)",
        request: {
          query: volumeQuery,
          body: {
            description: "multipart form: flair, t1, t1ce, t2 (one NIfTI each, .nii or .nii.gz, " +
              "one grid) and optionally seg (ground truth) for dice",
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: [...BRATS_MODALITIES],
                  properties: Object.fromEntries(
                    FILE_FIELDS.map((f) => [
                      f,
                      filePart(
                        f === "seg"
                          ? "ground-truth labels (0, 1, 2, 4) on the same grid, for dice"
                          : `the ${f.toUpperCase()} volume (NIfTI-1, .nii or .nii.gz)`,
                      ),
                    ]),
                  ),
                } as const,
                encoding: Object.fromEntries(
                  FILE_FIELDS.map((
                    f,
                  ) => [f, { contentType: "application/gzip, application/octet-stream" }]),
                ),
              },
            },
          },
        },
        responses: {
          202: {
            description: "the job: {id, state, links: {self, events, result}}; Location header",
            headers: { Location: header("the job's URL (GET it for events or JSON)") },
            content: { "application/json": jsonContent(JobAnswer) },
          },
          200: {
            description: "with wait=1: the label volume (.nii.gz) or, format=json, the numbers",
            headers: {
              ...RESULT_HEADERS,
              "Content-Disposition": header("attachment; filename=<job>_seg.nii.gz (NIfTI)"),
            },
            content: {
              "application/gzip": BINARY,
              "application/json": jsonContent(VolumeNumbers),
            },
          },
          ...problems(404, 415, 422, 503),
        },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const wait = q.wait === true;
        const format = wait ? resultFormat(c, q.format) : "json";
        const name = q.model ?? env("MEDIMG_VOLUME_MODEL") ?? DEFAULT_VOLUME_MODEL;
        const m = volumeModel((await findModel(name, root())).card);
        const p = inferParams(q, m);
        const input = await readInputs(c, maxVoxels);
        const ref = input.volumes[0];
        const voxels = ref.width * ref.height * ref.depth;
        if (wait && voxels > waitVoxels) {
          throw new LimitExceededError(
            `wait=1 is for volumes up to ${waitVoxels} voxels; this one has ${voxels}: drop wait=1 and follow the job`,
            { field: "wait", limit: waitVoxels },
          );
        }
        const job = queue.submit({
          bytes: input.bytes,
          run: (ctx) => holdModels(() => segment(input, m, p, root(), ctx.progress)),
          resultBytes: (r) => r.nifti.byteLength,
          meta: { model: m.card.name, shape: [ref.width, ref.height, ref.depth] },
        });
        if (wait) {
          const done = await queue.settled(job.id);
          queue.delete(job.id);
          if (done.state === "failed") throw done.cause;
          return resultAnswer(c, done, format);
        }
        c.header("location", `${JOBS}/${job.id}`);
        return c.json(jobView(queue.get(job.id), JOBS), 202);
      },
    )
    .openapi(
      route({
        method: "get",
        path: `${JOBS}/{id}`,
        operationId: "getVolumeJob",
        summary: "a volume job: Server-Sent Events of its progress ending with the result, or JSON",
        request: {
          params: jobParams,
          query: z.object({ format: formatQuery(["events", "json"]) }),
        },
        responses: {
          200: {
            description:
              "text/event-stream (default): events state, progress {stage, done, total}, then " +
              "result (the JSON numbers, components.schemas.VolumeNumbers) or error (why it " +
              "failed); JSON: the job's state",
            content: {
              "text/event-stream": { schema: { type: "string" } as const },
              "application/json": jsonContent(JobAnswer),
            },
          },
          ...problems(404),
        },
      }),
      (c) => {
        const id = c.req.param("id") ?? "";
        const job = queue.get(id);
        const f = c.req.valid("query").format;
        const accept = c.req.header("accept") ?? "";
        const json = f === "json" ||
          (f === undefined && accept.includes("application/json") &&
            !accept.includes("text/event-stream"));
        if (json) return c.json(jobView(job, JOBS));
        const after = Number(c.req.header("last-event-id") ?? -1);
        return streamSSE(c, async (stream) => {
          for await (const ev of queue.events(id)) {
            if (ev.seq <= after) continue;
            const { seq, type, at: _at, ...rest } = ev;
            if (type === "done") {
              const done = queue.get(id);
              await stream.writeSSE({
                id: String(seq),
                event: "result",
                data: JSON.stringify({
                  job: id,
                  links: jobView(done, JOBS).links,
                  ...done.result!.summary,
                }),
              });
            } else {
              await stream.writeSSE({
                id: String(seq),
                event: type === "failed" ? "error" : type,
                data: JSON.stringify(rest),
              });
            }
          }
        });
      },
    )
    .openapi(
      route({
        method: "get",
        path: `${JOBS}/{id}/result`,
        operationId: "getVolumeJobResult",
        summary: "a finished volume job's label volume (.nii.gz) or, format=json, its numbers",
        request: { params: jobParams, query: z.object({ format: formatQuery(["nifti", "json"]) }) },
        responses: {
          200: {
            description:
              "labels 0, 1, 2, 4 as NIfTI-1 .nii.gz in the input's geometry, or JSON: backend, " +
              "labels {voxels, ml}, dice (when seg was sent), parameters, timings",
            headers: {
              ...RESULT_HEADERS,
              "Content-Disposition": header("attachment; filename=<job>_seg.nii.gz (NIfTI)"),
            },
            content: {
              "application/gzip": BINARY,
              "application/json": jsonContent(VolumeNumbers),
            },
          },
          202: {
            description: "not finished yet: the job's state (Retry-After)",
            headers: { "Retry-After": header("seconds to wait", { type: "integer" }) },
            content: { "application/json": jsonContent(JobAnswer) },
          },
          ...problems(404, 415, 422, 503),
        },
      }),
      (c) => {
        const format = resultFormat(c, c.req.valid("query").format);
        const job = queue.get(c.req.param("id") ?? "");
        if (job.state === "failed") throw job.cause;
        if (job.state !== "done") {
          return c.json(jobView(job, JOBS), 202, { "retry-after": "2" });
        }
        return resultAnswer(c, job, format);
      },
    )
    .openapi(
      route({
        method: "delete",
        path: `${JOBS}/{id}`,
        operationId: "deleteVolumeJob",
        summary: "forget a finished or waiting job now (a running one finishes first)",
        request: { params: jobParams },
        responses: {
          200: {
            description: "{id, deleted: true}, or false while the job runs",
            content: {
              "application/json": jsonContent(
                z.strictObject({ id: z.string(), deleted: z.boolean() }),
              ),
            },
          },
          ...problems(404),
        },
      }),
      (c) => {
        const id = c.req.param("id") ?? "";
        queue.get(id);
        return c.json({ id, deleted: queue.delete(id) });
      },
    );
}

/** The volume routes of this process. */
export const volumeRoutes: OpenAPIHono<AppEnv> = createVolumeRoutes();

/** The volume function alone: `deno run -A functions/volume.ts` (the GPU origin). */
export const app = createApp({ bodyLimits: volumeBodyLimits, title: "medimg-edge volume" })
  .route("/", volumeRoutes);

/**
 * On the origin: WebGPU when this machine has a hardware GPU adapter and MEDIMG_BACKEND is not set
 * (a software adapter such as Mesa's llvmpipe only with MEDIMG_WEBGPU_ALLOW_FALLBACK=1, as
 * lib/models/backend.ts), else what MEDIMG_BACKEND says (wasm by default). Logs the choice.
 */
async function preferGpu(): Promise<void> {
  if (env("MEDIMG_BACKEND")) return;
  type Adapter = { info?: { isFallbackAdapter?: boolean; description?: string } };
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const software = adapter?.info?.isFallbackAdapter === true;
  const use = adapter !== null && (!software || env("MEDIMG_WEBGPU_ALLOW_FALLBACK") !== undefined);
  if (use) Deno.env.set("MEDIMG_BACKEND", "webgpu");
  console.log(
    `volume: tfjs backend ${
      use
        ? `webgpu (${adapter?.info?.description || "GPU adapter"})`
        : `wasm (${adapter ? "only a software GPU adapter" : "no GPU adapter"})`
    }`,
  );
}

if (import.meta.main) {
  await preferGpu();
  serve(app);
}
