/**
 * rle function: run-length masks <-> images and per-image summaries of a whole CSV (seed 001).
 * Imports no tfjs and no DICOM codecs: its cold start stays small.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  type AppEnv,
  createApp,
  envInt,
  intParam,
  mediaType,
  negotiate,
  readBytes,
  readJsonObject,
  requireContentType,
  sendBytes,
  serve,
  stringParam,
  timed,
  timedAsync,
} from "../lib/http/mod.ts";
import {
  BINARY,
  bytesBody,
  enumQuery,
  formatQuery,
  intQuery,
  jsonBody,
  jsonContent,
  ndjsonContent,
  openApiRoutes,
  problems,
  RAW_HEADERS,
  route,
  withSchemas,
  z,
} from "../lib/http/openapi.ts";
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
  type RleInput,
  runsToMask,
  summarizeRuns,
} from "../lib/rle/mod.ts";
import { type Grouping, summarizeCsv } from "../lib/rle/batch.ts";

// The bytes decide the format (lib/decode/light.ts); these are the Content-Types documented for a
// mask. DICOM and JPEG masks are not taken here: their wasm codecs and lib/dicom would enter this
// function's module graph (edge cold start), and a JPEG mask is lossy anyway.
const MASK_TYPES = ["image/png", "image/gif", "image/tiff", "application/octet-stream"];

const maxDimension = () => envInt("MEDIMG_MAX_DIMENSION", DEFAULT_MAX_DIMENSION);
/** Largest mask made as pixels (PNG, raw): 8192x8192 by default. */
const maxPixels = () => envInt("MEDIMG_MAX_PIXELS", 8192 * 8192);
/** Largest streamed CSV: 1 GiB by default. */
export const STREAM_LIMIT = envInt("MEDIMG_STREAM_LIMIT", 1 << 30);

type Params = Record<string, unknown>;

function rleList(value: unknown, dialect: string): RleInput[] {
  if (value === undefined || value === null) {
    throw new BadInputError("rle is required", { field: "rle" });
  }
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) {
    // A COCO counts array is one RLE; any other array is a list of RLEs merged by union.
    if (dialect === "coco" && value.every((v) => typeof v === "number")) return [value as number[]];
    if (value.length === 0) throw new BadInputError("rle is an empty list", { field: "rle" });
    return value as RleInput[];
  }
  if (dialect === "coco" && typeof value === "object") return [value as RleInput];
  throw new BadInputError("rle must be a string or a list of strings", { field: "rle" });
}

async function decodeAnswer(c: Context<AppEnv>, p: Params): Promise<Response> {
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
  const runs = timed(
    c,
    "parse",
    () => parseRleUnion(rleList(p.rle, dialect), dialect, width, height),
  );
  if (format === "json") {
    const s = timed(c, "summary", () => summarizeRuns(runs, width, height, order));
    return c.json({ width, height, dialect, order, ...s });
  }
  checkPixels(width, height, maxPixels());
  const mask = timed(
    c,
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
  const png = await timedAsync(c, "png", () => encodeMaskPng(mask, width, height, bits));
  return sendBytes(c, png, "image/png");
}

const DIALECTS = ["siim", "kaggle", "coco"] as const;
const size = {
  width: intQuery(
    "width",
    "mask width in pixels (COCO: taken from size when absent)",
    1024,
    { min: 1 },
  ),
  height: intQuery("height", "mask height in pixels", 1024, { min: 1 }),
};
const rleFormat = {
  dialect: enumQuery(DIALECTS, "RLE dialect (default siim)"),
  order: enumQuery(["column", "row"], "pixel order the runs count in (default column)"),
};
/** Bounding box in pixels, inclusive (null for an empty mask). */
const Bbox = z.strictObject({
  rmin: z.number().int(),
  rmax: z.number().int(),
  cmin: z.number().int(),
  cmax: z.number().int(),
}).nullable();
const DecodeSummary = z.strictObject({
  width: z.number().int(),
  height: z.number().int(),
  dialect: z.enum(DIALECTS),
  order: z.enum(["column", "row"]),
  area: z.number().int().describe("mask pixels"),
  bbox: Bbox,
  runs: z.number().int().describe("runs after merging"),
});
const CocoRle = z.strictObject({
  size: z.tuple([z.number().int(), z.number().int()]).describe("[height, width]"),
  counts: z.union([z.string(), z.array(z.number().int())]),
});
const EncodeAnswer = z.strictObject({
  rle: z.union([z.string(), CocoRle]).describe("SIIM/Kaggle text, or a COCO object"),
  dialect: z.enum(DIALECTS),
  order: z.enum(["column", "row"]),
  width: z.number().int(),
  height: z.number().int(),
  area: z.number().int(),
});
/** One NDJSON line of /rle/batch (components.schemas.RleBatchLine). */
export const RleBatchLine = z.strictObject({
  ImageId: z.string(),
  rows: z.number().int().describe("CSV rows merged into this image"),
  has_mask: z.boolean(),
  area: z.number().int(),
  bbox: Bbox,
  errors: z.array(z.string()).describe("rows that could not be read, and why"),
});
const maskAnswer = {
  200: {
    description:
      "the mask: PNG (8-bit 0/255, or 1-bit with bits=1), JSON summary {width, height, area, bbox, runs}, or raw bytes",
    headers: RAW_HEADERS,
    content: {
      "image/png": BINARY,
      "application/json": jsonContent(DecodeSummary),
      "application/octet-stream": BINARY,
    },
  },
  ...problems(422),
};
const DecodeBody = z.object({
  rle: z.union([
    z.string(),
    z.array(z.string()),
    z.array(z.number()),
    z.object({
      size: z.array(z.number()),
      counts: z.union([z.string(), z.array(z.number())]),
    }),
  ]).describe("one RLE, a list merged by union, or a COCO {size, counts}"),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  dialect: z.enum(DIALECTS).optional(),
  order: z.enum(["column", "row"]).optional(),
  bits: z.union([z.literal(1), z.literal(8)]).optional(),
});

/** The rle routes, to mount on an app made by createApp. */
export const rleRoutes: OpenAPIHono<AppEnv> = withSchemas(openApiRoutes(), { RleBatchLine })
  .openapi(
    route({
      method: "get",
      path: "/rle/decode",
      operationId: "rleDecode",
      summary: "RLE -> mask (PNG, JSON summary or raw)",
      request: {
        query: z.object({
          rle: z.union([z.string(), z.array(z.string())]).optional().openapi({
            description: "the RLE; repeat the parameter to merge several by union",
            example: "1 2 3 4",
          }),
          ...size,
          ...rleFormat,
          bits: enumQuery(["1", "8"], "PNG bit depth (default 8)"),
          format: formatQuery(["png", "json", "raw"]),
        }),
      },
      responses: maskAnswer,
    }),
    (c) => decodeAnswer(c, c.req.valid("query")),
  )
  .openapi(
    route({
      method: "post",
      path: "/rle/decode",
      operationId: "rleDecodeJson",
      summary: "RLE(s) in a JSON body -> mask",
      request: {
        query: z.object({
          ...size,
          ...rleFormat,
          bits: enumQuery(["1", "8"], "PNG bit depth (default 8)"),
          format: formatQuery(["png", "json", "raw"]),
        }),
        body: jsonBody(DecodeBody, "the RLE and the mask size; query parameters fill in"),
      },
      responses: maskAnswer,
    }),
    async (c) => decodeAnswer(c, { ...c.req.valid("query"), ...(await readJsonObject(c)) }),
  )
  .openapi(
    route({
      method: "post",
      path: "/rle/encode",
      operationId: "rleEncode",
      summary: "mask image (any non-zero pixel is mask) -> RLE in a dialect",
      request: {
        query: z.object({
          ...rleFormat,
          counts: enumQuery(["string", "array"], "COCO counts as compressed string or array"),
        }),
        body: bytesBody(
          MASK_TYPES,
          "the mask: PNG, GIF or TIFF, recognised by its bytes; a pixel is mask " +
            "when any of its samples is non-zero",
        ),
      },
      responses: {
        200: {
          description: "{rle, dialect, order, width, height, area}",
          content: { "application/json": jsonContent(EncodeAnswer) },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      negotiate(c, ["json"] as const);
      requireContentType(c, MASK_TYPES);
      const q = c.req.valid("query");
      const dialect = parseDialect(q.dialect);
      const order = parseOrder(q.order);
      const counts = q.counts ?? "string";
      const bytes = await readBytes(c);
      const img = await timedAsync(
        c,
        "decode",
        () => maskFromLightBytes(bytes, { maxPixels: maxPixels() }),
      );
      checkSize(img.width, img.height, maxDimension());
      const runs = timed(c, "encode", () => maskToRuns(img.mask, img.width, img.height, order));
      const rle = formatRle(runs, dialect, img.width, img.height, counts);
      const { area } = summarizeRuns(runs, img.width, img.height, order);
      return c.json({ rle, dialect, order, width: img.width, height: img.height, area });
    },
  )
  .openapi(
    route({
      method: "post",
      path: "/rle/batch",
      operationId: "rleBatch",
      summary: "a whole RLE CSV (plain or gzip, streamed) -> one NDJSON line per ImageId",
      request: {
        query: z.object({
          ...size,
          ...rleFormat,
          grouping: enumQuery(
            ["all", "contiguous"],
            "all: merge rows of one ImageId across the file (default); contiguous: stream, merging adjacent rows",
          ),
        }),
        body: bytesBody(
          ["text/csv", "application/gzip", "text/plain", "application/octet-stream"],
          "ImageId,EncodedPixels CSV",
        ),
      },
      responses: {
        200: {
          description:
            "NDJSON: one RleBatchLine (components.schemas) per ImageId: ImageId, rows, has_mask, " +
            "area, bbox, errors; a failure after the first line ends the stream with {error}",
          content: { "application/x-ndjson": ndjsonContent("RleBatchLine") },
        },
        ...problems(415, 422),
      },
    }),
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
      return new Response(ndjson(first, lines), {
        headers: { "content-type": "application/x-ndjson" },
      });
    },
  );

function ndjson<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let pending: IteratorResult<T> | undefined = first;
  // One line per pull: gathering lines would hold back a streamed (contiguous) answer.
  return new ReadableStream({
    async pull(ctl) {
      try {
        const r = pending ?? await rest.next();
        pending = undefined;
        if (r.done) ctl.close();
        else ctl.enqueue(enc.encode(JSON.stringify(r.value) + "\n"));
      } catch (err) {
        // Headers are gone: the failure becomes the last line, so the caller sees where it stopped.
        ctl.enqueue(enc.encode(JSON.stringify({ error: (err as Error).message }) + "\n"));
        ctl.close();
      }
    },
    async cancel() {
      await rest.return(undefined);
    },
  });
}

/** Body limits of the rle routes beyond the default. */
export const rleBodyLimits = { "/rle/batch": STREAM_LIMIT };

/** The rle function alone: `deno run -A functions/rle.ts`. */
export const app = createApp({ bodyLimits: rleBodyLimits }).route("/", rleRoutes);

if (import.meta.main) serve(app);
