/**
 * The dicom routes' declarations (query parameters, bodies, answers, headers), the one zod
 * description of /dicom/info and /dicom/render that validates requests and documents them in
 * OpenAPI; functions/dicom.ts holds the handlers.
 */
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
  problems,
  RAW_HEADERS,
  route,
  z,
} from "../../lib/http/openapi.ts";
import { InvalidInputError } from "../../lib/errors.ts";
import type { Window } from "../../lib/dicom/pixels.ts";

/** The Content-Types a DICOM body may come as. */
export const DICOM_TYPES = ["application/dicom", "application/octet-stream"];

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

/** POST /dicom/info. */
export const infoRoute = route({
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
});

/** POST /dicom/render. */
export const renderRoute = route({
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
});

/** The window a render query asks for: its own centre and width, the dataset's, or none (min-max). */
export function windowParam(
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
