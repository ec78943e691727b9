/**
 * rle function: run-length masks <-> images and per-image summaries of a whole CSV (seed 001).
 * Imports no tfjs and no DICOM codecs: its cold start stays small. The routes are declared in
 * functions/_schemas/rle.ts.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  type AppEnv,
  createApp,
  envInt,
  intParam,
  mediaType,
  ndjsonStream,
  negotiate,
  readBytes,
  readJsonObject,
  requireContentType,
  runSteps,
  sendBytes,
  serve,
  stringParam,
} from "../lib/http/mod.ts";
import { openApiRoutes, withSchemas } from "../lib/http/openapi.ts";
import { BadInputError } from "../lib/errors.ts";
import { maskFromLightBytes } from "../lib/decode/light.ts";
import { checkPixels, encodeMaskPng } from "../lib/image/png.ts";
import {
  checkSize,
  DEFAULT_MAX_DIMENSION,
  formatRle,
  maskToRuns,
  parseDialect,
  parseOrder,
  parseRleUnion,
  rleInputs,
  runsToMask,
  summarizeRuns,
} from "../lib/rle/mod.ts";
import type { Steps } from "../lib/pipelines/steps.ts";
import { type Grouping, summarizeCsv } from "../lib/rle/batch.ts";
import {
  batchRoute,
  encodeRoute,
  getDecodeRoute,
  MASK_TYPES,
  postDecodeRoute,
  RleBatchLine,
} from "./_schemas/rle.ts";

const maxDimension = () => envInt("MEDIMG_MAX_DIMENSION", DEFAULT_MAX_DIMENSION);
/** Largest mask made as pixels (PNG, raw): 8192x8192 by default. */
const maxPixels = () => envInt("MEDIMG_MAX_PIXELS", 8192 * 8192);
/** Largest streamed CSV: 1 GiB by default. */
export const STREAM_LIMIT = envInt("MEDIMG_STREAM_LIMIT", 1 << 30);

type Params = Record<string, unknown>;

function decodeAnswer(c: Context<AppEnv>, p: Params): Promise<Response> {
  return runSteps(c, (run) => decodeSteps(c, p, run));
}

async function decodeSteps(c: Context<AppEnv>, p: Params, run: Steps): Promise<Response> {
  const format = negotiate(c, ["png", "json", "raw"] as const);
  const dialect = parseDialect(stringParam(p.dialect, "dialect"));
  const order = parseOrder(stringParam(p.order, "order"));
  const cocoSize = dialect === "coco" && typeof p.rle === "object" && p.rle !== null &&
      !Array.isArray(p.rle) && Array.isArray((p.rle as { size?: unknown }).size)
    ? (p.rle as { size: number[] }).size
    : undefined;
  const width = intParam(p.width ?? cocoSize?.[1], "width");
  const height = intParam(p.height ?? cocoSize?.[0], "height");
  checkSize(width, height, maxDimension());
  const bits = intParam(p.bits, "bits", 8);
  if (bits !== 1 && bits !== 8) {
    throw new BadInputError(`bits must be 1 or 8, got ${bits}`, { field: "bits" });
  }
  const runs = run.step(
    "parse",
    () => parseRleUnion(rleInputs(p.rle, dialect), dialect, width, height),
  );
  if (format === "json") {
    const s = run.step("summary", () => summarizeRuns(runs, width, height, order));
    return c.json({ width, height, dialect, order, ...s });
  }
  checkPixels(width, height, maxPixels());
  const mask = run.step(
    "mask",
    () => runsToMask([runs], width, height, order, bits === 1 ? 1 : 255),
  );
  if (format === "raw") {
    return sendBytes(c, mask, "application/octet-stream", {
      "x-image-width": String(width),
      "x-image-height": String(height),
      "x-image-dtype": "uint8",
    });
  }
  const png = await run.stepAsync("png", () => encodeMaskPng(mask, width, height, bits));
  return sendBytes(c, png, "image/png");
}

/** The rle routes, to mount on an app made by createApp. */
export const rleRoutes: OpenAPIHono<AppEnv> = withSchemas(openApiRoutes(), { RleBatchLine })
  .openapi(
    getDecodeRoute,
    (c) => decodeAnswer(c, c.req.valid("query")),
  )
  .openapi(
    postDecodeRoute,
    async (c) => decodeAnswer(c, { ...c.req.valid("query"), ...(await readJsonObject(c)) }),
  )
  .openapi(
    encodeRoute,
    (c) =>
      runSteps(c, async (run) => {
        negotiate(c, ["json"] as const);
        requireContentType(c, MASK_TYPES);
        const q = c.req.valid("query");
        const dialect = parseDialect(q.dialect);
        const order = parseOrder(q.order);
        const counts = q.counts ?? "string";
        const bytes = await readBytes(c);
        const img = await run.stepAsync(
          "decode",
          () => maskFromLightBytes(bytes, { maxPixels: maxPixels() }),
        );
        checkSize(img.width, img.height, maxDimension());
        const runs = run.step("encode", () => maskToRuns(img.mask, img.width, img.height, order));
        const rle = formatRle(runs, dialect, img.width, img.height, counts);
        const { area } = summarizeRuns(runs, img.width, img.height, order);
        return c.json({ rle, dialect, order, width: img.width, height: img.height, area });
      }),
  )
  .openapi(
    batchRoute,
    async (c) => {
      negotiate(c, ["ndjson"] as const);
      const type = mediaType(c);
      const gzip = type === "application/gzip" || c.req.header("content-encoding") === "gzip";
      if (!gzip) {
        requireContentType(c, [
          "text/csv",
          "text/plain",
          "application/octet-stream",
          "application/gzip",
        ]);
      }
      const q = c.req.valid("query");
      const width = q.width ?? 1024;
      const height = q.height ?? 1024;
      checkSize(width, height, maxDimension());
      const grouping: Grouping = q.grouping ?? "all";
      const raw = c.req.raw.body;
      if (!raw) throw new BadInputError("request body is empty");
      const body = gzip ? raw.pipeThrough(new DecompressionStream("gzip")) : raw;
      const lines = summarizeCsv(body, {
        width,
        height,
        dialect: parseDialect(q.dialect),
        order: parseOrder(q.order),
        grouping,
        stateLimit: envInt("MEDIMG_BATCH_STATE_LIMIT", 256 << 20),
      });
      // The first line is awaited here so that a CSV that fails before any output gets a problem status.
      const first = await lines.next();
      return new Response(ndjsonStream(first, lines), {
        headers: { "content-type": "application/x-ndjson" },
      });
    },
  );

/** Body limits of the rle routes beyond the default. */
export const rleBodyLimits = { "/rle/batch": STREAM_LIMIT };

/** The rle function alone: `deno run -A functions/rle.ts`. */
export const app = createApp({ bodyLimits: rleBodyLimits }).route("/", rleRoutes);

if (import.meta.main) serve(app);
