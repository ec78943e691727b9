/**
 * cxr function: `POST /cxr/classify`, the probability of lung opacity / pneumonia on a frontal
 * chest X-ray from the film and its age and view position (model `cxr-pneumonia`, its card in
 * models/cxr-pneumonia/card.json), with a Grad-CAM saliency map on request. Not for clinical use.
 * The route's declarations are in functions/_schemas/cxr.ts, the science in lib/pipelines/cxr.ts.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BadInputError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  envInt,
  mediaType,
  negotiate,
  readBytes,
  readForm,
  reportSteps,
  requireContentType,
  sendBytes,
  serve,
  stepOptions,
} from "../lib/http/mod.ts";
import { IMAGE_TYPES, openApiRoutes, parseBody, validQuery } from "../lib/http/openapi.ts";
import { encodeImagePng } from "../lib/image/png.ts";
import { decodeImage, DEFAULT_MAX_PIXELS } from "../lib/decode/mod.ts";
import { loadModel } from "../lib/models/load.ts";
import { classifyCxr, CXR_FIELDS, type CxrField } from "../lib/pipelines/cxr.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import { modelGuard } from "./_model_route.ts";
import { classifyAnswer, classifyRoute, cxrQuery } from "./_schemas/cxr.ts";

/** The model this function runs. */
export const CXR_MODEL = "cxr-pneumonia";

type Fields = Partial<Record<CxrField, string>>;

/** The body's image bytes and the metadata fields sent with it (form fields or JSON members). */
async function readBody(c: Context<AppEnv>): Promise<{ bytes: Uint8Array; fields: Fields }> {
  const type = mediaType(c);
  const fields: Fields = {};
  if (type === "multipart/form-data") {
    const form = await readForm(c, { files: ["image"], required: ["image"], fields: CXR_FIELDS });
    for (const k of CXR_FIELDS) if (form.fields[k] !== undefined) fields[k] = form.fields[k];
    return { bytes: form.files.image!, fields };
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
        { field: "image" },
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(o.image), (ch) => ch.charCodeAt(0));
    } catch {
      throw new BadInputError("image is not valid base64", { field: "image" });
    }
    for (const k of CXR_FIELDS) {
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

async function classify(c: Context<AppEnv>): Promise<Response> {
  const format = negotiate(c, ["json", "png"] as const);
  const q = validQuery(c, cxrQuery);
  const { bytes, fields } = await readBody(c);
  // Form fields and JSON members follow the same declaration as the query parameters they mirror.
  parseBody(cxrQuery.pick({ age: true, sex: true, view: true, spacing: true }), fields);
  const asked: Fields = {};
  for (const k of CXR_FIELDS) if ((fields[k] ?? q[k]) !== undefined) asked[k] = fields[k] ?? q[k];
  const run = new Steps(stepOptions(c));
  const loaded = await run.stepAsync("load", () => loadModel(CXR_MODEL));
  const maxPixels = envInt("MEDIMG_CXR_MAX_PIXELS", DEFAULT_MAX_PIXELS);
  const film = await run.stepAsync("decode", () => decodeImage(bytes, { maxPixels }));
  const r = classifyCxr(loaded, film, asked, {
    heatmap: q.heatmap === true || format === "png",
    run,
  });
  const headers = {
    ...(r.warnings.length ? { "x-warning": r.warnings.join("; ") } : {}),
    "x-model": loaded.card.name,
    "x-model-version": loaded.card.version,
    "x-cxr-probability": r.probability.toFixed(6),
    "x-cxr-label": r.label,
  };
  const o = r.heatmap?.overlay;
  const png = o && await run.stepAsync("png", () => encodeImagePng(o.data, o.width, o.height, 3));
  const timings = reportSteps(c, run.timings);
  if (format === "png") return sendBytes(c, png!, "image/png", headers);
  return c.json(classifyAnswer(r, loaded, film, png, timings), 200, headers);
}

const routes = openApiRoutes();
// Inference is CPU-bound: a concurrency limit and queue, the models held until the answer is made.
routes.use("/cxr/*", ...modelGuard("CXR"));

/** The cxr routes, to mount on an app made by createApp. */
export const cxrRoutes: OpenAPIHono<AppEnv> = routes.openapi(classifyRoute, classify);

/** The cxr function alone: `deno run -A functions/cxr.ts`. */
export const app = createApp().route("/", cxrRoutes);

if (import.meta.main) serve(app);
