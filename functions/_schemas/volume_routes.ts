/**
 * The volume function's four routes as OpenAPI declares them (documented and validated by the
 * handlers in ../volume.ts).
 */
import {
  BINARY,
  filePart,
  formatQuery,
  header,
  jsonContent,
  problems,
  route,
  z,
} from "../../lib/http/openapi.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { FILE_FIELDS, JobAnswer, JOBS, VolumeNumbers, volumeQuery } from "./volume.ts";

/** A finished job's answer: its headers, and the label volume (.nii.gz) or the numbers (JSON). */
const labelsOrNumbers = () => ({
  headers: {
    "X-Backend": header("tfjs backend that ran the model"),
    "X-Job": header("the job's id"),
    "Content-Disposition": header("attachment; filename=<job>_seg.nii.gz (NIfTI)"),
  },
  content: {
    "application/gzip": BINARY,
    "application/json": jsonContent(VolumeNumbers),
  },
});

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
      ...labelsOrNumbers(),
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
      ...labelsOrNumbers(),
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
