/**
 * mammo function: the seed's CBIS-DDSM full-mammogram pipeline (`/mammo/preprocess`) and its ROI
 * mask pipeline (`/mammo/mask`), for DICOM (16-bit MG), PNG, JPEG, TIFF or GIF input, recognised by
 * its bytes (lib/decode), and a mask mapped back onto the original (`/mammo/mapback`). The routes'
 * declarations are in functions/_schemas/mammo.ts.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BadInputError, InvalidInputError, UnsupportedError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
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
import { FLAG_VALUE, IMAGE_TYPES, openApiRoutes } from "../lib/http/openapi.ts";
import { decodeImage, maskFromBytes, maskFromImage } from "../lib/decode/mod.ts";
import type { Image } from "../lib/image/image.ts";
import { encodeImagePng, encodeMaskPng, encodeMaskRowsPng } from "../lib/image/png.ts";
import { strip } from "../lib/image/strip.ts";
import { mammoPreprocess, maskRows } from "../lib/pipelines/mammo.ts";
import { mammoTransform, mapMaskBack } from "../lib/pipelines/mammo_mapback.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import {
  mapbackRoute,
  MapbackTransform,
  maskRoute,
  params,
  preprocessRoute,
} from "./_schemas/mammo.ts";

/** A grey image from a body of any format (DICOM after Modality LUT and MONOCHROME1 inversion). */
async function readGrey(bytes: Uint8Array, what: string): Promise<Image> {
  const { image, format } = await decodeImage(bytes);
  if (image.channels !== 1) {
    throw new InvalidInputError(
      `${what} must be a grey ${format.toUpperCase()}, got ${image.channels} channels`,
    );
  }
  return image;
}

/** 8-bit to 16-bit by x257 (0 -> 0, 255 -> 65535), in a plain loop: Uint16Array.from with a
 * callback boxes every value and costs hundreds of MB at 3000x5000. */
function widen(image: Uint8Array): Uint16Array {
  const out = new Uint16Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = image[i] * 257;
  return out;
}

/** The mask files and the lr_flip sent with them, from a multipart form or a JSON body. */
async function readMasks(c: Context<AppEnv>): Promise<{ masks: Uint8Array[]; flip: unknown }> {
  const type = mediaType(c);
  if (type === "multipart/form-data") {
    const form = await readForm(c, { repeated: "mask", fields: ["lr_flip"], fileAsText: true });
    return { masks: form.repeated, flip: form.fields.lr_flip };
  }
  if (type === "application/json") {
    const body = await c.req.json().catch(() => {
      throw new BadInputError("request body is not valid JSON");
    });
    if (!Array.isArray(body?.masks)) {
      throw new BadInputError("masks must be a list of base64 image files (PNG, DICOM...)", {
        field: "masks",
      });
    }
    const masks = body.masks.map((b: unknown, i: number) => {
      if (typeof b !== "string") {
        throw new BadInputError(`masks[${i}] must be a base64 string`, { field: "masks" });
      }
      try {
        return Uint8Array.from(atob(b), (ch) => ch.charCodeAt(0));
      } catch {
        throw new BadInputError(`masks[${i}] is not valid base64`, { field: "masks" });
      }
    });
    return { masks, flip: body.lr_flip };
  }
  throw new UnsupportedError(
    `Content-Type ${
      JSON.stringify(type || "(none)")
    } is not accepted here; send multipart/form-data or application/json`,
  );
}

/** The mammo routes, to mount on an app made by createApp. */
export const mammoRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(preprocessRoute, async (c) => {
    const format = negotiate(c, ["png", "json"] as const);
    requireContentType(c, IMAGE_TYPES);
    const q = c.req.valid("query");
    const steps = q.steps === true;
    const io = new Steps(stepOptions(c));
    const img = await io.stepAsync(
      "read",
      async () => readGrey(await readBytes(c), "the mammogram"),
    );
    const r = mammoPreprocess(img, params(q), stepOptions(c, { keep: steps }));
    const timings = reportSteps(c, { ...io.timings, ...r.timings });
    delete timings.read; // the answer's timings are the pipeline's steps
    const headers = { "x-mammo-lr-flip": String(r.lrFlip), "x-mammo-square": String(r.square) };
    if (format === "json") {
      return c.json({
        lr_flip: r.lrFlip,
        crop: r.crop,
        square: r.square,
        breast_bbox: r.breastBox,
        input: { width: img.width, height: img.height },
        params: r.params,
        timings_ms: timings,
      });
    }
    if (steps) {
      const s = strip(r.stages!, 512);
      return sendBytes(c, await encodeImagePng(s.data, s.width, s.height), "image/png", headers);
    }
    const out = q.bits === "16" ? widen(r.image) : r.image;
    const png = await io.stepAsync("png", () => encodeImagePng(out, r.square, r.square));
    reportSteps(c, { png: io.timings.png });
    return sendBytes(c, png, "image/png", headers);
  })
  .openapi(maskRoute, async (c) => {
    negotiate(c, ["png"] as const);
    const q = c.req.valid("query");
    const { masks, flip } = await readMasks(c);
    const lrFlip = FLAG_VALUE.safeParse(flip ?? q.lr_flip);
    if (!lrFlip.success) {
      throw new BadInputError(
        `lr_flip must be true or false (or 1 or 0), got ${
          JSON.stringify(flip ?? q.lr_flip ?? null)
        }`,
        { field: "lr_flip" },
      );
    }
    if (masks.length === 0) throw new BadInputError("no mask given", { field: "mask" });
    const run = new Steps(stepOptions(c));
    // Any non-zero sample is mask: CBIS-DDSM's ROI PNGs are RGB.
    const images = await run.stepAsync(
      "decode",
      () => Promise.all(masks.map(async (m) => (await decodeImage(m)).image)),
    );
    const { width, height } = images[0];
    images.forEach((m, i) => {
      if (m.width !== width || m.height !== height) {
        throw new InvalidInputError(
          `mask ${i} is ${m.width}x${m.height}, but mask 0 is ${width}x${height}: masks of one mammogram must have one size`,
        );
      }
    });
    const binary = run.step("binarize", () => images.map(maskFromImage));
    // Summed, cropped, flipped and padded row by row straight into the PNG's scanlines.
    const { square, fillRow } = maskRows(binary, width, height, lrFlip.data, params(q));
    const ms: Record<string, number> = {};
    const png = encodeMaskRowsPng(square, square, fillRow, ms);
    reportSteps(c, { ...run.timings, "sum-crop-flip-pad": ms.rows, encode: ms.deflate });
    return sendBytes(c, png, "image/png", { "x-mammo-square": String(square) });
  })
  .openapi(mapbackRoute, async (c) => {
    negotiate(c, ["png"] as const);
    requireContentType(c, ["multipart/form-data"]);
    // the transform as a text field, or as the file /mammo/preprocess's JSON was saved to
    const { files, fields } = await readForm(c, {
      files: ["mask", "transform"],
      required: ["mask"],
      skipText: true,
      fields: ["transform"],
    });
    const t = readTransform(
      files.transform ? new TextDecoder().decode(files.transform) : fields.transform,
    );
    const run = new Steps(stepOptions(c));
    const mask = await run.stepAsync("decode", () => maskFromBytes(files.mask!));
    const back = run.step("mapback", () => mapMaskBack(t, { ...mask, data: mask.mask }));
    const png = await run.stepAsync("png", () => encodeMaskPng(back, t.width, t.height, 8));
    reportSteps(c, run.timings);
    return sendBytes(c, png, "image/png", {
      "x-image-width": String(t.width),
      "x-image-height": String(t.height),
    });
  });

/** The transform field of /mammo/mapback: /mammo/preprocess's JSON answer, checked. */
function readTransform(text: string | undefined) {
  if (text === undefined) {
    throw new BadInputError("the form has no transform field", { field: "transform" });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadInputError("transform must be the JSON /mammo/preprocess answered", {
      field: "transform",
    });
  }
  const t = MapbackTransform.safeParse(json);
  if (!t.success) {
    const issue = t.error.issues[0];
    throw new InvalidInputError(
      `transform.${
        issue.path.join(".")
      }: ${issue.message}; send the JSON /mammo/preprocess answered`,
      { field: "transform" },
    );
  }
  return mammoTransform(t.data);
}

/** The mammo function alone: `deno run -A functions/mammo.ts`. */
export const app = createApp().route("/", mammoRoutes);

if (import.meta.main) serve(app);
