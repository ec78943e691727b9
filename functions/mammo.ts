/**
 * mammo function: the seed's CBIS-DDSM full-mammogram pipeline (`/mammo/preprocess`) and its ROI
 * mask pipeline (`/mammo/mask`), for DICOM (16-bit MG), PNG, JPEG, TIFF or GIF input, recognised by
 * its bytes (lib/decode).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import { BadInputError, InvalidInputError, UnsupportedError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  mediaType,
  negotiate,
  readBytes,
  sendBytes,
  serve,
  timed,
  timedAsync,
} from "../lib/http/mod.ts";
import {
  BINARY,
  bytesBody,
  enumQuery,
  fileParts,
  FLAG_VALUE,
  FLAG_VALUES,
  flagQuery,
  formatQuery,
  formContent,
  header,
  intQuery,
  jsonContent,
  numberQuery,
  openApiRoutes,
  problems,
  type Range,
  route,
  z,
} from "../lib/http/openapi.ts";
import { decodeImage, maskFromImage } from "../lib/decode/mod.ts";
import type { Image } from "../lib/image/image.ts";
import { encodeImagePng, encodeMaskRowsPng } from "../lib/image/png.ts";
import { strip } from "../lib/image/strip.ts";
import {
  type GreyInput,
  MAMMO_DEFAULTS,
  type MammoParams,
  mammoPreprocess,
  maskRows,
} from "../lib/pipelines/mammo.ts";

/** A body of any image format (DICOM after Modality LUT and MONOCHROME1 inversion). */
async function readImage(bytes: Uint8Array): Promise<{ image: Image; format: string }> {
  const { image, format } = await decodeImage(bytes);
  return { image, format: format.toUpperCase() };
}

/** A grey image from a body of any image format; colour is a 422. */
async function readGrey(bytes: Uint8Array, what: string): Promise<GreyInput> {
  const { image, format } = await readImage(bytes);
  if (image.channels !== 1) {
    throw new InvalidInputError(
      `${what} must be a grey ${format}, got ${image.channels} channels`,
    );
  }
  const d = image.data;
  const data = d instanceof Uint8Array || d instanceof Uint16Array || d instanceof Int16Array ||
      d instanceof Float32Array
    ? d
    : Float32Array.from(d);
  return { width: image.width, height: image.height, data };
}

/** 8-bit to 16-bit by x257 (0 -> 0, 255 -> 65535), in a plain loop: Uint16Array.from with a
 * callback boxes every value and costs hundreds of MB at 3000x5000. */
function widen(image: Uint8Array): Uint16Array {
  const out = new Uint16Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = image[i] * 257;
  return out;
}

// The bytes decide the format (lib/decode); these are the Content-Types documented for the body.
const IMAGE_TYPES = [
  "image/png",
  "application/dicom",
  "image/jpeg",
  "image/tiff",
  "image/gif",
  "application/octet-stream",
];

function requireImageBody(c: Context<AppEnv>): void {
  const type = mediaType(c);
  if (!IMAGE_TYPES.includes(type)) {
    throw new UnsupportedError(
      `Content-Type ${
        JSON.stringify(type || "(none)")
      } is not accepted here; send image/png or application/dicom (or image/jpeg, image/tiff, ` +
        `image/gif, application/octet-stream: the bytes decide)`,
    );
  }
}

/** Pipeline parameters from the validated query, by their names in MammoParams. */
function params(q: Partial<Record<keyof MammoParams, number>>): Partial<MammoParams> {
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

/** The mammo routes, to mount on an app made by createApp. */
export const mammoRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(
    route({
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
    }),
    async (c) => {
      const format = negotiate(c, ["png", "json"] as const);
      requireImageBody(c);
      const q = c.req.valid("query");
      const bits = q.bits ?? "8";
      const steps = q.steps === true;
      const img = await timedAsync(
        c,
        "read",
        async () => await readGrey(await readBytes(c), "the mammogram"),
      );
      const r = mammoPreprocess(img, params(q), steps);
      for (const [name, ms] of Object.entries(r.timings)) setMetric(c, name, ms);
      const numbers = {
        lr_flip: r.lrFlip,
        crop: r.crop,
        square: r.square,
        breast_bbox: r.breastBox,
        input: { width: img.width, height: img.height },
        params: r.params,
        timings_ms: r.timings,
      };
      if (format === "json") return c.json(numbers);
      const headers = { "x-mammo-lr-flip": String(r.lrFlip), "x-mammo-square": String(r.square) };
      if (steps) {
        const s = strip(r.stages!, 512);
        return sendBytes(c, await encodeImagePng(s.data, s.width, s.height), "image/png", headers);
      }
      const out = bits === "16" ? widen(r.image) : r.image;
      const png = await timedAsync(c, "png", () => encodeImagePng(out, r.square, r.square));
      return sendBytes(c, png, "image/png", headers);
    },
  )
  .openapi(
    route({
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
    }),
    async (c) => {
      negotiate(c, ["png"] as const);
      const type = mediaType(c);
      const q = c.req.valid("query");
      let masks: Uint8Array[] = [];
      let flip: unknown;
      if (type === "multipart/form-data") {
        const form = await c.req.formData().catch((err) => {
          throw new BadInputError(`multipart body could not be read: ${err.message}`);
        });
        for (const f of form.getAll("mask")) {
          if (!(f instanceof File)) throw new BadInputError("each mask field must be a file");
          masks.push(new Uint8Array(await f.arrayBuffer()));
        }
        flip = form.get("lr_flip")?.toString();
      } else if (type === "application/json") {
        const body = await c.req.json().catch(() => {
          throw new BadInputError("request body is not valid JSON");
        });
        if (!Array.isArray(body?.masks)) {
          throw new BadInputError("masks must be a list of base64 image files (PNG, DICOM...)", {
            field: "masks",
          });
        }
        masks = body.masks.map((b: unknown, i: number) => {
          if (typeof b !== "string") {
            throw new BadInputError(`masks[${i}] must be a base64 string`, { field: "masks" });
          }
          try {
            return Uint8Array.from(atob(b), (ch) => ch.charCodeAt(0));
          } catch {
            throw new BadInputError(`masks[${i}] is not valid base64`, { field: "masks" });
          }
        });
        flip = body.lr_flip;
      } else {
        throw new UnsupportedError(
          `Content-Type ${
            JSON.stringify(type || "(none)")
          } is not accepted here; send multipart/form-data or application/json`,
        );
      }
      flip ??= q.lr_flip;
      const lrFlip = FLAG_VALUE.safeParse(flip);
      if (!lrFlip.success) {
        throw new BadInputError(
          `lr_flip must be true or false (or 1 or 0), got ${JSON.stringify(flip ?? null)}`,
          { field: "lr_flip" },
        );
      }
      if (masks.length === 0) throw new BadInputError("no mask given", { field: "mask" });
      // Any non-zero sample is mask: CBIS-DDSM's ROI PNGs are RGB.
      const images = await timedAsync(
        c,
        "decode",
        () => Promise.all(masks.map(async (m) => (await readImage(m)).image)),
      );
      const { width, height } = images[0];
      images.forEach((m, i) => {
        if (m.width !== width || m.height !== height) {
          throw new InvalidInputError(
            `mask ${i} is ${m.width}x${m.height}, but mask 0 is ${width}x${height}: masks of one mammogram must have one size`,
          );
        }
      });
      const binary = timed(c, "binarize", () => images.map(maskFromImage));
      // Summed, cropped, flipped and padded row by row straight into the PNG's scanlines.
      const { square, fillRow } = maskRows(binary, width, height, lrFlip.data, params(q));
      const ms: Record<string, number> = {};
      const png = encodeMaskRowsPng(square, square, fillRow, ms);
      setMetric(c, "sum-crop-flip-pad", ms.rows);
      setMetric(c, "encode", ms.deflate);
      return sendBytes(c, png, "image/png", { "x-mammo-square": String(square) });
    },
  );

/** The mammo function alone: `deno run -A functions/mammo.ts`. */
export const app = createApp().route("/", mammoRoutes);

if (import.meta.main) serve(app);
