/**
 * Model cards: `models/<name>/card.json`, what a model is, what it takes and gives, how it was
 * trained and measured, and a stored input/output pair that proves the artifact computes what was
 * trained (format in models/README.md; where cards fit: docs/ARCHITECTURE.md).
 */
import { MedimgError } from "../errors.ts";
import { baselinesError, type CardBaseline } from "./card_baselines.ts";

/** A card that cannot be used: the model folder is broken, not the request. */
export class ModelCardError extends MedimgError {
  constructor(message: string) {
    super("model-card", message);
  }
}

/** Channel order a model's image input expects. */
export type InputChannels = "grey" | "rgb" | "green";

/**
 * One model input. Image inputs have a rank-4 NHWC shape, volume inputs a rank-5 NDHWC or NCDHW
 * one; `null` is any size.
 */
export interface CardInput {
  name: string;
  shape: (number | null)[];
  layout?: "NHWC" | "NDHWC" | "NCDHW";
  channels?: InputChannels;
}

/** A volume model's sliding window: size [z, y, x], overlap fraction and blending of windows. */
export interface CardSlidingWindow {
  patch_zyx?: [number, number, number];
  overlap?: number;
  blend?: "gaussian" | "linear" | "constant";
}

/** A stored tensor: shape and little-endian float32 samples in base64. */
export interface StoredTensor {
  shape: number[];
  data: string;
}

/** A coded concept: code value, coding scheme designator (SCT for SNOMED CT) and meaning. */
export interface CardCode {
  value: string;
  scheme: string;
  meaning: string;
}

/**
 * One label of a segmentation model as DICOM SEG describes it: the label value, SegmentLabel,
 * SegmentedPropertyCategory and -Type codes, and the display colour as CIE L*a*b* (`color`: L 0..100,
 * a and b -128..127) or as sRGB (`rgb`: 0..255 each); one of the two at most.
 */
export interface CardSegment {
  label: number;
  name: string;
  category: CardCode;
  type: CardCode;
  color?: [number, number, number];
  rgb?: [number, number, number];
}

/**
 * Segmentation postprocessing a model's answers get by default (lib/image/postprocess.ts), per
 * label: keep the largest `largest` connected components, fill holes, drop components under
 * `min_size` (mm² for 2D models, mL for volumes and series, pixels / voxels without a spacing).
 */
export interface CardPostprocess {
  largest?: number;
  fill_holes?: boolean;
  min_size?: number;
}

/**
 * Test-time augmentation a card allows (`?tta=flip`): the flips, each a list of spatial axes of
 * the model input (2D: 0 y, 1 x; 3D: 0 z, 1 y, 2 x).
 */
export interface CardTta {
  flips: number[][];
}

/** The card of one model. */
export interface ModelCard {
  name: string;
  version: string;
  task: "segmentation" | "classification";
  description?: string;
  intended_use?: string;
  not_for?: string;
  /** tfjs artifact kind: "layers" (LayersModel) or "graph" (GraphModel). */
  format: "layers" | "graph";
  inputs: CardInput[];
  /** Segmentation nets that take any H and W that are multiples of `stride`. */
  fully_convolutional?: boolean;
  stride?: number;
  /** How the runtime tiles images larger than the tile size. */
  tile?: { size: number; overlap: number };
  preprocess?: { preset: string; params?: Record<string, unknown> };
  output: {
    activation: "sigmoid" | "softmax" | "linear";
    meaning?: string;
    classes?: string[];
  };
  threshold?: number;
  /** Volume models: the sliding window (read with {@link volumeInput}). */
  sliding_window?: CardSlidingWindow;
  /** Segmentation: the label value of each output channel (BraTS: 1, 2, 4). */
  label_values?: number[];
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** Other models scored on the same held-out set by the same code (lib/models/card_baselines.ts). */
  baselines?: CardBaseline[];
  license?: string;
  /**
   * Segmentation: what each label is, for DICOM SEG (lib/pipelines/series.ts segmentsFor): its
   * name, SNOMED CT (or other scheme) category and type codes, and a display colour.
   */
  segments?: CardSegment[];
  replay?: { inputs: StoredTensor[]; output: StoredTensor; tolerance: number };
  /** Segmentation: the postprocessing applied unless a request turns it off. */
  postprocess?: CardPostprocess;
  /** Segmentation: the flips `?tta=flip` averages over. */
  tta?: CardTta;
  /** What postprocessing and TTA did on the card's test set (free form, e.g. a table). */
  postprocess_measured?: Record<string, unknown>;
}

function fail(where: string, why: string): never {
  throw new ModelCardError(`card ${where}: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkTensor(v: unknown, where: string): void {
  if (!isObject(v)) fail(where, "must be an object {shape, data}");
  if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(`${where}.shape`, "must be a list of positive integers");
  }
  if (typeof v.data !== "string") fail(`${where}.data`, "must be base64 float32 text");
  const n = (v.shape as number[]).reduce((a, b) => a * b, 1);
  if (decodeFloat32(v.data).length !== n) {
    fail(`${where}.data`, `holds a different number of values than shape ${v.shape} (${n})`);
  }
}

function checkCode(v: unknown, where: string): void {
  if (!isObject(v)) fail(where, "must be a code {value, scheme, meaning}");
  for (const k of ["value", "scheme", "meaning"]) {
    if (typeof v[k] !== "string" || (v[k] as string).trim() === "") {
      fail(`${where}.${k}`, "must be a non-empty string");
    }
  }
  if ((v.value as string).length > 64 || (v.meaning as string).length > 64) {
    fail(where, "value and meaning are at most 64 characters (DICOM SH/LO)");
  }
}

function checkTriple(v: unknown, where: string, lo: number[], hi: number[]): void {
  if (
    !Array.isArray(v) || v.length !== 3 ||
    !v.every((x, i) => typeof x === "number" && x >= lo[i] && x <= hi[i])
  ) fail(where, `must be three numbers within [${lo}] .. [${hi}]`);
}

/** The card's `segments`: unique integer labels 1..65535, names, codes and at most one colour. */
function checkSegments(v: unknown): void {
  if (!Array.isArray(v)) fail("segments", "must be a list");
  const seen = new Set<number>();
  v.forEach((s, i) => {
    const at = `segments[${i}]`;
    if (!isObject(s)) fail(at, "must be an object {label, name, category, type}");
    const label = s.label;
    if (!Number.isInteger(label) || (label as number) < 1 || (label as number) > 65535) {
      fail(`${at}.label`, "must be an integer from 1 to 65535");
    }
    if (seen.has(label as number)) fail(`${at}.label`, `label ${label} is described twice`);
    seen.add(label as number);
    if (typeof s.name !== "string" || s.name.trim() === "" || s.name.length > 64) {
      fail(`${at}.name`, "must be a non-empty string of at most 64 characters");
    }
    checkCode(s.category, `${at}.category`);
    checkCode(s.type, `${at}.type`);
    if (s.color !== undefined && s.rgb !== undefined) {
      fail(at, "give color (L*a*b*) or rgb, not both");
    }
    if (s.color !== undefined) {
      checkTriple(s.color, `${at}.color`, [0, -128, -128], [100, 127, 127]);
    }
    if (s.rgb !== undefined) checkTriple(s.rgb, `${at}.rgb`, [0, 0, 0], [255, 255, 255]);
  });
}

/** The card's `postprocess`: {largest: integer >= 1, fill_holes: boolean, min_size: number >= 0}. */
function checkPostprocess(v: unknown): void {
  if (!isObject(v)) fail("postprocess", "must be {largest, fill_holes, min_size}");
  for (const k of Object.keys(v)) {
    if (!["largest", "fill_holes", "min_size"].includes(k)) {
      fail(`postprocess.${k}`, "is not one of largest, fill_holes, min_size");
    }
  }
  if (v.largest !== undefined && !(Number.isInteger(v.largest) && (v.largest as number) >= 1)) {
    fail("postprocess.largest", "must be an integer >= 1");
  }
  if (v.fill_holes !== undefined && typeof v.fill_holes !== "boolean") {
    fail("postprocess.fill_holes", "must be true or false");
  }
  if (
    v.min_size !== undefined &&
    !(typeof v.min_size === "number" && Number.isFinite(v.min_size) && v.min_size >= 0)
  ) fail("postprocess.min_size", "must be a number >= 0");
}

/**
 * The card's `tta`: `{flips: [[axis, ...], ...]}`, each flip a non-empty list of distinct spatial
 * axes below `rank` (2 for image models, 3 for volume models), no flip twice.
 */
function checkTta(v: unknown, rank: number): void {
  if (!isObject(v)) fail("tta", "must be {flips: [[axes]]}");
  const flips = v.flips;
  if (!Array.isArray(flips) || flips.length === 0) fail("tta.flips", "must be a non-empty list");
  const seen = new Set<string>();
  flips.forEach((f, i) => {
    if (
      !Array.isArray(f) || f.length === 0 || new Set(f).size !== f.length ||
      !f.every((a) => Number.isInteger(a) && a >= 0 && a < rank)
    ) fail(`tta.flips[${i}]`, `must be distinct spatial axes from 0 to ${rank - 1}`);
    const key = [...(f as number[])].sort().join(",");
    if (seen.has(key)) fail(`tta.flips[${i}]`, "repeats a flip");
    seen.add(key);
  });
}

/**
 * Checks a parsed card.json and returns it typed; throws ModelCardError naming the field.
 * @example parseCard(JSON.parse(await Deno.readTextFile("models/ct-liver/card.json")))
 */
export function parseCard(v: unknown): ModelCard {
  if (!isObject(v)) fail("", "must be a JSON object");
  for (const k of ["name", "version"]) {
    if (typeof v[k] !== "string" || v[k] === "") fail(k, "must be a non-empty string");
  }
  if (v.task !== "segmentation" && v.task !== "classification") {
    fail("task", `must be segmentation or classification, got ${JSON.stringify(v.task)}`);
  }
  if (v.format !== "layers" && v.format !== "graph") {
    fail("format", `must be layers or graph, got ${JSON.stringify(v.format)}`);
  }
  if (!Array.isArray(v.inputs) || v.inputs.length === 0) fail("inputs", "must be a non-empty list");
  v.inputs.forEach((inp, i) => {
    if (!isObject(inp) || typeof inp.name !== "string") fail(`inputs[${i}]`, "needs a name");
    if (
      !Array.isArray(inp.shape) ||
      !inp.shape.every((d) => d === null || (Number.isInteger(d) && d > 0))
    ) fail(`inputs[${i}].shape`, "must be a list of positive integers or null");
    if (inp.channels !== undefined && !["grey", "rgb", "green"].includes(inp.channels as string)) {
      fail(`inputs[${i}].channels`, "must be grey, rgb or green");
    }
  });
  if (!isObject(v.output)) fail("output", "must be an object");
  if (!["sigmoid", "softmax", "linear"].includes(v.output.activation as string)) {
    fail("output.activation", "must be sigmoid, softmax or linear");
  }
  if (v.stride !== undefined && !(Number.isInteger(v.stride) && (v.stride as number) > 0)) {
    fail("stride", "must be a positive integer");
  }
  if (v.tile !== undefined) {
    const t = v.tile;
    if (
      !isObject(t) || !Number.isInteger(t.size) || !Number.isInteger(t.overlap) ||
      (t.size as number) < 1 || (t.overlap as number) < 0 ||
      (t.overlap as number) >= (t.size as number)
    ) fail("tile", "must be {size, overlap} with 0 <= overlap < size");
  }
  if (v.preprocess !== undefined) {
    if (!isObject(v.preprocess) || typeof v.preprocess.preset !== "string") {
      fail("preprocess", "must be {preset, params}");
    }
    if (v.preprocess.params !== undefined && !isObject(v.preprocess.params)) {
      fail("preprocess.params", "must be an object");
    }
  }
  if (v.threshold !== undefined && !(typeof v.threshold === "number" && v.threshold >= 0)) {
    fail("threshold", "must be a number");
  }
  if (v.segments !== undefined) checkSegments(v.segments);
  if (v.postprocess !== undefined) checkPostprocess(v.postprocess);
  if (v.tta !== undefined) checkTta(v.tta, (v.inputs[0] as { shape: unknown[] }).shape.length - 2);
  if (v.postprocess_measured !== undefined && !isObject(v.postprocess_measured)) {
    fail("postprocess_measured", "must be an object");
  }
  if (v.baselines !== undefined) {
    const why = baselinesError(v.baselines);
    if (why) fail("baselines", why);
  }
  if (v.replay !== undefined) {
    const r = v.replay;
    if (!isObject(r) || !Array.isArray(r.inputs)) fail("replay", "must be {inputs, output}");
    r.inputs.forEach((t, i) => checkTensor(t, `replay.inputs[${i}]`));
    checkTensor(r.output, "replay.output");
    if (typeof r.tolerance !== "number" || !(r.tolerance >= 0)) {
      fail("replay.tolerance", "must be a number >= 0");
    }
  }
  return v as unknown as ModelCard;
}

/**
 * Base64 of little-endian float32 samples -> Float32Array.
 * @example decodeFloat32(encodeFloat32(Float32Array.of(0.5))) // Float32Array [0.5]
 */
export function decodeFloat32(b64: string): Float32Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new ModelCardError("stored tensor data is not valid base64");
  }
  if (bin.length % 4 !== 0) throw new ModelCardError("stored tensor data is not float32s");
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/**
 * Float32Array -> base64 of its little-endian bytes (for cards' replay pairs).
 * @example encodeFloat32(Float32Array.of(1)) // "AACAPw=="
 */
export function encodeFloat32(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * The image input of a card (the first rank-4 input) with its fixed height/width, or null for any.
 * @example imageInput(card) // { index: 0, height: 512, width: 512, channels: 1, order: "grey" }
 */
export function imageInput(card: ModelCard): {
  index: number;
  height: number | null;
  width: number | null;
  channels: number;
  order: InputChannels;
} {
  const index = card.inputs.findIndex((i) => i.shape.length === 4);
  if (index < 0) throw new ModelCardError(`card of ${card.name}: no rank-4 (NHWC) image input`);
  const [, height, width, c] = card.inputs[index].shape;
  const order = card.inputs[index].channels ?? (c === 3 ? "rgb" : "grey");
  const channels = c ?? (order === "rgb" ? 3 : 1);
  return { index, height, width, channels, order };
}

/**
 * The volume input of a card (its one rank-5 input): channels, the fixed [depth, height, width]
 * (null for any) and the layout (NDHWC when the card names none), or why it is not one.
 * @example volumeInput(card) // { channels: 4, dims: [8, 16, 16], layout: "NDHWC" }
 */
export function volumeInput(card: ModelCard):
  | { channels: number | null; dims: (number | null)[]; layout: "NDHWC" | "NCDHW" }
  | { error: string } {
  const input = card.inputs[0];
  if (card.inputs.length !== 1 || input.shape.length !== 5) {
    return { error: "it needs one rank-5 input [batch, depth, height, width, channels]" };
  }
  const layout = input.layout ?? "NDHWC";
  if (layout !== "NDHWC" && layout !== "NCDHW") return { error: `its input layout is ${layout}` };
  const [, a, b, c, d] = input.shape;
  return layout === "NDHWC"
    ? { channels: d, dims: [a, b, c], layout }
    : { channels: a, dims: [b, c, d], layout };
}
