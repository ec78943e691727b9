/**
 * slice function: 2D segmentation of one slice or photo with an installed model
 * (`POST /segment/slice?model=<name>`) and the list of installed models (`GET /models`).
 * Preprocessing, input size, threshold and classes come from the model's card (lib/models); the
 * work is lib/pipelines/slice.ts, the declaration of query and answers functions/_schemas/slice.ts.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BadInputError, UnsupportedError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  env,
  envInt,
  mediaType,
  negotiate,
  numberParam,
  readBytes,
  readForm,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { openApiRoutes, validQuery } from "../lib/http/openapi.ts";
import { reportSteps, stepOptions } from "../lib/http/steps.ts";
import { overlapScores } from "../lib/image/measure.ts";
import { scoreMask } from "../lib/image/metrics.ts";
import { encodeImagePng, encodeMaskPng } from "../lib/image/png.ts";
import { decodeImage, DEFAULT_MAX_PIXELS } from "../lib/decode/mod.ts";
import { loadModel } from "../lib/models/load.ts";
import { listModels } from "../lib/models/registry.ts";
import {
  foreground,
  presetParams,
  requireSliceModel,
  segmentSlice,
  sliceRaster,
  sliceSummary,
  sliceTruth,
  type TruthInput,
} from "../lib/pipelines/slice.ts";
import { sliceSeg } from "../lib/pipelines/series.ts";
import {
  applyPostprocess,
  postprocessOn,
  postprocessUsed,
  ttaUsed,
} from "../lib/pipelines/postprocess.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import { formatRle, maskToRuns, parseOrder } from "../lib/rle/mod.ts";
import { checkBits, listedCard, modelsRoute, sliceQuery, sliceRoute } from "./_schemas/slice.ts";
import { modelGuard } from "./_model_route.ts";

/**
 * The most pixels one forward pass takes here (MEDIMG_SLICE_MAX_PASS_PIXELS): 384 Ki, so that a
 * DRIVE photo (565x584) still runs whole, while a 1024x1024 one runs as 512x512 tiles one to a
 * pass, its wasm heap staying under MEDIMG_WASM_HEAP_MAX_MB: peak RSS 380 MB instead of 1,068 MB
 * for one 1 Mi-pixel pass, over Deno Deploy's default 768 MB (deploy.md, "What fits where").
 */
const SLICE_MAX_PASS_PIXELS = 384 * 1024;

/** The request's image, optional ground truth and field of view: a raw body or a form. */
async function readInputs(c: Context<AppEnv>): Promise<TruthInput & { image: Uint8Array }> {
  if (mediaType(c) !== "multipart/form-data") return { image: await readBytes(c) };
  const { files, fields } = await readForm(c, {
    files: ["image", "mask", "fov"],
    required: ["image"],
    fields: ["rle", "dialect"],
  });
  return {
    image: files.image!,
    maskFile: files.mask,
    fovFile: files.fov,
    rle: fields.rle,
    rleDialect: fields.dialect,
  };
}

/** POST /segment/slice; the steps run so far go into Server-Timing also when one fails. */
async function handleSlice(c: Context<AppEnv>): Promise<Response> {
  const run = new Steps(stepOptions(c));
  try {
    return await answerSlice(c, run);
  } catch (err) {
    reportSteps(c, run.timings);
    throw err;
  }
}

async function answerSlice(c: Context<AppEnv>, run: Steps): Promise<Response> {
  const format = negotiate(c, ["png", "json", "text", "raw", "seg"] as const);
  const q = validQuery(c, sliceQuery);
  const name = q.model;
  if (!name) {
    throw new BadInputError(
      "model is required: ?model=<name> of an installed model (GET /models lists them)",
      { field: "model" },
    );
  }
  const bits = q.bits ?? "8";
  checkBits(q);
  if (q.deidentify && format !== "seg") {
    throw new BadInputError(
      `deidentify=1 applies to the DICOM SEG; format=${format} answers none: ask for format=seg`,
      { field: "deidentify" },
    );
  }
  const order = parseOrder(q.order);
  const maxPixels = envInt("MEDIMG_SLICE_MAX_PIXELS", DEFAULT_MAX_PIXELS);

  const loaded = await run.stepAsync("model", () => loadModel(name));
  const { card } = loaded;
  requireSliceModel(name, card);
  const inputs = await readInputs(c);
  const decoded = await run.stepAsync("decode", () => decodeImage(inputs.image, { maxPixels }));
  const { width, height } = decoded.image;
  if (format === "seg" && decoded.format !== "dicom") {
    throw new UnsupportedError(
      `format=seg answers a DICOM SEG, which references its source DICOM instance; this image is ${decoded.format}: send the DICOM`,
      { field: "format" },
    );
  }
  const params = presetParams(card, (key, cardValue) => {
    const v = c.req.query(key);
    return v === undefined ? undefined : typeof cardValue === "number" ? numberParam(v, key) : v;
  });
  const tta = ttaUsed(card, q.tta);
  const r = await segmentSlice(loaded, decoded, {
    params,
    fit: q.fit ?? "auto",
    maxPassPixels: envInt("MEDIMG_SLICE_MAX_PASS_PIXELS", SLICE_MAX_PASS_PIXELS),
    batch: q.batch,
    overlap: q.overlap,
    threshold: q.threshold,
    flips: tta.flips,
  }, run);
  const { mask } = r;
  const spacing = decoded.image.spacing ?? decoded.meta.spacing;
  const post = postprocessUsed(card, q, spacing ? "mm2" : "pixels");
  const changed = postprocessOn(post)
    ? run.step("postprocess", () => applyPostprocess({ width, height, data: mask }, post, spacing))
    : { removed_components: 0, removed_voxels: 0, filled_voxels: 0 };

  const { truth, dialect, fovPixels, fov } = await sliceTruth(mask, inputs, width, height, {
    maxPixels,
    order,
    rleQuery: q.rle,
  }, run);

  const headers = {
    "x-model": card.name,
    "x-model-version": card.version,
    "x-image-width": String(width),
    "x-image-height": String(height),
  };
  const rle = () => formatRle(maskToRuns(mask, width, height, order), dialect, width, height);
  if (format === "json") {
    return c.json(
      {
        ...sliceSummary(loaded, decoded, r, params),
        postprocess: { ...post, ...changed },
        tta,
        ...(fovPixels !== undefined ? { fov_pixels: fovPixels } : {}),
        ...(truth ? { ground_truth: overlapScores(mask, truth) } : {}),
        ...(truth ? { metrics: scoreMask(mask, truth, { scores: foreground(r.probs), fov }) } : {}),
        ...(q.rle !== undefined || truth ? { rle: { dialect, order, value: rle() } } : {}),
        timings_ms: reportSteps(c, run.timings),
      },
      200,
      headers,
    );
  }
  if (format === "text" && dialect === "coco") {
    throw new BadInputError("the COCO dialect is JSON: ask for format=json with rle=coco", {
      field: "rle",
    });
  }
  let res: Response;
  if (format === "seg") {
    const bytes = await run.stepAsync("seg", () =>
      sliceSeg(inputs.image, mask, card, {
        deidentify: q.deidentify === true,
        uidKey: env("MEDIMG_DEID_KEY") ?? "",
      }));
    res = sendBytes(c, bytes, "application/dicom", headers);
  } else if (format === "text") res = c.text(rle() as string, 200, headers);
  else if (format === "raw") {
    // Row-major samples, X-Image-* headers as /rle/decode and /dicom/render answer them.
    const { samples, channels, dtype } = sliceRaster(r, q, true)!;
    res = sendBytes(c, samples as Uint8Array, "application/octet-stream", {
      ...headers,
      "x-image-channels": String(channels),
      "x-image-dtype": dtype,
    });
  } else {
    const p = sliceRaster(r, q, false), depth = bits === "1" ? 1 : 8;
    const png = p
      ? await encodeImagePng(p.samples, width, height, p.channels)
      : await run.stepAsync("png", () => encodeMaskPng(mask, width, height, depth));
    res = sendBytes(c, png, "image/png", headers);
  }
  reportSteps(c, run.timings); // Server-Timing, written once the handler has returned
  return res;
}

const routes = openApiRoutes();
// Inference is CPU-bound: one at a time per isolate by default, a short queue, then 503.
routes.use("/segment/*", ...modelGuard("SLICE"));

/** The slice routes, to mount on an app made by createApp. */
export const sliceRoutes: OpenAPIHono<AppEnv> = routes
  .openapi(modelsRoute, async (c) => {
    const models = await listModels();
    return c.json({
      models: models.map((m) =>
        m.card ? { name: m.name, card: listedCard(m.card) } : { name: m.name, error: m.error }
      ),
    });
  })
  .openapi(sliceRoute, handleSlice);

/** The slice function alone: `deno run -A functions/slice.ts`. */
export const app = createApp().route("/", sliceRoutes);

if (import.meta.main) serve(app);
