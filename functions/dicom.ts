/**
 * dicom function: a DICOM file's metadata (`/dicom/info`, without patient identifiers unless
 * `?phi=1`) and one frame rendered through the pixel pipeline (`/dicom/render`), for callers and
 * for debugging what the other functions see. The routes are declared in functions/_schemas/dicom.ts.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { InvalidInputError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  env,
  envInt,
  negotiate,
  readBytes,
  requireContentType,
  runSteps,
  sendBytes,
  serve,
} from "../lib/http/mod.ts";
import { openApiRoutes } from "../lib/http/openapi.ts";
import { bodyFormat } from "../lib/decode/mod.ts";
import { encodeImagePng } from "../lib/image/png.ts";
import { deidentifyMeta } from "../lib/dicom/deidentify.ts";
import { parseDataSet, readMeta } from "../lib/dicom/parse.ts";
import { minMax, minMaxTo8 } from "../lib/image/grey8.ts";
import { DICOM_TYPES, infoRoute, renderRoute, windowParam } from "./_schemas/dicom.ts";
import { decodeDicom, DEFAULT_PIXEL_LIMIT, type Image, type Window } from "../lib/dicom/pixels.ts";

const pixelLimit = () => envInt("MEDIMG_PIXEL_LIMIT", DEFAULT_PIXEL_LIMIT);

async function readDicom(c: Context<AppEnv>): Promise<Uint8Array> {
  requireContentType(c, DICOM_TYPES);
  const bytes = await readBytes(c);
  // A PNG or JPEG sent here is told so (415), not parsed into a puzzling "not DICOM".
  bodyFormat(bytes, ["dicom"]);
  return bytes;
}

/** Which window a render used and why, as the answer reports it (headers and JSON). */
interface UsedWindow {
  center: number | null;
  width: number | null;
  source: string;
}

function usedWindow(
  asked: Window | "dataset" | undefined,
  applied: { window: Window | null; windowUnusable: string | null },
  image: Image,
): { used: UsedWindow; minmax: [number, number] | null } {
  if (applied.window) {
    return {
      used: { ...applied.window, source: asked === "dataset" ? "dataset" : "request" },
      minmax: null,
    };
  }
  if (image.data instanceof Uint8Array) {
    const what = image.channels === 1 ? "8-bit frame as stored" : "colour frame as stored";
    return { used: { center: null, width: null, source: `none (${what})` }, minmax: null };
  }
  const [lo, hi] = minMax(image.data);
  const why = image.channels !== 1
    ? "colour frame"
    : asked === "dataset"
    ? applied.windowUnusable ?? "no dataset window"
    : "requested";
  return {
    used: { center: (lo + hi) / 2, width: hi - lo, source: `minmax (${why})` },
    minmax: [lo, hi],
  };
}

function windowHeaders(w: UsedWindow): Record<string, string> {
  return {
    ...(w.center !== null ? { "x-window-center": String(w.center) } : {}),
    ...(w.width !== null ? { "x-window-width": String(w.width) } : {}),
    "x-window-source": w.source,
  };
}

/** The dicom routes, to mount on an app made by createApp. */
export const dicomRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(
    infoRoute,
    async (c) => {
      negotiate(c, ["json"] as const);
      const bytes = await readDicom(c);
      const ds = await runSteps(
        c,
        (run) => run.step("parse", () => parseDataSet(bytes, pixelLimit())),
      );
      const full = readMeta(ds);
      const q = c.req.valid("query");
      const withPhi = q.phi === true;
      if (q.deidentify === true) {
        if (withPhi) {
          throw new InvalidInputError("phi=1 and deidentify=1 ask for opposite things", {
            field: "phi",
          });
        }
        const safe = await deidentifyMeta(full, {
          retainPatientCharacteristics: q.retain === "characteristics",
          uidKey: env("MEDIMG_DEID_KEY") ?? "",
        });
        return c.json({ ...safe, warnings: ds.warnings });
      }
      const { phi, ...meta } = full;
      return c.json({ ...meta, warnings: ds.warnings, ...(withPhi ? { phi } : {}) });
    },
  )
  .openapi(
    renderRoute,
    (c) =>
      runSteps(c, async (run) => {
        const format = negotiate(c, ["png", "json", "raw"] as const);
        const bytes = await readDicom(c);
        const q = c.req.valid("query");
        const frame = q.frame ?? 0;
        const window = windowParam(q);
        const decoded = await run.stepAsync(
          "decode",
          () => decodeDicom(bytes, { frame, window, pixelLimit: pixelLimit() }),
        );
        const { image, meta, applied } = decoded;
        const { used, minmax } = usedWindow(window, applied, image);
        if (format === "raw") {
          return sendBytes(
            c,
            new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
            "application/octet-stream",
            {
              "x-image-width": String(image.width),
              "x-image-height": String(image.height),
              "x-image-channels": String(image.channels),
              "x-image-dtype": image.data.constructor.name.replace("Array", "").toLowerCase(),
              ...windowHeaders(used),
            },
          );
        }
        if (format === "json") {
          return c.json(
            {
              width: image.width,
              height: image.height,
              channels: image.channels,
              frame,
              frames: meta.frames,
              applied,
              window: used,
            },
            200,
            windowHeaders(used),
          );
        }
        const display = minmax
          ? run.step("scale", () => minMaxTo8(image.data, image.data.length, minmax))
          : image.data as Uint8Array;
        const png = await run.stepAsync(
          "png",
          () => encodeImagePng(display, image.width, image.height, image.channels),
        );
        return sendBytes(c, png, "image/png", windowHeaders(used));
      }),
  );

/** The dicom function alone: `deno run -A functions/dicom.ts`. */
export const app = createApp().route("/", dicomRoutes);

if (import.meta.main) serve(app);
