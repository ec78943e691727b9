/**
 * The OpenAPI declaration of the slice function's routes (functions/slice.ts): the query, declared
 * once (documented by the route and validated before the handler reads it), the request bodies and
 * the answers, field by field. Kept apart so that the handler reads as
 * query -> decode -> lib/pipelines/slice -> answer.
 */
import { BadInputError } from "../../lib/errors.ts";
import type { ModelCard } from "../../lib/models/card.ts";
import {
  BINARY,
  binaryContent,
  body,
  enumQuery,
  filePart,
  flagQuery,
  formatQuery,
  formContent,
  header,
  IMAGE_TYPES,
  intQuery,
  jsonContent,
  MODEL_HEADERS,
  numberQuery as numberQueryDoc,
  problems,
  RAW_HEADERS,
  route,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";
import { PostprocessAnswer, postprocessQuery, TtaAnswer } from "./postprocess.ts";

const FITS = ["auto", "resize", "tile", "pad"] as const;

/**
 * The query of /segment/slice, declared once: documented by the route and validated before the
 * handler reads it. Card preprocess params of the same name are read apart (they vary by model).
 */
export const sliceQuery = z.object({
  model: textQuery("name of an installed model (required; GET /models)", "fundus-vessels"),
  format: formatQuery(["png", "json", "text", "raw", "seg"]),
  bits: enumQuery(
    ["1", "8", "16"],
    "bit depth (default 8). Mask PNG: 8 (0/255) or 1 (0/1); format=raw mask bytes 0/255 or " +
      "0/1 likewise. Probability PNG (probs=1): 8 (round(p*255)) or 16 (round(p*65535)), " +
      "p clamped to 0..1",
  ),
  probs: flagQuery(
    "on: the foreground probability: a grey PNG (8-bit, or 16-bit with bits=16), or with " +
      "format=raw the model's values unrounded as little-endian float32 (X-Image-Dtype float32)",
  ),
  overlay: flagQuery("on: the mask in red over the preprocessed image (RGB PNG)"),
  deidentify: flagQuery(
    "on: the DICOM SEG (format=seg only; a 400 otherwise) gets new patient and study identity " +
      "(PS3.15 Basic Profile, UIDs keyed by MEDIMG_DEID_KEY) instead of the source image's",
  ),
  rle: enumQuery(
    ["siim", "kaggle", "coco"],
    "RLE dialect of the answer (format=text, or in JSON); default the ground truth's",
  ),
  order: enumQuery(["column", "row"], "pixel order RLE runs count in (default column)"),
  threshold: numberQueryDoc(
    "threshold",
    "probability threshold in [0, 1] (default the card's)",
    0.5,
    { min: 0, max: 1 },
  ),
  fit: enumQuery(FITS, "how the image meets the model's input (default auto: the card decides)"),
  batch: intQuery("batch", "tiles per forward pass (default 4)", 4, { min: 1, max: 64 }),
  overlap: intQuery("overlap", "tile overlap in pixels (default the card's)", 32, { min: 0 }),
  ...postprocessQuery("mm² (pixels when the image has no pixel spacing)"),
});

const int = z.number().int(), num = z.number();
const pair = z.tuple([int, int]);
const RleValue = z.union([
  z.string(),
  z.strictObject({ size: pair, counts: z.union([z.string(), z.array(int)]) }),
]);
/** Seed 004's metrics (lib/image/metrics.ts SegmentationMetrics), with a ground truth. */
const SegmentationMetrics = z.strictObject({
  tp: int,
  fp: int,
  fn: int,
  tn: int,
  pixels: int.describe("pixels scored: inside the field of view when one was sent"),
  iou_per_class: z.strictObject({ background: num, foreground: num }).describe(
    "IoU of each class (1 for a class absent from both mask and truth)",
  ),
  miou: num.describe("mean of the per-class IoU (PaddleSeg's mIoU)"),
  accuracy: num,
  sensitivity: num.nullable().describe("tp / (tp + fn); null without a foreground truth pixel"),
  specificity: num.nullable().describe("tn / (tn + fp); null without a background truth pixel"),
  kappa: num.describe("Cohen's kappa (1 when mask and truth agree on every pixel)"),
  auc: num.nullable().optional().describe(
    "ROC AUC of the foreground probabilities, ties counting one half (sklearn's roc_auc_score); " +
      "null unless the truth has both classes",
  ),
}).openapi("SegmentationMetrics");
/** The JSON answer of /segment/slice, field by field as functions/slice.ts makes it. */
const SliceAnswer = z.strictObject({
  model: z.strictObject({
    name: z.string(),
    version: z.string(),
    backend: z.string().describe("tfjs backend: wasm, cpu or webgpu"),
    loaded_now: z.boolean().describe("false when the model was already in memory"),
    load_ms: z.strictObject({ read: num, warmup: num }).describe(
      "reading the artifacts and the warm-up pass, when it was loaded",
    ),
  }),
  input: z.strictObject({
    format: z.enum(["dicom", "png", "jpeg", "tiff", "gif"]),
    width: int,
    height: int,
    channels: int,
    spacing: z.tuple([num, num]).nullable().describe("[row, column] mm per pixel, from DICOM"),
  }),
  preprocess: z.strictObject({
    preset: z.string(),
    params: z.record(z.string(), z.unknown()).describe("the card's, with query overrides"),
  }),
  fit: z.strictObject({
    fit: z.enum(["resize", "tile", "pad"]),
    size: pair.describe("[height, width] the model ran at"),
    overlap: int,
    runAt: pair.describe("the image was resized to this first (fit resize)"),
    tiles: int,
    batch: int,
    passes: int.describe("forward passes run"),
  }),
  threshold: num,
  postprocess: PostprocessAnswer.describe(
    "the postprocessing of the mask (probabilities as inferred)",
  ),
  tta: TtaAnswer,
  area: z.strictObject({ pixels: int, mm2: num.nullable() }),
  bbox: z.strictObject({ x: int, y: int, width: int, height: int }).nullable(),
  fov_pixels: int.optional().describe("pixels inside the field-of-view mask, when one was sent"),
  ground_truth: z.strictObject({
    dice: num,
    iou: num,
    intersection: int,
    truth_area: int,
  }).optional().describe("when a ground truth (mask or rle) was sent"),
  metrics: SegmentationMetrics.optional().describe(
    "seed 004's metrics and more, inside the field of view when one was sent; with a ground truth",
  ),
  rle: z.strictObject({
    dialect: z.enum(["siim", "kaggle", "coco"]),
    order: z.enum(["column", "row"]),
    value: RleValue,
  }).optional().describe("the mask as RLE, with ?rle= or a ground truth"),
  timings_ms: z.record(z.string(), num),
});
/** A model card as GET /models lists it (lib/models/card.ts; replay samples left out). */
const ListedCard = z.looseObject({
  name: z.string(),
  version: z.string(),
  task: z.enum(["segmentation", "classification"]),
  format: z.enum(["layers", "graph"]),
  inputs: z.array(z.looseObject({ name: z.string(), shape: z.array(int.nullable()) })),
  output: z.looseObject({ activation: z.enum(["sigmoid", "softmax", "linear"]) }),
  replay: z.strictObject({
    inputs: z.array(z.strictObject({ shape: z.array(int) })),
    output: z.strictObject({ shape: z.array(int) }),
    tolerance: num,
  }).optional(),
});
const ModelsAnswer = z.strictObject({
  models: z.array(z.union([
    z.strictObject({ name: z.string(), card: ListedCard }),
    z.strictObject({ name: z.string(), error: z.string().describe("why it cannot be used") }),
  ])),
});
const SLICE_HEADERS = {
  ...MODEL_HEADERS,
  "X-Image-Width": header("columns of the image (and of the mask)", { type: "integer" }),
  "X-Image-Height": header("rows of the image (and of the mask)", { type: "integer" }),
};

/** GET /models. */
export const modelsRoute = route({
  method: "get",
  path: "/models",
  operationId: "listModels",
  summary: "installed models (folders of MEDIMG_MODELS_DIR, default models/) with their cards",
  responses: {
    200: {
      description: "{models: [{name, card} | {name, error}]}; replay samples left out",
      content: { "application/json": jsonContent(ModelsAnswer) },
    },
    ...problems(),
  },
});

/** POST /segment/slice. */
export const sliceRoute = route({
  method: "post",
  path: "/segment/slice",
  operationId: "segmentSlice",
  summary: "2D segmentation of one slice or photo with an installed model",
  request: {
    query: sliceQuery,
    body: body(
      "the image (DICOM, PNG, JPEG, TIFF or GIF, recognised by its bytes), or a form with `image`, " +
        "and optionally the " +
        "ground truth as `mask` (an image of any of those formats; any non-zero colour is mask) " +
        "or `rle` (+ `dialect`), and a field-of-view " +
        "mask `fov` outside which nothing is foreground or scored. Query parameters named " +
        "as the card's preprocess params override them.",
      {
        ...formContent(
          {
            image: filePart("the image (DICOM, PNG, JPEG, TIFF or GIF)"),
            mask: filePart(
              "ground truth as a mask image of the image's size (any non-zero colour is mask)",
            ),
            fov: filePart(
              "field-of-view mask of the image's size (DRIVE's *_mask.gif): nothing outside " +
                "it is foreground or scored",
            ),
            rle: {
              type: "string",
              description: "ground truth as an RLE instead of `mask` (COCO: JSON)",
              example: "",
            },
            dialect: {
              type: "string",
              enum: ["siim", "kaggle", "coco"],
              description: "dialect of `rle` (default siim)",
            },
          },
          ["image"],
          { image: IMAGE_TYPES, mask: IMAGE_TYPES, fov: IMAGE_TYPES },
        ),
        ...binaryContent(IMAGE_TYPES),
      },
    ),
  },
  responses: {
    200: {
      description:
        "mask PNG, probability or overlay PNG, RLE text, or JSON: model, input, preprocess, " +
        "fit, threshold, area (pixels, mm2), bbox, ground_truth (dice, iou), metrics, rle, timings_ms; " +
        "or format=raw: row-major samples with X-Image-Width/-Height/-Channels/-Dtype (the " +
        "mask as uint8, probs=1 as float32 little-endian, overlay=1 as RGB uint8); or format=seg " +
        "(a single-frame DICOM image only, else 415): a DICOM SEG of the mask referencing it, " +
        "one segment with the generic SNOMED code Tissue",
      headers: { ...SLICE_HEADERS, ...RAW_HEADERS },
      content: {
        "image/png": BINARY,
        "application/octet-stream": BINARY,
        "application/json": jsonContent(SliceAnswer),
        "text/plain": { schema: { type: "string" } as const },
        "application/dicom": BINARY,
      },
    },
    ...problems(404, 415, 422, 503),
  },
});

/**
 * What zod cannot say of the query: 16 bits is a depth of the probability PNG, 1 bit only of the
 * 0/1 mask.
 */
export function checkBits(q: { bits?: string; probs?: boolean }): void {
  const bits = q.bits ?? "8", probs = q.probs === true;
  if (bits === "16" && !probs) {
    throw new BadInputError("bits=16 is for the probability map: add probs=1", { field: "bits" });
  }
  if (bits === "1" && probs) {
    throw new BadInputError("bits=1 is for the mask; the probability map is 8 or 16 bits", {
      field: "bits",
    });
  }
}

/** A card as GET /models lists it: the replay pair's samples left out (they can be large). */
export function listedCard(card: ModelCard): Record<string, unknown> {
  const { replay, ...rest } = card;
  if (!replay) return rest;
  const { inputs, output, tolerance } = replay;
  const shapes = {
    inputs: inputs.map((i) => ({ shape: i.shape })),
    output: { shape: output.shape },
  };
  return { ...rest, replay: { ...shapes, tolerance } };
}
