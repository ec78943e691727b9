/**
 * dicom function: a DICOM file's metadata (`/dicom/info`, without patient identifiers unless
 * `?phi=1`) and one frame rendered through the pixel pipeline (`/dicom/render`), for callers and
 * for debugging what the other functions see.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { InvalidInputError } from "../lib/errors.ts";
import {
  type AppEnv,
  createApp,
  env,
  envInt,
  intParam,
  negotiate,
  readBytes,
  requireContentType,
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
  intQuery,
  JSON_OBJECT,
  numberQuery,
  openApiRoutes,
  problems,
  route,
  z,
} from "../lib/http/openapi.ts";
import { bodyFormat } from "../lib/decode/mod.ts";
import { encodeImagePng } from "../lib/image/png.ts";
import { deidentifyMeta } from "../lib/dicom/deidentify.ts";
import { parseDataSet, readMeta } from "../lib/dicom/parse.ts";
import { decodeDicom, DEFAULT_PIXEL_LIMIT, type Image, type Window } from "../lib/dicom/pixels.ts";

const DICOM_TYPES = ["application/dicom", "application/octet-stream"];
const pixelLimit = () => envInt("MEDIMG_PIXEL_LIMIT", DEFAULT_PIXEL_LIMIT);

async function readDicom(c: Context<AppEnv>): Promise<Uint8Array> {
  requireContentType(c, DICOM_TYPES);
  const bytes = await readBytes(c);
  // A PNG or JPEG sent here is told so (415), not parsed into a puzzling "not DICOM".
  bodyFormat(bytes, ["dicom"]);
  return bytes;
}

/** The frame's value range (for the min-max window). */
function range(data: Image["data"]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return [lo, hi];
}

/** Min-max scaling of [lo, hi] to 0-255 (for frames without a window). */
function toByte(data: Image["data"], [lo, hi]: [number, number]): Uint8Array {
  const out = new Uint8Array(data.length);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) out[i] = Math.round((data[i] - lo) * scale);
  return out;
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
  const [lo, hi] = range(image.data);
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

function windowParam(c: Context<AppEnv>): Window | "dataset" | undefined {
  const center = c.req.query("center"), width = c.req.query("width");
  if (center !== undefined || width !== undefined) {
    const w = { center: Number(center), width: Number(width) };
    if (!Number.isFinite(w.center) || !Number.isFinite(w.width)) {
      throw new InvalidInputError("center and width must both be numbers", { field: "center" });
    }
    // Only a window the caller sent is theirs to fix; the dataset's falls back to min-max.
    if (!(w.width >= 1)) {
      throw new InvalidInputError(`width must be at least 1, got ${w.width}`, { field: "width" });
    }
    return w;
  }
  const mode = c.req.query("window") ?? "dataset";
  if (mode !== "dataset" && mode !== "minmax") {
    throw new InvalidInputError(
      `window must be "dataset" or "minmax", got ${JSON.stringify(mode)}`,
      { field: "window" },
    );
  }
  return mode === "dataset" ? "dataset" : undefined;
}

const dicomBody = bytesBody(DICOM_TYPES, "a DICOM Part 10 file (or a bare dataset)");

/** The dicom routes, to mount on an app made by createApp. */
export const dicomRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(
    route({
      method: "post",
      path: "/dicom/info",
      summary: "DICOM -> typed metadata (no patient name, id or birth date unless phi=1)",
      request: {
        query: z.object({
          phi: enumQuery(["0", "1"], "1 adds patient name, id, birth date and accession number"),
          deidentify: enumQuery(
            ["0", "1"],
            "1 applies the PS3.15 Basic Profile to the answer: the SOP Instance UID replaced (keyed by MEDIMG_DEID_KEY), age and sex removed",
          ),
          retain: enumQuery(
            ["characteristics"],
            "with deidentify=1: Retain Patient Characteristics Option (keep age and sex)",
          ),
          format: formatQuery(["json"]),
        }),
        body: dicomBody,
      },
      responses: {
        200: {
          description: "metadata: modality, rows, columns, spacing, age in years, view, ...",
          content: { "application/json": JSON_OBJECT },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      negotiate(c, ["json"] as const);
      const bytes = await readDicom(c);
      const ds = timed(c, "parse", () => parseDataSet(bytes, pixelLimit()));
      const full = readMeta(ds);
      const withPhi = c.req.query("phi") === "1";
      if (c.req.query("deidentify") === "1") {
        if (withPhi) {
          throw new InvalidInputError("phi=1 and deidentify=1 ask for opposite things", {
            field: "phi",
          });
        }
        const safe = await deidentifyMeta(full, {
          retainPatientCharacteristics: c.req.query("retain") === "characteristics",
          uidKey: env("MEDIMG_DEID_KEY") ?? "",
        });
        return c.json({ ...safe, warnings: ds.warnings });
      }
      const { phi, ...meta } = full;
      return c.json({ ...meta, warnings: ds.warnings, ...(withPhi ? { phi } : {}) });
    },
  )
  .openapi(
    route({
      method: "post",
      path: "/dicom/render",
      summary: "one frame through the Modality LUT and a window -> PNG (or its values raw)",
      request: {
        query: z.object({
          frame: intQuery("frame", "frame index, from 0 (default 0)", 0),
          center: numberQuery("center", "window centre (with width)", 40),
          width: numberQuery("width", "window width (with center)", 400),
          window: enumQuery(
            ["dataset", "minmax"],
            "without center/width: the dataset's window (default) or min-max scaling",
          ),
          format: formatQuery(["png", "json", "raw"]),
        }),
        body: dicomBody,
      },
      responses: {
        200: {
          description:
            "PNG (8-bit grey or RGB), JSON {width, height, channels, frame, frames, applied}, or raw values with X-Image-* headers",
          content: {
            "image/png": BINARY,
            "application/json": JSON_OBJECT,
            "application/octet-stream": BINARY,
          },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      const format = negotiate(c, ["png", "json", "raw"] as const);
      const bytes = await readDicom(c);
      const frame = intParam(c.req.query("frame"), "frame", 0);
      const window = windowParam(c);
      const decoded = await timedAsync(
        c,
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
        ? timed(c, "scale", () => toByte(image.data, minmax))
        : image.data as Uint8Array;
      const png = await timedAsync(
        c,
        "png",
        () => encodeImagePng(display, image.width, image.height, image.channels),
      );
      return sendBytes(c, png, "image/png", windowHeaders(used));
    },
  );

/** The dicom function alone: `deno run -A functions/dicom.ts`. */
export const app = createApp().route("/", dicomRoutes);

if (import.meta.main) serve(app);
