/**
 * The cxr route's declarations (query parameters, the three body forms, the answer, headers): the
 * one zod description of /cxr/classify that validates requests and documents them in OpenAPI;
 * functions/cxr.ts holds the handler. And the JSON answer made from lib's classification, field by
 * field as ClassifyAnswer declares it.
 */
import type { DecodedImage } from "../../lib/decode/mod.ts";
import type { LoadedModel } from "../../lib/models/load.ts";
import type { CxrAnswer } from "../../lib/pipelines/cxr.ts";
import { ageBucketName, FEATURE_NAMES } from "../../lib/pipelines/cxr_meta.ts";
import {
  BINARY,
  binaryContent,
  body,
  caselessEnum,
  filePart,
  flagQuery,
  formatQuery,
  formContent,
  header,
  IMAGE_TYPES,
  jsonContent,
  MODEL_HEADERS,
  problems,
  route,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";

/** The query parameters (form fields and JSON members of the same names follow them). */
export const cxrQuery = z.object({
  format: formatQuery(["json", "png"]),
  heatmap: flagQuery("on: add a Grad-CAM saliency map (PNG) to the answer"),
  age: textQuery("years, or a DICOM age string (058Y, 006M, 003W, 010D)", "058Y"),
  sex: caselessEnum("sex", ["M", "F", "O"], "PatientSex (reported; not a model feature)"),
  view: caselessEnum("view", ["PA", "AP"], "ViewPosition: PA or AP"),
  spacing: textQuery("pixel spacing in mm: one number, or row,column", "0.168"),
});
const int = z.number().int(), num = z.number();
const FieldSource = z.strictObject({
  value: z.string().nullable(),
  source: z.enum(["request", "dicom", "missing"]),
});
/** The JSON answer of /cxr/classify, field by field as classify makes it. */
const ClassifyAnswer = z.strictObject({
  probability: num.describe("of lung opacity / pneumonia, 0-1"),
  label: z.string().describe("the card's class for the probability over the threshold or not"),
  positive: z.boolean(),
  threshold: num,
  model: z.strictObject({
    name: z.string(),
    version: z.string(),
    backend: z.string(),
    loaded_now: z.boolean(),
    not_for: z.string(),
  }),
  features: z.strictObject({
    names: z.array(z.string()),
    vector: z.array(num).describe("the metadata features the model took, in names' order"),
    age_years: num.nullable(),
    age_bucket: z.string().nullable(),
    view: z.enum(["PA", "AP"]).nullable(),
    sex: z.enum(["M", "F", "O"]).nullable(),
  }),
  metadata: z.strictObject({
    age: FieldSource,
    sex: FieldSource,
    view: FieldSource,
    spacing: FieldSource,
  }).describe("each field's value and where it came from"),
  assumed: z.array(z.string()).describe("what was missing and what was used instead"),
  input: z.strictObject({
    format: z.enum(["dicom", "png", "jpeg", "tiff", "gif"]),
    width: int,
    height: int,
    channels: int,
  }),
  preprocess: z.strictObject({
    spacing_mm: z.tuple([num, num]),
    spacing_assumed: z.boolean(),
    resampled: z.tuple([int, int]),
    grey8: z.string().nullable().describe("what was done to reach 8-bit grey, if anything"),
    params: z.record(z.string(), num),
  }),
  heatmap: z.strictObject({
    method: z.literal("grad-cam"),
    layer: z.string(),
    grid: z.tuple([int, int]),
    image: z.string(),
    png_base64: z.string().describe("the overlay PNG"),
  }).optional().describe("with heatmap=1"),
  warnings: z.array(z.string()).describe(
    "what may make the answer mislead (e.g. an implausible spacing)",
  ),
  timings_ms: z.record(z.string(), num),
});
// Empty examples: Swagger UI would otherwise fill "string" in and send it.
const metaFields = {
  age: {
    type: "string",
    description: "years, or a DICOM age string (058Y, 006M, 003W, 010D)",
    example: "",
  },
  sex: { type: "string", enum: ["M", "F", "O"], description: "PatientSex (reported only)" },
  view: { type: "string", enum: ["PA", "AP"], description: "ViewPosition" },
  spacing: {
    type: "string",
    description: "pixel spacing in mm: one number, or row,column",
    example: "",
  },
};

/** POST /cxr/classify. */
export const classifyRoute = route({
  method: "post",
  path: "/cxr/classify",
  operationId: "cxrClassify",
  summary: "pneumonia / lung opacity probability of a frontal chest X-ray (not for clinical use)",
  request: {
    query: cxrQuery,
    body: body(
      "a DICOM (age, sex, view and spacing read from it), or a PNG, JPEG, TIFF or GIF " +
        "(recognised by its bytes); metadata fields as query " +
        "parameters, form fields beside `image`, or JSON members beside `image` (base64) override " +
        "the DICOM's",
      {
        ...formContent(
          { image: filePart("the film: DICOM, PNG, JPEG, TIFF or GIF"), ...metaFields },
          ["image"],
          { image: IMAGE_TYPES },
        ),
        ...binaryContent(IMAGE_TYPES),
        "application/json": {
          schema: {
            type: "object",
            required: ["image"],
            properties: {
              image: {
                type: "string",
                contentEncoding: "base64",
                description: "the film (DICOM, PNG, JPEG, TIFF or GIF), base64",
              },
              ...metaFields,
              age: { type: ["string", "number"], description: metaFields.age.description },
              spacing: {
                oneOf: [{ type: "string" }, { type: "number" }, {
                  type: "array",
                  items: { type: "number" },
                }],
                description: metaFields.spacing.description,
              },
            },
          },
        },
      },
    ),
  },
  responses: {
    200: {
      description:
        "JSON: probability, label, threshold, model, features, metadata (value and source of each " +
        "field), assumed (what was missing and what was used instead), preprocess, heatmap, " +
        "warnings (e.g. a spacing that makes the film no plausible chest), timings_ms; or " +
        "(format=png) the Grad-CAM overlay, warnings in X-Warning",
      headers: {
        ...MODEL_HEADERS,
        "X-Cxr-Probability": header("the probability, 6 decimals", { type: "number" }),
        "X-Cxr-Label": header("the label"),
        "X-Warning": header("the answer's warnings joined by '; ', when it has any"),
      },
      content: {
        "application/json": jsonContent(ClassifyAnswer),
        "image/png": BINARY,
      },
    },
    ...problems(404, 415, 422, 503),
  },
});

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * The JSON answer of /cxr/classify from lib's classification of the decoded film (`png`: the
 * Grad-CAM overlay's PNG when one was made; `timings`: the run's, rounded).
 */
export function classifyAnswer(
  r: CxrAnswer,
  loaded: Pick<LoadedModel, "card" | "backend"> & { cached: boolean },
  film: DecodedImage,
  png: Uint8Array | undefined,
  timings: Record<string, number>,
): z.infer<typeof ClassifyAnswer> {
  const pre = r.preprocessed, { image } = film;
  return {
    probability: r.probability,
    label: r.label,
    positive: r.positive,
    threshold: r.threshold,
    model: {
      name: loaded.card.name,
      version: loaded.card.version,
      backend: loaded.backend.name,
      loaded_now: !loaded.cached,
      not_for: loaded.card.not_for ?? "clinical use",
    },
    features: {
      names: [...FEATURE_NAMES],
      vector: Array.from(r.features.vector),
      age_years: r.features.age?.years ?? null,
      age_bucket: r.features.age ? ageBucketName(r.features.age.bucket) : null,
      view: r.features.view,
      sex: r.features.sex,
    },
    metadata: r.metadata,
    assumed: r.assumed,
    warnings: r.warnings,
    input: {
      format: film.format,
      width: image.width,
      height: image.height,
      channels: image.channels,
    },
    preprocess: {
      spacing_mm: pre.spacing,
      spacing_assumed: pre.spacingAssumed,
      resampled: pre.resampled,
      grey8: pre.grey8,
      params: { ...pre.params },
    },
    ...(r.heatmap && png
      ? {
        heatmap: {
          method: r.heatmap.method,
          layer: r.heatmap.layer,
          grid: [r.heatmap.grid.width, r.heatmap.grid.height] as [number, number],
          image: "the 224 x 224 model input with the map blended over it (RGB PNG)",
          png_base64: base64(png),
        },
      }
      : {}),
    timings_ms: timings,
  };
}
