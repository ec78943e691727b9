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
  formContent,
  jsonContent,
  MODEL_HEADERS,
  numberQuery,
  problems,
  route,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";

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
});

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
  ground_truth: z.strictObject({ dice: num, iou: num, intersection: int, truth_area: int })
    .optional().describe(
      "when `truth` parts were sent: the foreground (any label) against the truth's non-zero voxels",
    ),
  timings_ms: z.record(z.string(), num),
});

/** POST /segment/series. */
export const seriesRoute = route({
  method: "post",
  path: "/segment/series",
  operationId: "segmentSeries",
  summary: "2D segmentation of every slice of a DICOM series with an installed model",
  request: {
    query: seriesQuery,
    body: body(
      "the series: a form with one `instance` file part per DICOM instance (repeated), or a zip " +
        "(application/zip) of a folder of DICOM files (non-DICOM entries are skipped). All " +
        "instances must be one series (same SeriesInstanceUID, size and orientation, even gaps); " +
        "otherwise 422 naming the stray instance.",
      {
        ...formContent({
          instance: fileParts("one DICOM instance of the series (repeat), or a zip of them"),
          truth: fileParts(
            "optional ground truth: one DICOM mask instance per slice (repeat), or a zip of them; " +
              "non-zero is foreground. JSON answers then carry dice/IoU",
          ),
        }, ["instance"]),
        "application/zip": BINARY,
      },
    ),
  },
  responses: {
    200: {
      description: "the label volume: JSON numbers, NIfTI (.nii.gz) or DICOM SEG",
      headers: MODEL_HEADERS,
      content: {
        "application/json": jsonContent(SeriesAnswer),
        "application/gzip": BINARY,
        "application/dicom": BINARY,
      },
    },
    ...problems(404, 415, 422, 503),
  },
});
