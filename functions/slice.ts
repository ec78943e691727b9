/**
 * slice function: 2D segmentation of one slice or photo with an installed model
 * (`POST /segment/slice?model=<name>`) and the list of installed models (`GET /models`).
 * Preprocessing, input size, threshold and classes come from the model's card (lib/models).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import { BadInputError, InvalidInputError } from "../lib/errors.ts";
import {
  type AppEnv,
  concurrencyLimit,
  createApp,
  envInt,
  mediaType,
  negotiate,
  numberParam,
  readBytes,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { checkBudget } from "../lib/http/limits.ts";
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
  intQuery,
  jsonContent,
  MODEL_HEADERS,
  numberQuery as numberQueryDoc,
  openApiRoutes,
  problems,
  RAW_HEADERS,
  route,
  textQuery,
  validQuery,
  z,
} from "../lib/http/openapi.ts";
import { encodeImagePng, encodeMaskPng } from "../lib/image/png.ts";
import {
  type Dialect,
  formatRle,
  maskToRuns,
  parseDialect,
  parseOrder,
  parseRle,
  runsToMask,
} from "../lib/rle/mod.ts";
import { imageInput, type ModelCard } from "../lib/models/card.ts";
import {
  DEFAULT_MAX_PASS_PIXELS,
  type Fit,
  type Hwc,
  segmentImage,
  toMask,
} from "../lib/models/infer.ts";
import { decodeImage, DEFAULT_MAX_PIXELS, maskFromBytes } from "../lib/decode/mod.ts";
import { holdModels, loadModel } from "../lib/models/load.ts";
import { getPreset } from "../lib/models/presets.ts";
import { listModels } from "../lib/models/registry.ts";

/** Stage timings for both Server-Timing and the JSON answer. */
class Stages {
  readonly ms: Record<string, number> = {};
  constructor(private c: Context<AppEnv>) {}
  async run<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t0;
      this.ms[name] = Math.round(ms * 100) / 100;
      setMetric(this.c, name, ms);
      checkBudget(this.c, name);
    }
  }
}

/** The request's image and optional ground truth, from a raw body or a multipart form. */
async function readInputs(c: Context<AppEnv>): Promise<{
  image: Uint8Array;
  maskFile?: Uint8Array;
  fovFile?: Uint8Array;
  rle?: string;
  rleDialect?: string;
}> {
  if (mediaType(c) !== "multipart/form-data") return { image: await readBytes(c) };
  const form = await c.req.formData().catch((err) => {
    throw new BadInputError(`multipart body could not be read: ${err.message}`);
  });
  const file = async (name: string) => {
    const f = form.get(name);
    if (f === null) return undefined;
    if (!(f instanceof File)) throw new BadInputError(`${name} must be a file`, { field: name });
    return new Uint8Array(await f.arrayBuffer());
  };
  const image = await file("image");
  if (!image) throw new BadInputError("the form has no image field", { field: "image" });
  const rle = form.get("rle");
  const dialect = form.get("dialect");
  return {
    image,
    maskFile: await file("mask"),
    fovFile: await file("fov"),
    rle: typeof rle === "string" ? rle : undefined,
    rleDialect: typeof dialect === "string" ? dialect : undefined,
  };
}

/** Card preprocessing params, each overridable by a query parameter of the same name. */
function presetParams(c: Context<AppEnv>, card: ModelCard): Record<string, unknown> {
  const params: Record<string, unknown> = { ...(card.preprocess?.params ?? {}) };
  for (const [key, value] of Object.entries(params)) {
    const q = c.req.query(key);
    if (q === undefined) continue;
    params[key] = typeof value === "number" ? numberParam(q, key) : q;
  }
  if ((card.preprocess?.preset ?? "scale") === "scale") {
    params.channels ??= imageInput(card).order;
  }
  return params;
}

/** The foreground probability per pixel: p for one output, 1 - p(class 0) for several. */
function foreground(probs: Hwc): Float32Array {
  const n = probs.width * probs.height, k = probs.channels;
  if (k === 1) return probs.data;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 - probs.data[i * k];
  return out;
}

/** Float32 samples as little-endian bytes (a view where the platform is little-endian). */
function littleEndianFloat32(data: Float32Array): Uint8Array {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = new Uint8Array(data.length * 4), v = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) v.setFloat32(4 * i, data[i], true);
  return out;
}

/** The first preprocessed channel (or RGB) scaled min..max to 0..255, with the mask in red. */
function overlay(x: { tensor: Float32Array; channels: number }, mask: Uint8Array): Uint8Array {
  const n = mask.length, c = x.channels;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.tensor.length; i++) {
    lo = Math.min(lo, x.tensor[i]), hi = Math.max(hi, x.tensor[i]);
  }
  const k = hi > lo ? 255 / (hi - lo) : 0;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) {
      const v = (x.tensor[i * c + (c === 3 ? j : 0)] - lo) * k;
      rgb[3 * i + j] = mask[i] ? Math.round(0.5 * v + (j === 0 ? 127.5 : 0)) : Math.round(v);
    }
  }
  return rgb;
}

/** Area, bounding box (x, y, width, height) of a 0/1 mask. */
function measure(mask: Uint8Array, width: number, height: number) {
  let area = 0, x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      if (!mask[p]) continue;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return { area, bbox: area ? { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } : null };
}

/**
 * Dice 2|A∩B| / (|A| + |B|) and IoU |A∩B| / |A∪B| of two 0/1 masks; both 1 when both are empty.
 * @example overlapScores(Uint8Array.of(1, 1, 0), Uint8Array.of(1, 0, 0)) // dice 2/3, iou 1/2
 */
export function overlapScores(
  a: Uint8Array,
  b: Uint8Array,
): { dice: number; iou: number; intersection: number; truth_area: number } {
  let inter = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i];
    sb += b[i];
    inter += a[i] & b[i];
  }
  const union = sa + sb - inter;
  return {
    dice: sa + sb === 0 ? 1 : (2 * inter) / (sa + sb),
    iou: union === 0 ? 1 : inter / union,
    intersection: inter,
    truth_area: sb,
  };
}

const FITS = ["auto", "resize", "tile", "pad"] as const;

/**
 * 422 unless the card describes a 2D segmentation model (one NHWC image input): a classifier or a
 * 3D model named here would otherwise fail deep inside preprocessing.
 */
function requireSliceModel(name: string, card: ModelCard): void {
  const shapes = card.inputs.map((i) => i.shape);
  if (card.task === "segmentation" && shapes.length === 1 && shapes[0].length === 4) return;
  const elsewhere = card.task === "classification"
    ? "a classifier: use its own route (e.g. /cxr/classify)"
    : shapes.some((s) => s.length === 5)
    ? "a 3D model: use /segment/volume"
    : "not a single-image model";
  throw new InvalidInputError(
    `model ${name} (${card.task}, inputs ${
      JSON.stringify(shapes)
    }) is ${elsewhere}; /segment/slice serves 2D segmentation models with one NHWC image input`,
    { field: "model" },
  );
}

async function segmentSlice(c: Context<AppEnv>): Promise<Response> {
  const format = negotiate(c, ["png", "json", "text", "raw"] as const);
  const q = validQuery(c, sliceQuery);
  const name = q.model;
  if (!name) {
    throw new BadInputError(
      "model is required: ?model=<name> of an installed model (GET /models lists them)",
      { field: "model" },
    );
  }
  const bits = q.bits ?? "8";
  const fit = q.fit ?? "auto";
  const probsWanted = q.probs === true, overlayWanted = q.overlay === true;
  // 16 bits is a depth of the probability PNG; 1 bit only of the 0/1 mask
  if (bits === "16" && !probsWanted) {
    throw new BadInputError("bits=16 is for the probability map: add probs=1", { field: "bits" });
  }
  if (bits === "1" && probsWanted) {
    throw new BadInputError("bits=1 is for the mask; the probability map is 8 or 16 bits", {
      field: "bits",
    });
  }
  const rleQuery = q.rle;
  const order = parseOrder(q.order);
  const stages = new Stages(c);
  const maxPixels = envInt("MEDIMG_SLICE_MAX_PIXELS", DEFAULT_MAX_PIXELS);

  const loaded = await stages.run("model", () => loadModel(name));
  const { card } = loaded;
  requireSliceModel(name, card);
  const inputs = await readInputs(c);
  const decoded = await stages.run("decode", () => decodeImage(inputs.image, { maxPixels }));
  const { image, meta } = decoded;
  const preset = await getPreset(card.preprocess?.preset ?? "scale");
  const params = presetParams(c, card);
  const x = await stages.run("preprocess", () => preset(image, meta, params));
  if (x.width !== image.width || x.height !== image.height) {
    throw new InvalidInputError(
      `preset ${card.preprocess?.preset} changed the image size; segmentation needs it kept`,
    );
  }
  const { batch, overlap } = q;
  const { probs, plan, passes } = await stages.run("infer", () =>
    segmentImage(loaded, x, {
      fit: fit as Fit | "auto",
      maxPassPixels: envInt("MEDIMG_SLICE_MAX_PASS_PIXELS", DEFAULT_MAX_PASS_PIXELS),
      ...(batch !== undefined ? { batch } : {}),
      ...(overlap !== undefined ? { overlap } : {}),
    }));
  const threshold = q.threshold ?? card.threshold ?? 0.5;
  const mask = await stages.run("threshold", () => toMask(probs, card, threshold));
  const { width, height } = image;

  // Ground truth: a mask image, or an RLE (its dialect also becomes the answer's).
  let truth: Uint8Array | undefined;
  let dialect: Dialect = parseDialect(rleQuery ?? inputs.rleDialect);
  if (inputs.maskFile) {
    const gt = await stages.run("truth", () => maskFromBytes(inputs.maskFile!, { maxPixels }));
    if (gt.width !== width || gt.height !== height) {
      throw new InvalidInputError(
        `the ground-truth mask is ${gt.width}x${gt.height}, the image ${width}x${height}`,
        { field: "mask" },
      );
    }
    truth = gt.mask;
  } else if (inputs.rle !== undefined) {
    dialect = parseDialect(inputs.rleDialect ?? rleQuery);
    const rle = inputs.rle.trim();
    const value = dialect === "coco" && rle.startsWith("{")
      ? (() => {
        try {
          return JSON.parse(rle);
        } catch {
          throw new BadInputError("rle: a COCO RLE object must be JSON", { field: "rle" });
        }
      })()
      : rle;
    truth = await stages.run(
      "truth",
      () => runsToMask([parseRle(value, dialect, width, height)], width, height, order),
    );
  }

  // A field-of-view mask (DRIVE ships one per photo): nothing outside it is foreground or scored.
  let fovPixels: number | undefined;
  if (inputs.fovFile) {
    const fov = await stages.run("fov", () => maskFromBytes(inputs.fovFile!, { maxPixels }));
    if (fov.width !== width || fov.height !== height) {
      throw new InvalidInputError(
        `the field-of-view mask is ${fov.width}x${fov.height}, the image ${width}x${height}`,
        { field: "fov" },
      );
    }
    fovPixels = 0;
    for (let i = 0; i < mask.length; i++) {
      fovPixels += fov.mask[i];
      mask[i] &= fov.mask[i];
      if (truth) truth[i] &= fov.mask[i];
    }
  }

  const headers = {
    "x-model": card.name,
    "x-model-version": card.version,
    "x-image-width": String(width),
    "x-image-height": String(height),
  };
  if (format === "text") {
    if (dialect === "coco") {
      throw new BadInputError("the COCO dialect is JSON: ask for format=json with rle=coco", {
        field: "rle",
      });
    }
    const runs = maskToRuns(mask, width, height, order);
    return c.text(formatRle(runs, dialect, width, height) as string, 200, headers);
  }
  if (format === "raw") {
    // Row-major samples, X-Image-* headers as /rle/decode and /dicom/render answer them.
    const rawHeaders = (channels: number, dtype: string) => ({
      ...headers,
      "x-image-channels": String(channels),
      "x-image-dtype": dtype,
    });
    if (probsWanted) {
      const fg = littleEndianFloat32(foreground(probs));
      return sendBytes(c, fg, "application/octet-stream", rawHeaders(1, "float32"));
    }
    if (overlayWanted) {
      return sendBytes(c, overlay(x, mask), "application/octet-stream", rawHeaders(3, "uint8"));
    }
    const on = bits === "1" ? 1 : 255;
    const out = new Uint8Array(mask.length);
    for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? on : 0;
    return sendBytes(c, out, "application/octet-stream", rawHeaders(1, "uint8"));
  }
  if (format === "png") {
    if (probsWanted) {
      const fg = foreground(probs);
      const deep = bits === "16";
      const top = deep ? 65535 : 255;
      const p = deep ? new Uint16Array(fg.length) : new Uint8Array(fg.length);
      for (let i = 0; i < fg.length; i++) p[i] = Math.round(Math.min(1, Math.max(0, fg[i])) * top);
      return sendBytes(c, await encodeImagePng(p, width, height), "image/png", headers);
    }
    if (overlayWanted) {
      const rgb = overlay(x, mask);
      return sendBytes(c, await encodeImagePng(rgb, width, height, 3), "image/png", headers);
    }
    const png = await stages.run(
      "png",
      () => encodeMaskPng(mask, width, height, bits === "1" ? 1 : 8),
    );
    return sendBytes(c, png, "image/png", headers);
  }
  const { area, bbox } = measure(mask, width, height);
  const spacing = image.spacing ?? meta.spacing;
  return c.json(
    {
      model: {
        name: card.name,
        version: card.version,
        backend: loaded.backend.name,
        loaded_now: !loaded.cached,
        load_ms: loaded.loadMs,
      },
      input: {
        format: decoded.format,
        width,
        height,
        channels: image.channels,
        spacing: spacing ?? null,
      },
      preprocess: { preset: card.preprocess?.preset ?? "scale", params },
      fit: { ...plan, passes },
      threshold,
      area: {
        pixels: area,
        mm2: spacing ? area * spacing[0] * spacing[1] : null,
      },
      bbox,
      ...(fovPixels !== undefined ? { fov_pixels: fovPixels } : {}),
      ...(truth ? { ground_truth: overlapScores(mask, truth) } : {}),
      ...(rleQuery !== undefined || truth
        ? {
          rle: {
            dialect,
            order,
            value: formatRle(maskToRuns(mask, width, height, order), dialect, width, height),
          },
        }
        : {}),
      timings_ms: stages.ms,
    },
    200,
    headers,
  );
}

/** A card for listing: the replay pair's samples left out (they can be large). */
function listedCard(card: ModelCard): Record<string, unknown> {
  const { replay, ...rest } = card;
  return replay
    ? {
      ...rest,
      replay: {
        inputs: replay.inputs.map((i) => ({ shape: i.shape })),
        output: { shape: replay.output.shape },
        tolerance: replay.tolerance,
      },
    }
    : rest;
}

/**
 * The query of /segment/slice, declared once: documented by the route and validated before the
 * handler reads it. Card preprocess params of the same name are read apart (they vary by model).
 */
const sliceQuery = z.object({
  model: textQuery("name of an installed model (required; GET /models)", "fundus-vessels"),
  format: formatQuery(["png", "json", "text", "raw"]),
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
});

// The bytes decide the format (lib/decode); these are the Content-Types documented for the body.
const IMAGE_TYPES = [
  "application/dicom",
  "image/png",
  "image/jpeg",
  "image/tiff",
  "image/gif",
  "application/octet-stream",
];
const int = z.number().int(), num = z.number();
const pair = z.tuple([int, int]);
const RleValue = z.union([
  z.string(),
  z.strictObject({ size: pair, counts: z.union([z.string(), z.array(int)]) }),
]);
/** The JSON answer of /segment/slice, field by field as segmentSlice makes it. */
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
  area: z.strictObject({ pixels: int, mm2: num.nullable() }),
  bbox: z.strictObject({ x: int, y: int, width: int, height: int }).nullable(),
  fov_pixels: int.optional().describe("pixels inside the field-of-view mask, when one was sent"),
  ground_truth: z.strictObject({
    dice: num,
    iou: num,
    intersection: int,
    truth_area: int,
  }).optional().describe("when a ground truth (mask or rle) was sent"),
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

const routes = openApiRoutes();
// Inference is CPU-bound: one at a time per isolate by default, a short queue, then 503.
routes.use(
  "/segment/*",
  concurrencyLimit({
    max: envInt("MEDIMG_SLICE_CONCURRENCY", 1),
    queue: envInt("MEDIMG_SLICE_QUEUE", 8),
    retryAfter: 2,
  }),
  // The loaded models stay alive until the answer is made (see holdModels: heap trimming).
  (_, next) => holdModels(next),
);

/** The slice routes, to mount on an app made by createApp. */
export const sliceRoutes: OpenAPIHono<AppEnv> = routes
  .openapi(
    route({
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
    }),
    async (c) => {
      const models = await listModels();
      return c.json({
        models: models.map((m) =>
          m.card ? { name: m.name, card: listedCard(m.card) } : { name: m.name, error: m.error }
        ),
      });
    },
  )
  .openapi(
    route({
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
            "fit, threshold, area (pixels, mm2), bbox, ground_truth (dice, iou), rle, timings_ms; " +
            "or format=raw: row-major samples with X-Image-Width/-Height/-Channels/-Dtype (the " +
            "mask as uint8, probs=1 as float32 little-endian, overlay=1 as RGB uint8)",
          headers: { ...SLICE_HEADERS, ...RAW_HEADERS },
          content: {
            "image/png": BINARY,
            "application/octet-stream": BINARY,
            "application/json": jsonContent(SliceAnswer),
            "text/plain": { schema: { type: "string" } as const },
          },
        },
        ...problems(404, 415, 422, 503),
      },
    }),
    segmentSlice,
  );

/** The slice function alone: `deno run -A functions/slice.ts`. */
export const app = createApp().route("/", sliceRoutes);

if (import.meta.main) serve(app);
