/**
 * cxr function: `POST /cxr/classify`, the probability of lung opacity / pneumonia on a frontal
 * chest X-ray from the film and its age and view position (model `cxr-pneumonia`, its card in
 * models/cxr-pneumonia/card.json), with a Grad-CAM saliency map on request. Not for clinical use.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import { BadInputError } from "../lib/errors.ts";
import {
  type AppEnv,
  concurrencyLimit,
  createApp,
  envInt,
  mediaType,
  negotiate,
  readBytes,
  requireContentType,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { checkBudget } from "../lib/http/limits.ts";
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
  jsonContent,
  MODEL_HEADERS,
  openApiRoutes,
  parseBody,
  problems,
  route,
  textQuery,
  validQuery,
  z,
} from "../lib/http/openapi.ts";
import type { Image } from "../lib/image/image.ts";
import { encodeImagePng } from "../lib/image/png.ts";
import { decodeImage, DEFAULT_MAX_PIXELS } from "../lib/decode/mod.ts";
import { holdModels, loadModel } from "../lib/models/load.ts";
import {
  AGE_EDGES,
  chestWidthWarning,
  cxrClassify,
  type CxrMetaInput,
  FEATURE_NAMES,
} from "../lib/pipelines/cxr.ts";

/** The model this function runs. */
export const CXR_MODEL = "cxr-pneumonia";

const FIELDS = ["age", "sex", "view", "spacing"] as const;
// The bytes decide the format (lib/decode); these are the Content-Types documented for the body.
const IMAGE_TYPES = [
  "application/dicom",
  "application/octet-stream",
  "image/png",
  "image/jpeg",
  "image/tiff",
  "image/gif",
];
type Field = typeof FIELDS[number];
type Source = "request" | "dicom" | "missing";

/** The body's image bytes and the metadata fields sent with it (form fields or JSON members). */
async function readBody(
  c: Context<AppEnv>,
): Promise<{ bytes: Uint8Array; fields: Partial<Record<Field, string>> }> {
  const type = mediaType(c);
  const fields: Partial<Record<Field, string>> = {};
  if (type === "multipart/form-data") {
    const form = await c.req.formData().catch((err) => {
      throw new BadInputError(`multipart body could not be read: ${err.message}`);
    });
    const file = form.get("image");
    if (file === null) throw new BadInputError("the form has no image field", { field: "image" });
    if (!(file instanceof File)) {
      throw new BadInputError("image must be a file", { field: "image" });
    }
    for (const k of FIELDS) {
      const v = form.get(k);
      if (typeof v === "string") fields[k] = v;
    }
    return { bytes: new Uint8Array(await file.arrayBuffer()), fields };
  }
  if (type === "application/json") {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(await readBytes(c)));
    } catch (err) {
      throw new BadInputError(`request body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new BadInputError("request body must be a JSON object");
    }
    const o = body as Record<string, unknown>;
    if (typeof o.image !== "string" || o.image === "") {
      throw new BadInputError(
        "image must be the film as a base64 string (DICOM, PNG, JPEG, TIFF or GIF)",
        {
          field: "image",
        },
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(o.image), (ch) => ch.charCodeAt(0));
    } catch {
      throw new BadInputError("image is not valid base64", { field: "image" });
    }
    for (const k of FIELDS) {
      const v = o[k];
      if (v === undefined || v === null) continue;
      if (typeof v === "number") fields[k] = String(v);
      else if (typeof v === "string") fields[k] = v;
      else if (k === "spacing" && Array.isArray(v)) fields[k] = v.join(",");
      else {
        throw new BadInputError(`${k} must be a string or a number, got ${JSON.stringify(v)}`, {
          field: k,
        });
      }
    }
    return { bytes, fields };
  }
  requireContentType(c, IMAGE_TYPES);
  return { bytes: await readBytes(c), fields };
}

/** The decoded film, the DICOM's own metadata when it is one, and the VOI window it carries. */
async function readFilm(bytes: Uint8Array, maxPixels: number): Promise<{
  image: Image;
  format: string;
  dicom: Partial<Record<Field, string>>;
  window: { center: number; width: number } | null;
  windowUnusable: string | null;
}> {
  const { image, meta, format } = await decodeImage(bytes, { maxPixels });
  const dicom: Partial<Record<Field, string>> = {};
  if (meta.age) dicom.age = meta.age;
  if (meta.sex) dicom.sex = meta.sex;
  if (meta.view) dicom.view = meta.view;
  if (meta.spacing) dicom.spacing = meta.spacing.join("\\");
  return {
    image,
    format,
    dicom,
    window: meta.window ?? null,
    windowUnusable: meta.windowUnusable ?? null,
  };
}

function bucketName(i: number): string {
  return i === AGE_EDGES.length
    ? `${AGE_EDGES[i - 1]}+`
    : `${i ? AGE_EDGES[i - 1] : 0}-${AGE_EDGES[i]}`;
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

async function classify(c: Context<AppEnv>): Promise<Response> {
  const format = negotiate(c, ["json", "png"] as const);
  const q = validQuery(c, cxrQuery);
  const heatmapWanted = q.heatmap === true || format === "png";
  const timings: Record<string, number> = {};
  const stage = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t0;
      timings[name] = Math.round(ms * 100) / 100;
      setMetric(c, name, ms);
      checkBudget(c, name);
    }
  };
  const { bytes, fields } = await readBody(c);
  // Form fields and JSON members follow the same declaration as the query parameters they mirror.
  parseBody(cxrQuery.pick({ age: true, sex: true, view: true, spacing: true }), fields);
  const loaded = await stage("load", () => loadModel(CXR_MODEL));
  const film = await stage(
    "decode",
    () => readFilm(bytes, envInt("MEDIMG_CXR_MAX_PIXELS", DEFAULT_MAX_PIXELS)),
  );

  // A field sent with the request wins over the DICOM's own header.
  const meta: CxrMetaInput = {};
  const sources = {} as Record<Field, { value: string | null; source: Source }>;
  for (const k of FIELDS) {
    const asked = fields[k] ?? q[k];
    const value = asked ?? film.dicom[k] ?? null;
    sources[k] = {
      value,
      source: asked !== undefined ? "request" : film.dicom[k] !== undefined ? "dicom" : "missing",
    };
    meta[k] = value;
  }
  const r = cxrClassify(loaded, film.image, meta, {
    heatmap: heatmapWanted,
    window: film.window,
  });
  for (const [name, ms] of Object.entries(r.timings)) {
    timings[name] = Math.round(ms * 100) / 100;
    setMetric(c, name, ms);
  }
  checkBudget(c, "model");
  const pre = r.preprocessed;
  const assumed = [...r.features.assumed];
  if (pre.spacingAssumed) {
    assumed.push(
      `spacing missing: the image was taken to span ${pre.params.assumedFieldMm} mm across ` +
        `(${pre.spacing[1].toFixed(4)} mm per pixel); only the 1 mm resampling step uses it`,
    );
  }
  if (film.windowUnusable) {
    assumed.push(`${film.windowUnusable}: the film was scaled min-max to 8-bit instead`);
  }
  // A spacing the caller typed is checked against a chest's width; a DICOM's own is the scanner's.
  const warnings: string[] = [];
  const implausible = sources.spacing.source === "request"
    ? chestWidthWarning(film.image.width, pre.spacing)
    : null;
  if (implausible) warnings.push(implausible);
  const headers = {
    ...(warnings.length ? { "x-warning": warnings.join("; ") } : {}),
    "x-model": loaded.card.name,
    "x-model-version": loaded.card.version,
    "x-cxr-probability": r.probability.toFixed(6),
    "x-cxr-label": r.label,
  };
  let png: Uint8Array | undefined;
  if (r.heatmap) {
    const o = r.heatmap.overlay;
    png = await stage("png", () => encodeImagePng(o.data, o.width, o.height, 3));
  }
  if (format === "png") return sendBytes(c, png!, "image/png", headers);
  return c.json(
    {
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
        names: FEATURE_NAMES,
        vector: Array.from(r.features.vector),
        age_years: r.features.age?.years ?? null,
        age_bucket: r.features.age ? bucketName(r.features.age.bucket) : null,
        view: r.features.view,
        sex: r.features.sex,
      },
      metadata: sources,
      assumed,
      warnings,
      input: {
        format: film.format,
        width: film.image.width,
        height: film.image.height,
        channels: film.image.channels,
      },
      preprocess: {
        spacing_mm: pre.spacing,
        spacing_assumed: pre.spacingAssumed,
        resampled: pre.resampled,
        grey8: pre.grey8,
        params: pre.params,
      },
      ...(r.heatmap && png
        ? {
          heatmap: {
            method: r.heatmap.method,
            layer: r.heatmap.layer,
            grid: [r.heatmap.grid.width, r.heatmap.grid.height],
            image: "the 224 x 224 model input with the map blended over it (RGB PNG)",
            png_base64: base64(png),
          },
        }
        : {}),
      timings_ms: timings,
    },
    200,
    headers,
  );
}

const cxrQuery = z.object({
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

const routes = openApiRoutes();
// Inference is CPU-bound: one at a time per isolate by default, a short queue, then 503.
routes.use(
  "/cxr/*",
  concurrencyLimit({
    max: envInt("MEDIMG_CXR_CONCURRENCY", 1),
    queue: envInt("MEDIMG_CXR_QUEUE", 8),
    retryAfter: 2,
  }),
  // The loaded models stay alive until the answer is made (see holdModels: heap trimming).
  (_, next) => holdModels(next),
);

/** The cxr routes, to mount on an app made by createApp. */
export const cxrRoutes: OpenAPIHono<AppEnv> = routes.openapi(
  route({
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
  }),
  classify,
);

/** The cxr function alone: `deno run -A functions/cxr.ts`. */
export const app = createApp().route("/", cxrRoutes);

if (import.meta.main) serve(app);
