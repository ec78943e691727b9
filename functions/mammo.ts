/**
 * mammo function: the seed's CBIS-DDSM full-mammogram pipeline (`/mammo/preprocess`) and its ROI
 * mask pipeline (`/mammo/mask`), for DICOM (16-bit MG) or PNG input.
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
  numberParam,
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
  formatQuery,
  JSON_OBJECT,
  numberQuery,
  openApiRoutes,
  problems,
  route,
  z,
} from "../lib/http/openapi.ts";
import { decodePng, encodeImagePng, encodeMaskRowsPng, isPng } from "../lib/image/png.ts";
import { strip } from "../lib/image/strip.ts";
import { decodeDicom } from "../lib/dicom/pixels.ts";
import {
  type GreyInput,
  MAMMO_DEFAULTS,
  type MammoParams,
  mammoPreprocess,
  maskRows,
} from "../lib/pipelines/mammo.ts";

/** A grey image from a DICOM (after Modality LUT and MONOCHROME1 inversion) or a PNG body. */
async function readGrey(bytes: Uint8Array, what: string): Promise<GreyInput> {
  if (isPng(bytes)) {
    const png = decodePng(bytes, 1 << 26);
    if (png.channels !== 1) {
      throw new InvalidInputError(`${what} must be a grey PNG, got ${png.channels} channels`);
    }
    return { width: png.width, height: png.height, data: png.data };
  }
  const { image } = await decodeDicom(bytes);
  if (image.channels !== 1) {
    throw new InvalidInputError(`${what} must be a grey image, got ${image.channels} channels`);
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

/**
 * A mask's pixels as bytes that are non-zero exactly where the mask is on. 8-bit masks are used as
 * they are: maskRows sums with saturation and the PNG answer is 0/255, so 255 and 1 give the
 * same answer, and the 10-megapixel copy is saved. Other types in a plain loop (Uint8Array.from
 * with a callback took 3 s for one 2600x4144 mask).
 */
function nonZero(data: GreyInput["data"]): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] > 0 ? 1 : 0;
  return out;
}

function requireImageBody(c: Context<AppEnv>): void {
  const type = mediaType(c);
  if (!["image/png", "application/dicom", "application/octet-stream"].includes(type)) {
    throw new UnsupportedError(
      `Content-Type ${
        JSON.stringify(type || "(none)")
      } is not accepted here; send image/png or application/dicom`,
    );
  }
}

/** Pipeline parameters from the query, by their names in MammoParams. */
function params(c: Context<AppEnv>): Partial<MammoParams> {
  const out: Partial<MammoParams> = {};
  for (const key of Object.keys(MAMMO_DEFAULTS) as (keyof MammoParams)[]) {
    const n = numberParam(c.req.query(key), key);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

/** Every pipeline parameter as a query parameter, with its published default. */
const paramQuery = Object.fromEntries(
  Object.entries(MAMMO_DEFAULTS).map(([k, v]) => [k, numberQuery(k, `default ${v}`, v)]),
);

/** The mammo routes, to mount on an app made by createApp. */
export const mammoRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(
    route({
      method: "post",
      path: "/mammo/preprocess",
      summary: "full mammogram -> the seed's six steps -> square image (or its numbers)",
      request: {
        query: z.object({
          bits: enumQuery(["8", "16"], "bit depth of the PNG answer (default 8)"),
          steps: enumQuery(["0", "1"], "1: a PNG strip of the six stages side by side"),
          format: formatQuery(["png", "json"]),
          ...paramQuery,
        }),
        body: bytesBody(
          ["application/dicom", "image/png"],
          "the mammogram: DICOM (e.g. 16-bit MG) or grey PNG (8 or 16-bit)",
        ),
      },
      responses: {
        200: {
          description:
            "square PNG (X-Mammo-Lr-Flip, X-Mammo-Square headers), the stage strip, or JSON: lr_flip, crop, square, breast_bbox, params, timings_ms",
          content: {
            "image/png": BINARY,
            "application/json": JSON_OBJECT,
          },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      const format = negotiate(c, ["png", "json"] as const);
      requireImageBody(c);
      const bits = c.req.query("bits") ?? "8";
      if (bits !== "8" && bits !== "16") {
        throw new BadInputError(`bits must be 8 or 16, got ${JSON.stringify(bits)}`, {
          field: "bits",
        });
      }
      const steps = c.req.query("steps") === "1";
      const img = await timedAsync(
        c,
        "read",
        async () => await readGrey(await readBytes(c), "the mammogram"),
      );
      const r = mammoPreprocess(img, params(c), steps);
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
      summary: "ROI masks of one mammogram -> summed, cropped, flipped, padded like the image",
      request: {
        query: z.object({
          lr_flip: enumQuery(["true", "false"], "the lr_flip /mammo/preprocess reported"),
          ...paramQuery,
        }),
        body: {
          description: "the masks (PNG or DICOM), as multipart fields 'mask' or JSON base64",
          required: true,
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: {
                  mask: { type: "array", items: { type: "string", format: "binary" } },
                  lr_flip: { type: "string", enum: ["true", "false"] },
                },
              } as const,
            },
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
        200: { description: "the square 8-bit mask PNG", content: { "image/png": BINARY } },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      negotiate(c, ["png"] as const);
      const type = mediaType(c);
      let masks: Uint8Array[] = [];
      let flip: string | undefined;
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
          throw new BadInputError("masks must be a list of base64 PNG or DICOM files", {
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
        flip = body.lr_flip === undefined ? undefined : String(body.lr_flip);
      } else {
        throw new UnsupportedError(
          `Content-Type ${
            JSON.stringify(type || "(none)")
          } is not accepted here; send multipart/form-data or application/json`,
        );
      }
      flip ??= c.req.query("lr_flip");
      if (flip !== "true" && flip !== "false") {
        throw new BadInputError(
          `lr_flip must be true or false, got ${JSON.stringify(flip ?? null)}`,
          { field: "lr_flip" },
        );
      }
      if (masks.length === 0) throw new BadInputError("no mask given", { field: "mask" });
      const images = await timedAsync(
        c,
        "decode",
        () => Promise.all(masks.map((m, i) => readGrey(m, `mask ${i}`))),
      );
      const { width, height } = images[0];
      images.forEach((m, i) => {
        if (m.width !== width || m.height !== height) {
          throw new InvalidInputError(
            `mask ${i} is ${m.width}x${m.height}, but mask 0 is ${width}x${height}: masks of one mammogram must have one size`,
          );
        }
      });
      const binary = timed(c, "binarize", () => images.map((m) => nonZero(m.data)));
      // Summed, cropped, flipped and padded row by row straight into the PNG's scanlines.
      const { square, fillRow } = maskRows(binary, width, height, flip === "true", params(c));
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
