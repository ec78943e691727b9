/**
 * The volume function's four routes as OpenAPI declares them (documented and validated by the
 * handlers in ../volume.ts).
 */
import {
  BINARY,
  filePart,
  fileParts,
  formatQuery,
  header,
  jsonContent,
  problems,
  route,
  z,
} from "../../lib/http/openapi.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import {
  FILE_FIELDS,
  IMAGE_FIELD,
  JobAnswer,
  JOBS,
  RESULT_FORMATS,
  VolumeNumbers,
  volumeQuery,
} from "./volume.ts";

/**
 * A finished job's answer: its headers, and the label volume (.nii.gz; the probabilities with
 * probs=1), the numbers (JSON) or the DICOM SEG.
 */
const labelsOrNumbers = () => ({
  headers: {
    "X-Backend": header("tfjs backend that ran the model"),
    "X-Job": header("the job's id"),
    "Content-Disposition": header(
      "attachment; filename=<job>_seg.nii.gz (NIfTI labels), <job>_probs.nii.gz (probs=1), " +
        "<job>_seg.dcm (format=seg)",
    ),
  },
  content: {
    "application/gzip": BINARY,
    "application/json": jsonContent(VolumeNumbers),
    "application/dicom": BINARY,
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
      description: "multipart form: flair, t1, t1ce, t2, each one NIfTI (.nii or .nii.gz) or a " +
        "DICOM series (the field repeated once per instance, or a zip of the instances), all on " +
        "one grid and affine; or instead image, the four as one 4D NIfTI (flair, t1, t1ce, t2 " +
        "along the 4th axis); optionally seg (ground truth, NIfTI) for dice",
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            properties: {
              ...Object.fromEntries(
                FILE_FIELDS.map((f) => [
                  f,
                  f === "seg"
                    ? filePart("ground-truth labels (0, 1, 2, 4) on the same grid, for dice")
                    : fileParts(
                      `the ${f.toUpperCase()} volume: one NIfTI-1 (.nii or .nii.gz), or the ` +
                        "DICOM instances of its series (one part each) or a zip of them; " +
                        "required unless image is sent",
                    ),
                ]),
              ),
              [IMAGE_FIELD]: filePart(
                `all modalities as one 4D NIfTI-1, the 4th axis ${BRATS_MODALITIES.join(", ")}`,
              ),
            },
          } as const,
          encoding: Object.fromEntries(
            [...FILE_FIELDS, IMAGE_FIELD].map((f) => [f, {
              contentType: "application/gzip, application/octet-stream, application/dicom, " +
                "application/zip",
            }]),
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
      description: "with wait=1: the label volume (.nii.gz; with probs=1 the probabilities), " +
        "format=json the numbers, or format=seg (DICOM input) a DICOM SEG of the labels over " +
        "the T1CE series (else the first modality sent as DICOM)",
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
  request: { params: jobParams, query: z.object({ format: formatQuery(RESULT_FORMATS) }) },
  responses: {
    200: {
      description:
        "labels 0, 1, 2, 4 as NIfTI-1 .nii.gz in the input's geometry (with probs=1: float32 " +
        "probabilities, one volume per label), or JSON: backend, labels {voxels, ml}, dice (when " +
        "seg was sent), parameters, timings; or format=seg (DICOM input): a BINARY DICOM SEG " +
        "over the T1CE series (else the first modality sent as DICOM)",
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
