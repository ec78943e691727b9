/**
 * The cxr pneumonia pipeline (seed 002): DICOM-style metadata -> the model's six
 * features (age one-hot over 0-20, 20-40, 40-60, 60-80, 80+ years, then view PA = 1 / AP = 0), and
 * the image -> 8-bit grey -> CLAHE clip 4, 8x8 tiles -> isotropic 1 mm pixels from the pixel
 * spacing (OpenCV INTER_AREA when shrinking, INTER_CUBIC when growing) -> 224 x 224 INTER_CUBIC ->
 * / 255. Each step is named and timed; its Python twin is reference/cxr_preprocess.py (cv2 4.6),
 * which made the training inputs. `cxrClassify` runs the two-input model on both and, when asked,
 * Grad-CAM (Selvaraju et al. 2017) on the card's last conv layer: the gradients it needs (dense,
 * ReLU, mean, concat) all have kernels in tfjs' inference-only wasm backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { BadInputError, InvalidInputError } from "../errors.ts";
import type { LoadedModel } from "../models/load.ts";
import { clahe } from "../image/clahe.ts";
import type { Image } from "../image/image.ts";
import { resize } from "../image/resize.ts";
import { parseAge } from "../dicom/parse.ts";
import type { PresetTensor } from "../models/presets.ts";

/** Image parameters, with the published defaults (the seed's). */
export interface CxrParams {
  clipLimit: number;
  tiles: number;
  /** Pixel size in mm of the resampling step. */
  targetSpacing: number;
  /** Side of the model input. */
  size: number;
  /**
   * Assumed width in mm of the whole image when no pixel spacing is known (the most common RSNA
   * film: 1024 px x 0.168 mm; the training films range 118-199 mm). Only the resampling step uses
   * spacing.
   */
  assumedFieldMm: number;
}

/** The published defaults. */
export const CXR_DEFAULTS: CxrParams = {
  clipLimit: 4,
  tiles: 8,
  targetSpacing: 1,
  size: 224,
  assumedFieldMm: 172,
};

/** Bucket boundaries in years: [0,20), [20,40), [40,60), [60,80), [80,inf). */
export const AGE_EDGES = [20, 40, 60, 80] as const;

/** Names of the six features, in the model's order. */
export const FEATURE_NAMES = [
  "age_0_20",
  "age_20_40",
  "age_40_60",
  "age_60_80",
  "age_80_plus",
  "view_pa",
] as const;

/**
 * Values used for a missing feature: the feature's mean over the training rows (1,000 RSNA films,
 * training/cxr-pneumonia/split.csv), i.e. mean imputation; the model never saw such inputs in training, so
 * the answer lists every imputed feature.
 */
export const FEATURE_MEANS = {
  age: [0.041, 0.27, 0.452, 0.221, 0.016],
  view: 0.519,
} as const;

/** Metadata as a caller or a DICOM gives it; anything may be missing. */
export interface CxrMetaInput {
  /** Years as a number, or a DICOM AS string ("058Y", "006M", "003W", "010D") or bare number. */
  age?: number | string | null;
  /** PatientSex (M, F, O): reported, not a model feature. */
  sex?: string | null;
  /** ViewPosition: PA or AP. */
  view?: string | null;
  /** [row, column] mm, or "0.168", "0.168,0.168", "0.168\\0.168". */
  spacing?: [number, number] | number | string | null;
}

/** The features and what they were made from. */
export interface CxrFeatures {
  vector: Float32Array;
  /** Age in years, its bucket index (0-4), or null when missing (then the means were used). */
  age: { years: number; bucket: number } | null;
  view: "PA" | "AP" | null;
  sex: "M" | "F" | "O" | null;
  /** One line per missing feature: what was missing and what was assumed. */
  assumed: string[];
}

/**
 * Bucket index (0-4) of an age in years.
 * @example ageBucket(58) // 2 (40-60)
 */
export function ageBucket(years: number): number {
  let i = 0;
  while (i < AGE_EDGES.length && years >= AGE_EDGES[i]) i++;
  return i;
}

/**
 * Age in years from a number or an AS/bare-number string; null when absent. Unreadable text is a
 * 400, an age outside 0-150 years a 422.
 * @example readAge("006M") // 0.5
 */
export function readAge(v: number | string | null | undefined): number | null {
  if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) return null;
  const years = typeof v === "number" ? v : parseAge(v);
  if (years === null || !Number.isFinite(years)) {
    throw new BadInputError(
      `age must be a number of years or a DICOM age string like 058Y, 006M, 003W or 010D; got ${
        JSON.stringify(v)
      }`,
      { field: "age" },
    );
  }
  if (years < 0 || years > 150) {
    throw new InvalidInputError(`age must be from 0 to 150 years, got ${years}`, { field: "age" });
  }
  return years;
}

/**
 * View position PA or AP (case and surrounding space ignored); null when absent. Any other view
 * (lateral, a typo) is a 422: the model knows frontal films only.
 * @example readView(" pa ") // "PA"
 */
export function readView(v: string | null | undefined): "PA" | "AP" | null {
  if (v === null || v === undefined || v.trim() === "") return null;
  const u = v.trim().toUpperCase();
  if (u === "PA" || u === "AP") return u;
  throw new InvalidInputError(
    `view must be PA or AP (the model knows frontal chest films only), got ${JSON.stringify(v)}`,
    { field: "view" },
  );
}

function readSex(v: string | null | undefined): "M" | "F" | "O" | null {
  if (v === null || v === undefined || v.trim() === "") return null;
  const u = v.trim().toUpperCase();
  if (u === "M" || u === "F" || u === "O") return u;
  throw new BadInputError(`sex must be M, F or O, got ${JSON.stringify(v)}`, { field: "sex" });
}

/**
 * [row, column] spacing in mm from a pair, one number (square pixels) or text ("0.168",
 * "0.168,0.168", DICOM's "0.168\\0.168"); null when absent. Not a number: 400; not in (0, 10] mm: 422.
 * @example readSpacing("0.143\\0.143") // [0.143, 0.143]
 */
export function readSpacing(v: CxrMetaInput["spacing"]): [number, number] | null {
  if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) return null;
  const parts = typeof v === "number"
    ? [v, v]
    : typeof v === "string"
    ? v.split(/[\\,\s]+/).filter((s) => s !== "").map(Number)
    : v.map(Number);
  if (parts.length === 1) parts.push(parts[0]);
  if (parts.length !== 2 || !parts.every(Number.isFinite)) {
    throw new BadInputError(
      `spacing must be one or two numbers of mm (row, column), got ${JSON.stringify(v)}`,
      { field: "spacing" },
    );
  }
  if (!parts.every((p) => p > 0 && p <= 10)) {
    throw new InvalidInputError(`spacing must be in (0, 10] mm, got ${parts.join(", ")}`, {
      field: "spacing",
    });
  }
  return [parts[0], parts[1]];
}

/**
 * The widths in mm a film may span and still be a chest as this model knows one: a chest field is
 * at most 43 cm (the largest detector) and the RSNA training films span 118-199 mm as stored (their
 * PixelSpacing predates the 1024 px downsampling), so the lower bound sits below those. Outside it
 * the spacing, not the patient, is the likely error.
 */
export const CHEST_WIDTH_MM: readonly [number, number] = [100, 600];

/**
 * A warning when `width` pixels at `spacing` ([row, column] mm) is no plausible chest, else null.
 * @example chestWidthWarning(1024, [0.05, 0.05]) // "the film is 51.2 mm across (1024 px x 0.05 mm) ..."
 */
export function chestWidthWarning(width: number, spacing: [number, number]): string | null {
  const mm = width * spacing[1];
  const [lo, hi] = CHEST_WIDTH_MM;
  if (mm >= lo && mm <= hi) return null;
  return `the film is ${Math.round(mm * 10) / 10} mm across (${width} px x ${spacing[1]} mm), ` +
    `${mm < lo ? "under" : "over"} the ${lo}-${hi} mm of a chest: check spacing; ` +
    `the 1 mm resampling used it as given`;
}

/**
 * The six model features from metadata. A missing age or view is replaced by its training mean
 * (FEATURE_MEANS, or `means` from the model card) and said so in `assumed`.
 * @example cxrFeatures({ age: "058Y", view: "PA" }).vector // [0, 0, 1, 0, 0, 1]
 */
export function cxrFeatures(
  meta: CxrMetaInput,
  means: { age: readonly number[]; view: number } = FEATURE_MEANS,
): CxrFeatures {
  const years = readAge(meta.age);
  const view = readView(meta.view);
  const sex = readSex(meta.sex);
  const vector = new Float32Array(6);
  const assumed: string[] = [];
  let age: CxrFeatures["age"] = null;
  if (years === null) {
    vector.set(means.age, 0);
    assumed.push(
      `age missing: the age features were set to their training means (${means.age.join(", ")})`,
    );
  } else {
    age = { years, bucket: ageBucket(years) };
    vector[age.bucket] = 1;
  }
  if (view === null) {
    vector[5] = means.view;
    assumed.push(`view missing: view_pa was set to its training mean ${means.view}`);
  } else {
    vector[5] = view === "PA" ? 1 : 0;
  }
  return { vector, age, view, sex, assumed };
}

/**
 * OpenCV's `cv::resize(..., INTER_AREA)` for shrinking an 8-bit grey image by a non-integer
 * factor (resizeArea_Invoker: per-axis area weights from computeResizeAreaTab, float32
 * accumulation row by row, rounding half to even). OpenCV takes a separate integer-factor path
 * (resizeAreaFast) whose rounding can differ by one grey level; this code uses the general one.
 * @example resizeArea({ width: 1024, height: 1024, channels: 1, data }, 143, 143)
 */
export function resizeArea(
  img: Image<Uint8Array>,
  width: number,
  height: number,
): Image<Uint8Array> {
  const { width: sw, height: sh, data } = img;
  if (width > sw || height > sh || width < 1 || height < 1) {
    throw new InvalidInputError(`resizeArea shrinks only: ${sw}x${sh} -> ${width}x${height}`);
  }
  const xt = areaTable(sw, width), yt = areaTable(sh, height);
  // Each destination column's sources are one contiguous run: its first source and first entry.
  const xFirst = new Int32Array(width), xStart = new Int32Array(width + 1);
  for (let k = xt.n - 1; k >= 0; k--) xStart[xt.di[k]] = k, xFirst[xt.di[k]] = xt.si[k];
  xStart[width] = xt.n;
  const xa = xt.alpha;
  const out = new Uint8Array(width * height);
  const buf = new Float32Array(width), sum = new Float32Array(width);
  const f = Math.fround;
  let prev = yt.di[0], lastRow = -1;
  for (let j = 0; j < yt.n; j++) {
    const beta = yt.alpha[j], dy = yt.di[j], sy = yt.si[j];
    if (sy !== lastRow) {
      // Products and sums rounded to float32 in OpenCV's order (a row shared by two destination
      // rows is summed once).
      const row = sy * sw;
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = xStart[x], s = row + xFirst[x]; k < xStart[x + 1]; k++, s++) {
          acc = f(acc + f(data[s] * xa[k]));
        }
        buf[x] = acc;
      }
      lastRow = sy;
    }
    if (dy !== prev) {
      for (let x = 0, o = prev * width; x < width; x++) {
        out[o + x] = roundByte(sum[x]);
        sum[x] = beta * buf[x];
      }
      prev = dy;
    } else {
      for (let x = 0; x < width; x++) sum[x] += f(beta * buf[x]);
    }
  }
  for (let x = 0, o = prev * width; x < width; x++) out[o + x] = roundByte(sum[x]);
  return { width, height, channels: 1, data: out };
}

/** cvRound then saturate to 0-255. */
function roundByte(v: number): number {
  const r = Math.round(v);
  const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return even < 0 ? 0 : even > 255 ? 255 : even;
}

/** OpenCV computeResizeAreaTab for one axis: (destination, source, weight) triples. */
function areaTable(ssize: number, dsize: number) {
  const scale = 1 / (dsize / ssize);
  const di: number[] = [], si: number[] = [], alpha: number[] = [];
  const push = (d: number, s: number, a: number) => {
    di.push(d);
    si.push(s);
    alpha.push(Math.fround(a));
  };
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale, fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) push(dx, sx1 - 1, (sx1 - fsx1) / cellWidth);
    for (let sx = sx1; sx < sx2; sx++) push(dx, sx, 1 / cellWidth);
    if (fsx2 - sx2 > 1e-3) {
      push(dx, sx2, Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth);
    }
  }
  return {
    n: di.length,
    di: Int32Array.from(di),
    si: Int32Array.from(si),
    alpha: Float32Array.from(alpha),
  };
}

/**
 * Size at `target` mm pixels: floor(side * spacing / target + 0.5), at least 1 (the Python twin's
 * rule; spacing is [row, column]).
 * @example resampleSize(1024, 1024, [0.168, 0.168]) // [172, 172]
 */
export function resampleSize(
  width: number,
  height: number,
  spacing: [number, number],
  target = 1,
): [number, number] {
  return [
    Math.max(1, Math.floor((width * spacing[1]) / target + 0.5)),
    Math.max(1, Math.floor((height * spacing[0]) / target + 0.5)),
  ];
}

/**
 * An image as 8-bit grey: 8-bit grey as it is; RGB by OpenCV's RGB2GRAY fixed-point weights
 * (0.299, 0.587, 0.114); other sample types through `window` when given (a DICOM's VOI window),
 * else stretched min-max to 0-255. `applied` says which.
 * @example toGrey8({ width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) }).image.data // [76]
 */
export function toGrey8(
  img: Image,
  window?: { center: number; width: number } | null,
): { image: Image<Uint8Array>; applied: string | null } {
  const { width, height, data } = img;
  const n = width * height;
  if (img.channels === 3) {
    if (!(data instanceof Uint8Array)) {
      throw new InvalidInputError("colour images must be 8-bit RGB; send a grey image");
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = (data[3 * i] * 4899 + data[3 * i + 1] * 9617 + data[3 * i + 2] * 1868 + 8192) >> 14;
    }
    return {
      image: { width, height, channels: 1, data: out, spacing: img.spacing },
      applied: "RGB to grey (OpenCV RGB2GRAY)",
    };
  }
  if (data instanceof Uint8Array) return { image: img as Image<Uint8Array>, applied: null };
  // Some decoders (libjpeg-turbo's wasm) hand 8-bit frames over as Uint8ClampedArray.
  if ((data as unknown) instanceof Uint8ClampedArray) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, n);
    return {
      image: { width, height, channels: 1, data: bytes, spacing: img.spacing },
      applied: null,
    };
  }
  const out = new Uint8Array(n);
  if (window && window.width >= 1) {
    const c = window.center - 0.5, half = (window.width - 1) / 2, k = 255 / (window.width - 1);
    for (let i = 0; i < n; i++) {
      const x = data[i];
      out[i] = x <= c - half ? 0 : x > c + half ? 255 : Math.round((x - c) * k + 127.5);
    }
    return {
      image: { width, height, channels: 1, data: out, spacing: img.spacing },
      applied: `window centre ${window.center} width ${window.width} to 8-bit`,
    };
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) out[i] = Math.round((data[i] - lo) * k);
  return {
    image: { width, height, channels: 1, data: out, spacing: img.spacing },
    applied: `min-max ${lo}..${hi} to 8-bit`,
  };
}

/** What {@link cxrPreprocess} gives. */
export interface CxrPreprocessed {
  /** The model input, 224 x 224 float32 in [0, 1] (HWC with one channel). */
  tensor: Float32Array;
  /** The same as 8-bit (before / 255), for pictures and the Python parity test. */
  image8: Uint8Array;
  size: number;
  /** Spacing used, and whether it was assumed. */
  spacing: [number, number];
  spacingAssumed: boolean;
  /** Size after the 1 mm resampling step. */
  resampled: [number, number];
  /** What was done to reach 8-bit grey, if anything. */
  grey8: string | null;
  params: CxrParams;
  /** ms per step: grey8, clahe, resample, resize, scale. */
  timings: Record<string, number>;
  /** Each step's 8-bit image, when asked for. */
  steps?: { name: string; width: number; height: number; data: Uint8Array }[];
}

function checkParams(p: CxrParams): void {
  const rules: [keyof CxrParams, boolean, string][] = [
    ["clipLimit", p.clipLimit >= 0 && p.clipLimit <= 1000, "from 0 to 1000"],
    ["tiles", Number.isInteger(p.tiles) && p.tiles >= 1 && p.tiles <= 64, "an integer 1-64"],
    ["targetSpacing", p.targetSpacing > 0 && p.targetSpacing <= 10, "in (0, 10] mm"],
    ["size", Number.isInteger(p.size) && p.size >= 8 && p.size <= 2048, "an integer 8-2048"],
    ["assumedFieldMm", p.assumedFieldMm > 0 && p.assumedFieldMm <= 2000, "in (0, 2000] mm"],
  ];
  for (const [k, ok, what] of rules) {
    if (!ok) throw new InvalidInputError(`${k} must be ${what}, got ${p[k]}`, { field: k });
  }
}

/**
 * The image steps: grey8 -> clahe -> resample (to `targetSpacing` mm) -> resize (size x size
 * bicubic) -> scale (/ 255). Spacing comes from `spacing`, else the image's own, else the image is
 * taken to span `assumedFieldMm` across its width (said in `spacingAssumed`).
 * @example const { tensor, timings } = cxrPreprocess(dicomImage)
 */
export function cxrPreprocess(
  input: Image,
  spacing: [number, number] | null = null,
  overrides: Partial<CxrParams> = {},
  options: { steps?: boolean; window?: { center: number; width: number } | null } = {},
): CxrPreprocessed {
  const params = { ...CXR_DEFAULTS, ...overrides };
  checkParams(params);
  const timings: Record<string, number> = {};
  const steps: NonNullable<CxrPreprocessed["steps"]> = [];
  const keep = (name: string, im: Image<Uint8Array>) => {
    if (options.steps) steps.push({ name, width: im.width, height: im.height, data: im.data });
  };
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = now - t;
    t = now;
  };

  const { image: grey, applied } = toGrey8(input, options.window);
  lap("grey8");
  keep("grey8", grey);
  const eq = clahe(grey, params.clipLimit, params.tiles);
  const equalised: Image<Uint8Array> = {
    width: grey.width,
    height: grey.height,
    channels: 1,
    data: eq.data,
  };
  lap("clahe");
  keep("clahe", equalised);
  const given = spacing ?? input.spacing ?? null;
  const used: [number, number] = given ??
    [params.assumedFieldMm / grey.width, params.assumedFieldMm / grey.width];
  const [rw, rh] = resampleSize(grey.width, grey.height, used, params.targetSpacing);
  let resampled = equalised;
  if (rw !== grey.width || rh !== grey.height) {
    resampled = rw <= grey.width && rh <= grey.height
      ? resizeArea(equalised, rw, rh)
      : resize(equalised, rw, rh, "bicubic");
  }
  lap("resample");
  keep("resample", resampled);
  const sized = resize(resampled, params.size, params.size, "bicubic");
  lap("resize");
  keep("resize", sized);
  const tensor = new Float32Array(sized.data.length);
  // A double quotient rounded to float32 equals Python's float32 division (53 >= 2 * 24 + 2 bits).
  for (let i = 0; i < tensor.length; i++) tensor[i] = sized.data[i] / 255;
  lap("scale");
  return {
    tensor,
    image8: sized.data,
    size: params.size,
    spacing: used,
    spacingAssumed: given === null,
    resampled: [rw, rh],
    grey8: applied,
    params,
    timings,
    ...(options.steps ? { steps } : {}),
  };
}

/**
 * The `cxr-pneumonia` preset for the model runtime (lib/models/presets.ts): the image steps with
 * the card's params, spacing from `meta.spacing`.
 * @example cxrPneumonia(image, { spacing: [0.168, 0.168] }, {}).tensor.length // 224 * 224
 */
export function cxrPneumonia(
  input: Image,
  meta: { spacing?: [number, number]; [key: string]: unknown },
  params: Record<string, unknown>,
): PresetTensor {
  const r = cxrPreprocess(input, meta.spacing ?? null, params as Partial<CxrParams>);
  return { tensor: r.tensor, width: r.size, height: r.size, channels: 1 };
}

/** The card fields cxrClassify reads beyond the runtime's ModelCard. */
interface CxrCard {
  threshold?: number;
  grad_cam_layer?: string;
  output: { classes?: string[] };
  preprocess?: { params?: Record<string, unknown> };
}

/** A Grad-CAM map. */
export interface CxrHeatmap {
  method: "grad-cam";
  layer: string;
  /** The class-activation map on the layer's grid, ReLU'd, not normalised. */
  grid: { width: number; height: number; data: Float32Array };
  /** The 224 x 224 preprocessed film with the map (normalised to its maximum) blended over it, RGB. */
  overlay: { width: number; height: number; data: Uint8Array };
}

/** What {@link cxrClassify} answers. */
export interface CxrClassification {
  probability: number;
  label: string;
  positive: boolean;
  threshold: number;
  features: CxrFeatures;
  preprocessed: CxrPreprocessed;
  /** ms per stage: the preprocessing steps, features, model (and heatmap). */
  timings: Record<string, number>;
  heatmap?: CxrHeatmap;
}

const camModels = new WeakMap<tfl.LayersModel, tfl.LayersModel>();

function camModel(model: tfl.LayersModel, layer: string): tfl.LayersModel {
  let m = camModels.get(model);
  if (!m) {
    m = tfl.model({
      inputs: model.inputs[0],
      outputs: model.getLayer(layer).output as tfl.SymbolicTensor,
    });
    camModels.set(model, m);
  }
  return m;
}

/**
 * The model's output from the activations of `layer`, by applying every later layer in the graph's
 * order (the image branch before `layer` is skipped; other inputs are taken as given).
 */
function headFrom(
  model: tfl.LayersModel,
  layer: string,
  activations: tf.Tensor,
  inputs: Record<string, tf.Tensor>,
): tf.Tensor {
  const known = new Map<string, tf.Tensor>(Object.entries(inputs));
  known.set(layer, activations);
  for (const l of model.layers) {
    if (known.has(l.name)) continue;
    const from = l.inboundNodes[0]?.inboundLayers.map((x) => x.name) ?? [];
    if (from.length === 0 || !from.every((n) => known.has(n))) continue;
    const xs = from.map((n) => known.get(n)!);
    known.set(l.name, l.apply(xs.length === 1 ? xs[0] : xs) as tf.Tensor);
  }
  const out = known.get(model.outputLayers[0].name);
  if (!out) throw new InvalidInputError(`the model's output does not follow from layer ${layer}`);
  return out;
}

function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}

/** Bilinear upsampling (half-pixel centres) of the map, normalised to its maximum, over the film. */
function overlay(
  film: Uint8Array,
  size: number,
  cam: Float32Array,
  gw: number,
  gh: number,
): Uint8Array {
  let max = 0;
  for (const v of cam) max = Math.max(max, v);
  const out = new Uint8Array(size * size * 3);
  const k = max > 0 ? 1 / max : 0;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * gh / size - 0.5, 0), gh - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, gh - 1), wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * gw / size - 0.5, 0), gw - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, gw - 1), wx = fx - x0;
      const v = k * ((1 - wy) * ((1 - wx) * cam[y0 * gw + x0] + wx * cam[y0 * gw + x1]) +
        wy * ((1 - wx) * cam[y1 * gw + x0] + wx * cam[y1 * gw + x1]));
      const a = 0.5 * v, g = film[y * size + x], rgb = jet(v), o = 3 * (y * size + x);
      for (let c = 0; c < 3; c++) out[o + c] = Math.round((1 - a) * g + a * 255 * rgb[c]);
    }
  }
  return out;
}

function cardMeans(card: CxrCard): { age: readonly number[]; view: number } {
  const m = card.preprocess?.params?.missing_feature_means as
    | { age?: unknown; view?: unknown }
    | undefined;
  if (
    m && Array.isArray(m.age) && m.age.length === 5 && m.age.every(Number.isFinite) &&
    typeof m.view === "number"
  ) return { age: m.age as number[], view: m.view };
  return FEATURE_MEANS;
}

/**
 * Classifies one chest film with a loaded two-input model (inputs [image 224x224x1, features 6]):
 * metadata -> features, image -> preprocessing, one forward pass, the card's threshold; with
 * `heatmap`, Grad-CAM on the card's `grad_cam_layer` (default "b4"). Every tensor made here is
 * disposed before it returns.
 * @example const r = await cxrClassify(await loadModel("cxr-pneumonia"), image, { age: "058Y", view: "PA" })
 */
export function cxrClassify(
  loaded: Pick<LoadedModel, "model" | "card">,
  image: Image,
  meta: CxrMetaInput,
  options: {
    heatmap?: boolean;
    params?: Partial<CxrParams>;
    window?: { center: number; width: number } | null;
  } = {},
): CxrClassification {
  const card = loaded.card as unknown as CxrCard;
  const model = loaded.model as tfl.LayersModel;
  let t = performance.now();
  const features = cxrFeatures(meta, cardMeans(card));
  const tFeatures = performance.now() - t;
  const spacing = readSpacing(meta.spacing);
  const fromCard: Partial<CxrParams> = {};
  const cardParams = card.preprocess?.params ?? {};
  for (const k of Object.keys(CXR_DEFAULTS) as (keyof CxrParams)[]) {
    if (typeof cardParams[k] === "number") fromCard[k] = cardParams[k] as number;
  }
  const pre = cxrPreprocess(image, spacing, { ...fromCard, ...options.params }, {
    window: options.window,
  });
  const n = pre.size;
  const timings: Record<string, number> = { ...pre.timings, features: tFeatures };
  t = performance.now();
  const layer = card.grad_cam_layer ?? "b4";
  let probability: number;
  let heatmap: CxrHeatmap | undefined;
  if (!options.heatmap) {
    probability = tf.tidy(() => {
      const y = model.predict([
        tf.tensor4d(pre.tensor, [1, n, n, 1]),
        tf.tensor2d(features.vector, [1, 6]),
      ]) as tf.Tensor;
      return y.dataSync()[0];
    });
    timings.model = performance.now() - t;
  } else {
    const maps = camModel(model, layer);
    const r = tf.tidy(() => {
      const x = tf.tensor4d(pre.tensor, [1, n, n, 1]);
      const f = tf.tensor2d(features.vector, [1, 6]);
      const a = maps.predict(x) as tf.Tensor4D;
      const featureInput = model.inputLayers[1].name;
      const { value, grad } = tf.valueAndGrad((act: tf.Tensor) =>
        tf.sum(headFrom(model, layer, act, { [featureInput]: f }))
      )(a);
      const weights = tf.mean(grad, [1, 2], true);
      const cam = tf.relu(tf.sum(tf.mul(a, weights), 3));
      return {
        p: value.dataSync()[0],
        cam: cam.dataSync() as Float32Array,
        gh: a.shape[1],
        gw: a.shape[2],
      };
    });
    probability = r.p;
    timings.model = performance.now() - t;
    t = performance.now();
    heatmap = {
      method: "grad-cam",
      layer,
      grid: { width: r.gw, height: r.gh, data: r.cam },
      overlay: { width: n, height: n, data: overlay(pre.image8, n, r.cam, r.gw, r.gh) },
    };
    timings.heatmap = performance.now() - t;
  }
  const threshold = card.threshold ?? 0.5;
  const classes = card.output.classes ?? ["negative", "positive"];
  const positive = probability >= threshold;
  return {
    probability,
    label: classes[positive ? 1 : 0],
    positive,
    threshold,
    features,
    preprocessed: pre,
    timings,
    ...(heatmap ? { heatmap } : {}),
  };
}
