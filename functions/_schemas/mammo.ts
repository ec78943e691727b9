/**
 * The mammo routes' declarations (query parameters, bodies, answers, headers), the one zod
 * description of /mammo/preprocess and /mammo/mask that validates requests and documents them in
 * OpenAPI; functions/mammo.ts holds the handlers.
 */
import {
  BINARY,
  body,
  bytesBody,
  enumQuery,
  filePart,
  fileParts,
  FLAG_VALUES,
  flagQuery,
  formatQuery,
  formContent,
  header,
  IMAGE_TYPES,
  intQuery,
  jsonContent,
  numberQuery,
  problems,
  type Range,
  route,
  z,
} from "../../lib/http/openapi.ts";
import { MAMMO_DEFAULTS, type MammoParams } from "../../lib/pipelines/mammo.ts";

/** Pipeline parameters from the validated query, by their names in MammoParams. */
export function params(q: Partial<Record<keyof MammoParams, number>>): Partial<MammoParams> {
  const out: Partial<MammoParams> = {};
  for (const key of Object.keys(MAMMO_DEFAULTS) as (keyof MammoParams)[]) {
    if (q[key] !== undefined) out[key] = q[key];
  }
  return out;
}

/** The documented range of each pipeline parameter (lib/pipelines/mammo.ts checks the same). */
const PARAM_RANGES: Record<keyof MammoParams, Range & { integer?: boolean }> = {
  cropLeft: { min: 0, max: 0.5, exclusiveMax: true },
  cropRight: { min: 0, max: 0.5, exclusiveMax: true },
  cropTop: { min: 0, max: 0.5, exclusiveMax: true },
  cropBottom: { min: 0, max: 0.5, exclusiveMax: true },
  threshold: { min: 0, max: 1 },
  kernel: { min: 1, max: 255, integer: true },
  clipLimit: { min: 0 },
  tiles: { min: 1, max: 64, integer: true },
};

/** Every pipeline parameter as a query parameter, with its published default and range. */
const paramQuery = Object.fromEntries(
  (Object.entries(MAMMO_DEFAULTS) as [keyof MammoParams, number][]).map(([k, v]) => {
    const { integer, ...range } = PARAM_RANGES[k];
    return [k, (integer ? intQuery : numberQuery)(k, `default ${v}`, v, range)];
  }),
) as Record<keyof MammoParams, ReturnType<typeof numberQuery>>;

const int = z.number().int();
const Box = z.strictObject({ x0: int, y0: int, x1: int, y1: int });
const PreprocessAnswer = z.strictObject({
  lr_flip: z.boolean().describe("the image was flipped left-right (the seed's lr_flip)"),
  crop: Box.describe("crop in input pixels: columns [x0, x1), rows [y0, y1)"),
  square: int.describe("side of the square answer"),
  breast_bbox: Box.nullable().describe("the breast in the square image"),
  input: z.strictObject({ width: int, height: int }),
  params: z.strictObject(
    Object.fromEntries(Object.keys(MAMMO_DEFAULTS).map((k) => [k, z.number()])),
  ).describe("the parameters used (query values over the defaults)"),
  timings_ms: z.record(z.string(), z.number()),
});
const MAMMO_HEADERS = {
  "X-Mammo-Lr-Flip": header("true when the image was flipped left-right (send it to /mammo/mask)", {
    type: "string",
    enum: ["true", "false"],
  }),
  "X-Mammo-Square": header("side of the square image in pixels", { type: "integer" }),
};

/** POST /mammo/preprocess. */
export const preprocessRoute = route({
  method: "post",
  path: "/mammo/preprocess",
  operationId: "mammoPreprocess",
  summary: "full mammogram -> the seed's six steps -> square image (or its numbers)",
  request: {
    query: z.object({
      bits: enumQuery(["8", "16"], "bit depth of the PNG answer (default 8)"),
      steps: flagQuery("on: a PNG strip of the six stages side by side"),
      format: formatQuery(["png", "json"]),
      ...paramQuery,
    }),
    body: bytesBody(
      IMAGE_TYPES,
      "the mammogram: DICOM (e.g. 16-bit MG) or a grey PNG (8 or 16-bit), JPEG, TIFF or GIF, " +
        "recognised by its bytes",
    ),
  },
  responses: {
    200: {
      description:
        "square PNG (X-Mammo-Lr-Flip, X-Mammo-Square headers), the stage strip, or JSON: lr_flip, crop, square, breast_bbox, params, timings_ms",
      headers: MAMMO_HEADERS,
      content: {
        "image/png": BINARY,
        "application/json": jsonContent(PreprocessAnswer),
      },
    },
    ...problems(415, 422),
  },
});

/** POST /mammo/mask. */
export const maskRoute = route({
  method: "post",
  path: "/mammo/mask",
  operationId: "mammoMask",
  summary: "ROI masks of one mammogram -> summed, cropped, flipped, padded like the image",
  request: {
    query: z.object({
      lr_flip: flagQuery(
        "the lr_flip /mammo/preprocess reported",
        "required here unless sent as a form field or JSON member",
      ),
      ...paramQuery,
    }),
    body: {
      description:
        "the masks (PNG, DICOM, JPEG, TIFF or GIF; any non-zero colour is mask, so RGB ROI " +
        "PNGs are masks), as multipart fields 'mask' or JSON base64",
      required: true,
      content: {
        ...formContent(
          {
            mask: fileParts(
              "one ROI mask per part (DICOM, PNG, JPEG, TIFF or GIF; any non-zero colour is mask; " +
                "one size), " +
                "summed",
            ),
            lr_flip: {
              type: "string",
              enum: [...FLAG_VALUES],
              description: "the X-Mammo-Lr-Flip /mammo/preprocess answered for the image " +
                "(or the lr_flip query parameter)",
            },
          },
          ["mask"],
          { mask: IMAGE_TYPES },
        ),
        "application/json": {
          schema: {
            type: "object",
            required: ["masks", "lr_flip"],
            properties: {
              masks: { type: "array", items: { type: "string", contentEncoding: "base64" } },
              lr_flip: { type: "boolean" },
            },
          } as const,
        },
      },
    },
  },
  responses: {
    200: {
      description: "the square 8-bit mask PNG",
      headers: { "X-Mammo-Square": MAMMO_HEADERS["X-Mammo-Square"] },
      content: { "image/png": BINARY },
    },
    ...problems(415, 422),
  },
});

/**
 * What POST /mammo/mapback reads from its `transform` field: the members of the JSON
 * /mammo/preprocess answered that say how to undo it (the whole answer may be sent).
 */
export const MapbackTransform = z.looseObject({
  input: z.object({ width: int.positive(), height: int.positive() }),
  crop: Box,
  lr_flip: z.boolean(),
  square: int.positive(),
});

/** POST /mammo/mapback. */
export const mapbackRoute = route({
  method: "post",
  path: "/mammo/mapback",
  operationId: "mammoMapback",
  summary: "a mask on the preprocessed square (or a model's square input) -> the original's grid",
  request: {
    body: body(
      "the mask and the transform /mammo/preprocess answered for its mammogram",
      formContent(
        {
          mask: filePart(
            "the mask (PNG, DICOM, JPEG, TIFF or GIF; any non-zero colour is mask), square: the " +
              "preprocessed square, or a model's square input (mapped back by nearest neighbour)",
          ),
          transform: {
            type: "string",
            description: "the JSON /mammo/preprocess?format=json answered (input, crop, lr_flip, " +
              "square are read; the rest is ignored), as a text field or a file of it",
          },
        },
        ["mask", "transform"],
        { mask: IMAGE_TYPES },
      ),
    ),
  },
  responses: {
    200: {
      description: "the 8-bit 0/255 mask PNG on the original mammogram's grid (0 outside the " +
        "crop box): the crop, flip and pad undone, and a resize when the mask was not at the " +
        "square's size",
      headers: {
        "X-Image-Width": header("width of the original", { type: "integer" }),
        "X-Image-Height": header("height of the original", { type: "integer" }),
      },
      content: { "image/png": BINARY },
    },
    ...problems(400, 415, 422),
  },
});
