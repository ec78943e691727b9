/**
 * The OpenAPI declaration of the series function (functions/series.ts): its query, declared once
 * (documented by the route and validated before the handler reads it), the request body and the
 * answers, field by field.
 */
import {
  BINARY,
  body,
  enumQuery,
  fileParts,
  flagQuery,
  formatQuery,
  formContent,
  header,
  jsonContent,
  MODEL_HEADERS,
  numberQuery,
  problems,
  route,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";
import { JobAnswer } from "./volume.ts";
import { PostprocessAnswer, postprocessQuery, TtaAnswer } from "./postprocess.ts";

/** The query of /segment/series. */
export const seriesQuery = z.object({
  model: textQuery("name of an installed 2D segmentation model (required; GET /models)"),
  format: enumQuery(
    ["json", "nifti", "seg"],
    "answer format (default json): json (mL per label, area per slice), nifti (.nii.gz label " +
      "volume with the series' affine) or seg (DICOM SEG referencing the instances)",
  ),
  threshold: numberQuery("threshold", "probability threshold in [0, 1] (default the card's)", 0.5, {
    min: 0,
    max: 1,
  }),
  study: textQuery(
    "StudyInstanceUID of a series to pull by WADO-RS from the PACS the deployment names " +
      "(MEDIMG_DICOMWEB_URL), with `series`, instead of sending the instances (no body then). " +
      "A UID only: digits and dots, at most 64 characters; a URL or path is a 400",
    "1.2.826.0.1.3680043.2.1125.1",
  ),
  series: textQuery(
    "SeriesInstanceUID of that series (with `study`)",
    "1.2.826.0.1.3680043.2.1125.2",
  ),
  store: flagQuery(
    "on (with study and series): write the SEG and store it in the PACS by STOW-RS; the answer is " +
      "then JSON: the numbers and `stored` (the SEG's study, series and SOP instance UIDs)",
  ),
  deidentify: flagQuery(
    "on: the DICOM SEG (format=seg, or the one store=1 writes; a 400 otherwise) gets new patient " +
      "and study identity (PS3.15 Basic Profile, UIDs keyed by MEDIMG_DEID_KEY) instead of the series'",
  ),
  job: flagQuery(
    "on: answer 202 with a job (GET /segment/series/jobs/{id} streams per-slice progress; /result " +
      "is the answer this request would have had); for series over the request's time budget, " +
      "which are otherwise a 503",
  ),
  ...postprocessQuery("mL (3D, over the series' label volume)"),
});

/** Where the series jobs are. */
export const SERIES_JOBS = "/segment/series/jobs";

const int = z.number().int(), num = z.number();
/** The JSON answer of /segment/series, field by field as functions/series.ts makes it. */
const SeriesAnswer = z.strictObject({
  model: z.strictObject({ name: z.string(), version: z.string() }),
  series: z.strictObject({
    series_instance_uid: z.string().nullable(),
    width: int,
    height: int,
    slices: int,
    spacing: z.tuple([num, num, num]).describe("[x, y, z] mm per voxel"),
    ordering: z.enum(["position", "instance-number"]),
  }),
  volumes: z.record(z.string(), z.strictObject({ voxels: int, ml: num })).describe(
    "per non-zero label: voxels and mL (voxels x the voxel's mm³ / 1000)",
  ),
  slices: z.array(z.strictObject({ z: int, pixels: int, mm2: num })).describe(
    "foreground per slice, in z order",
  ),
  passes: int.describe("forward passes run over all slices"),
  postprocess: PostprocessAnswer.optional(),
  tta: TtaAnswer.optional(),
  ground_truth: z.strictObject({
    dice: num,
    iou: num,
    intersection: int,
    truth_area: int,
    labels: z.record(
      z.string(),
      z.strictObject({
        dice: num,
        iou: num,
        intersection: int,
        truth_area: int,
        voxels: int,
        hd95_mm: num.nullable().describe(
          "95th-percentile Hausdorff distance in mm from the voxel spacing (MONAI's convention, " +
            "as RegionScores); 0 when both are empty, null when only one is",
        ),
      }),
    ).describe(
      "per label value present in the answer or the truth: that label against the truth's voxels " +
        "of it (a truth with one non-zero value, a binary mask, stands for label 1)",
    ),
  }).optional().describe(
    "when `truth` parts were sent: the foreground (any label) against the truth's non-zero " +
      "voxels, and per label",
  ),
  stored: z.strictObject({
    study_instance_uid: z.string(),
    series_instance_uid: z.string(),
    sop_instance_uid: z.string(),
    sop_class_uid: z.string(),
  }).optional().describe("with store=1: the SEG as stored in the PACS by STOW-RS"),
  timings_ms: z.record(z.string(), num),
  job: z.string().optional().describe("in a job's result event only: the job's id"),
  links: z.strictObject({ self: z.string(), events: z.string(), result: z.string() }).optional()
    .describe("in a job's result event only"),
}).openapi("SeriesNumbers");

/** The answer of a series: JSON numbers, NIfTI or DICOM SEG. */
const answerContent = () => ({
  "application/json": jsonContent(SeriesAnswer),
  "application/gzip": BINARY,
  "application/dicom": BINARY,
});

/** A series job as functions/_jobs.ts jobView shows it. */
const SeriesJob = JobAnswer.openapi("SeriesJob");

/** POST /segment/series. */
export const seriesRoute = route({
  method: "post",
  path: "/segment/series",
  operationId: "segmentSeries",
  summary: "2D segmentation of every slice of a DICOM series with an installed model",
  request: {
    query: seriesQuery,
    body: {
      ...body(
        "the series (none when `study` and `series` name it in the PACS): a form with one `instance` file part per DICOM instance (repeated), or a zip " +
          "(application/zip) of a folder of DICOM files (non-DICOM entries are skipped). All " +
          "instances must be one series (same SeriesInstanceUID, size and orientation, even gaps); " +
          "otherwise 422 naming the stray instance.",
        {
          ...formContent({
            instance: fileParts("one DICOM instance of the series (repeat), or a zip of them"),
            truth: fileParts(
              "optional ground truth: one DICOM mask instance per slice (repeat), or a zip of them, " +
                "or one NIfTI (.nii/.nii.gz) on the series' grid (its dims, voxels in the order of " +
                "the NIfTI format=nifti answers; else 422); non-zero is foreground. JSON answers " +
                "then carry dice/IoU",
            ),
          }, ["instance"]),
          "application/zip": BINARY,
        },
      ),
      required: false,
    },
  },
  responses: {
    200: {
      description: "the label volume: JSON numbers, NIfTI (.nii.gz) or DICOM SEG",
      headers: MODEL_HEADERS,
      content: answerContent(),
    },
    202: {
      description: "with job=1: the job ({id, state, links}; Location header)",
      headers: { Location: header("the job's URL (GET it for events or JSON)") },
      content: { "application/json": jsonContent(SeriesJob) },
    },
    ...problems(404, 415, 422, 502, 503),
  },
});

const jobParams = z.object({ id: z.string().openapi({ description: "job id from the POST" }) });

/** GET /segment/series/jobs/{id}. */
export const getSeriesJob = route({
  method: "get",
  path: `${SERIES_JOBS}/{id}`,
  operationId: "getSeriesJob",
  summary: "a series job: Server-Sent Events of its progress ending with the result, or JSON",
  request: { params: jobParams, query: z.object({ format: formatQuery(["events", "json"]) }) },
  responses: {
    200: {
      description: "text/event-stream (default): events state, progress {stage: infer, done, " +
        "total} once per slice, then result (components.schemas.SeriesNumbers) or error; JSON: " +
        "the job's state",
      content: {
        "text/event-stream": { schema: { type: "string" } as const },
        "application/json": jsonContent(SeriesJob),
      },
    },
    ...problems(404),
  },
});

/** GET /segment/series/jobs/{id}/result. */
export const getSeriesJobResult = route({
  method: "get",
  path: `${SERIES_JOBS}/{id}/result`,
  operationId: "getSeriesJobResult",
  summary:
    "a finished series job's answer: the file the POST asked for, or format=json its numbers",
  request: { params: jobParams, query: z.object({ format: formatQuery(["file", "json"]) }) },
  responses: {
    200: {
      description: "what the POST would have answered (NIfTI, DICOM SEG or JSON); format=json " +
        "(or Accept: application/json) the numbers",
      headers: { ...MODEL_HEADERS, "X-Job": header("the job's id") },
      content: answerContent(),
    },
    202: {
      description: "not finished yet: the job's state (Retry-After)",
      headers: { "Retry-After": header("seconds to wait", { type: "integer" }) },
      content: { "application/json": jsonContent(SeriesJob) },
    },
    ...problems(404, 422, 502, 503),
  },
});

/** DELETE /segment/series/jobs/{id}. */
export const deleteSeriesJob = route({
  method: "delete",
  path: `${SERIES_JOBS}/{id}`,
  operationId: "deleteSeriesJob",
  summary: "forget a finished or waiting series job now (a running one finishes first)",
  request: { params: jobParams },
  responses: {
    200: {
      description: "{id, deleted: true}, or false while the job runs",
      content: {
        "application/json": jsonContent(z.strictObject({ id: z.string(), deleted: z.boolean() })),
      },
    },
    ...problems(404),
  },
});
