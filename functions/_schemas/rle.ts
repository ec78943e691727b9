/**
 * The rle routes' declarations (query parameters, bodies, answers), the one zod description of
 * /rle/decode, /rle/encode and /rle/batch that validates requests and documents them in OpenAPI;
 * functions/rle.ts holds the handlers.
 */
import {
  BINARY,
  bytesBody,
  enumQuery,
  formatQuery,
  intQuery,
  jsonBody,
  jsonContent,
  ndjsonContent,
  problems,
  RAW_HEADERS,
  route,
  z,
} from "../../lib/http/openapi.ts";
import { DIALECTS } from "../../lib/rle/mod.ts";

// The bytes decide the format (lib/decode/light.ts); these are the Content-Types documented for a
// mask. DICOM and JPEG masks are not taken here: their wasm codecs and lib/dicom would enter this
// function's module graph (edge cold start), and a JPEG mask is lossy anyway.
export const MASK_TYPES = ["image/png", "image/gif", "image/tiff", "application/octet-stream"];

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

/** GET /rle/decode. */
export const getDecodeRoute = route({
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
});

/** POST /rle/decode. */
export const postDecodeRoute = route({
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
});

/** POST /rle/encode. */
export const encodeRoute = route({
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
});

/** POST /rle/batch. */
export const batchRoute = route({
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
});
