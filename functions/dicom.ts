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
  flagQuery,
  formatQuery,
  header,
  intQuery,
  jsonContent,
  numberQuery,
  openApiRoutes,
  problems,
  RAW_HEADERS,
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

function windowParam(
  q: { center?: number; width?: number; window?: "dataset" | "minmax" },
): Window | "dataset" | undefined {
  const { center, width } = q;
  if (center !== undefined || width !== undefined) {
    if (center === undefined || width === undefined) {
      throw new InvalidInputError("center and width must both be numbers", {
        field: center === undefined ? "center" : "width",
      });
    }
    // Only a window the caller sent is theirs to fix; the dataset's falls back to min-max.
    if (!(width >= 1)) {
      throw new InvalidInputError(`width must be at least 1, got ${width}`, { field: "width" });
    }
    return { center, width };
  }
  return (q.window ?? "dataset") === "dataset" ? "dataset" : undefined;
}

const dicomBody = bytesBody(DICOM_TYPES, "a DICOM Part 10 file (or a bare dataset)");

const num = z.number(), int = z.number().int(), text = z.string();
/** lib/dicom/parse.ts DicomMeta without phi, as /dicom/info answers it. */
const InfoAnswer = z.strictObject({
  transferSyntaxUID: text.nullable(),
  sopInstanceUID: text.nullable().describe("replaced by a 2.25 UID with deidentify=1"),
  modality: text.nullable(),
  rows: int,
  columns: int,
  frames: int,
  samplesPerPixel: int,
  bitsAllocated: int,
  bitsStored: int,
  highBit: int,
  pixelRepresentation: int,
  planarConfiguration: int,
  photometricInterpretation: text,
  pixelSpacing: z.tuple([num, num]).nullable().describe("[row, column] in mm"),
  pixelSpacingSource: z.enum(["PixelSpacing", "ImagerPixelSpacing"]).nullable(),
  rescaleSlope: num,
  rescaleIntercept: num,
  windowCenter: num.nullable(),
  windowWidth: num.nullable(),
  patientAge: num.nullable().describe("years"),
  patientAgeRaw: text.nullable(),
  patientSex: text.nullable(),
  viewPosition: text.nullable(),
  instanceNumber: num.nullable(),
  sliceLocation: num.nullable(),
  imagePositionPatient: z.tuple([num, num, num]).nullable(),
  problems: z.array(text).describe("header values present but unreadable"),
  warnings: z.array(text).describe("what the parser had to work around"),
  phi: z.strictObject({
    patientName: text.nullable(),
    patientId: text.nullable(),
    patientBirthDate: text.nullable(),
    accessionNumber: text.nullable(),
  }).optional().describe("only with phi=1"),
  patientIdentityRemoved: z.literal("YES").optional().describe("only with deidentify=1"),
  deidentificationMethod: text.optional().describe("only with deidentify=1"),
});
const RenderAnswer = z.strictObject({
  width: int,
  height: int,
  channels: int,
  frame: int,
  frames: int,
  applied: z.strictObject({
    rescale: z.strictObject({ slope: num, intercept: num }).nullable(),
    inverted: z.boolean().describe("MONOCHROME1 inverted"),
    window: z.strictObject({ center: num, width: num }).nullable(),
    colour: text.nullable(),
    windowUnusable: text.nullable().describe("why the dataset's window could not be used"),
  }),
  window: z.strictObject({
    center: num.nullable(),
    width: num.nullable(),
    source: text.describe("dataset, request, minmax (why) or none (8-bit / colour as stored)"),
  }).describe("the window the render used and why"),
});

/** The dicom routes, to mount on an app made by createApp. */
export const dicomRoutes: OpenAPIHono<AppEnv> = openApiRoutes()
  .openapi(
    route({
      method: "post",
      path: "/dicom/info",
      operationId: "dicomInfo",
      summary: "DICOM -> typed metadata (no patient name, id or birth date unless phi=1)",
      request: {
        query: z.object({
          phi: flagQuery("on: adds patient name, id, birth date and accession number"),
          deidentify: flagQuery(
            "on: applies the PS3.15 Basic Profile to the answer: the SOP Instance UID replaced (keyed by MEDIMG_DEID_KEY), age and sex removed",
          ),
          retain: enumQuery(
            ["characteristics"],
            "with deidentify on: Retain Patient Characteristics Option (keep age and sex)",
          ),
          format: formatQuery(["json"]),
        }),
        body: dicomBody,
      },
      responses: {
        200: {
          description: "metadata: modality, rows, columns, spacing, age in years, view, ...",
          content: { "application/json": jsonContent(InfoAnswer) },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      negotiate(c, ["json"] as const);
      const bytes = await readDicom(c);
      const ds = timed(c, "parse", () => parseDataSet(bytes, pixelLimit()));
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
    route({
      method: "post",
      path: "/dicom/render",
      operationId: "dicomRender",
      summary: "one frame through the Modality LUT and a window -> PNG (or its values raw)",
      request: {
        query: z.object({
          frame: intQuery("frame", "frame index, from 0 (default 0)", 0, { min: 0 }),
          center: numberQuery("center", "window centre (with width)", 40),
          width: numberQuery("width", "window width (with center), at least 1", 400, { min: 1 }),
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
            "PNG (8-bit grey or RGB), JSON {width, height, channels, frame, frames, applied, window}, or raw values with X-Image-* headers; X-Window-* say which window was used and why",
          headers: {
            ...RAW_HEADERS,
            "X-Window-Center": header("centre of the window used", { type: "number" }),
            "X-Window-Width": header("width of the window used", { type: "number" }),
            "X-Window-Source": header(
              "dataset, request, minmax (and why, e.g. an unusable dataset window) or none",
            ),
            "X-Image-Channels": header("samples per pixel, interleaved (raw answers)", {
              type: "integer",
            }),
          },
          content: {
            "image/png": BINARY,
            "application/json": jsonContent(RenderAnswer),
            "application/octet-stream": BINARY,
          },
        },
        ...problems(415, 422),
      },
    }),
    async (c) => {
      const format = negotiate(c, ["png", "json", "raw"] as const);
      const bytes = await readDicom(c);
      const q = c.req.valid("query");
      const frame = q.frame ?? 0;
      const window = windowParam(q);
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
