/**
 * The volume function's OpenAPI declarations: its query, its answers (VolumeJob, VolumeNumbers) and
 * its four routes, declared once (documented and validated by the routes in ../volume.ts).
 */
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
  problems,
  route,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";

/** The model used when the request names none (MEDIMG_VOLUME_MODEL overrides it). */
export const DEFAULT_VOLUME_MODEL = "brats-demo";

/** The form's file fields: the four modalities, then the optional ground truth. */
export const FILE_FIELDS = [...BRATS_MODALITIES, "seg"] as const;

/** Where the jobs are. */
export const JOBS = "/segment/volume/jobs";

const BLENDS = ["gaussian", "linear", "constant"] as const;

/** The query of POST /segment/volume, declared once: documented and validated by the route. */
export const volumeQuery = z.object({
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

const int = z.number().int(), num = z.number();
/** A job as jobView shows it (components.schemas.VolumeJob). */
export const JobAnswer = z.strictObject({
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

const jobParams = z.object({ id: z.string().openapi({ description: "job id from the POST" }) });

/** POST /segment/volume. */
export const postVolume = route({
  method: "post",
  path: "/segment/volume",
  operationId: "segmentVolume",
  summary: "3D BraTS segmentation of FLAIR, T1, T1CE, T2 (a job, or ?wait=1 for small volumes)",
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
});

/** GET /segment/volume/jobs/{id}. */
export const getJob = route({
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
});

/** GET /segment/volume/jobs/{id}/result. */
export const getJobResult = route({
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
});

/** DELETE /segment/volume/jobs/{id}. */
export const deleteJob = route({
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
});
