/**
 * The cxr pneumonia pipeline (seed 002): the image -> 8-bit grey -> CLAHE clip 4, 8x8 tiles ->
 * isotropic 1 mm pixels from the pixel spacing (OpenCV INTER_AREA when shrinking, INTER_CUBIC when
 * growing) -> 224 x 224 INTER_CUBIC -> / 255, each a named step on the one step runner (timed, the
 * budget checked between steps); its Python twin is reference/cxr_preprocess.py (cv2 4.6), which
 * made the training inputs. `cxrClassify` runs the two-input model on the image and the metadata's
 * six features (lib/pipelines/cxr_meta.ts) and, when asked, Grad-CAM (lib/models/gradcam.ts) on
 * the card's last conv layer; `classifyCxr` does it for a decoded body, its metadata merged with
 * the request's and everything assumed or implausible said.
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { InvalidInputError } from "../errors.ts";
import type { DecodedImage } from "../decode/mod.ts";
import { clahe } from "../image/clahe.ts";
import { toGrey8 } from "../image/grey8.ts";
import type { Image } from "../image/image.ts";
import { resize, resizeArea } from "../image/resize.ts";
import { camOverlay, gradCam } from "../models/gradcam.ts";
import type { LoadedModel } from "../models/load.ts";
import type { ModelInput } from "../models/tensor.ts";
import {
  chestWidthWarning,
  type CxrFeatures,
  cxrFeatures,
  type CxrMetaInput,
  FEATURE_MEANS,
  readSpacing,
} from "./cxr_meta.ts";
import { type StepOptions, Steps } from "./steps.ts";

// Kept importable from here for training/cxr-pneumonia/export.ts.
export { FEATURE_MEANS, FEATURE_NAMES } from "./cxr_meta.ts";

/** Image parameters, with the published defaults (reference/cxr_preprocess.py's). */
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

/** A run to record the steps on, or the options of a new one. */
export type RunOption = { run?: Steps<unknown> } & StepOptions;

function runOf(options: RunOption): Steps<unknown> {
  return options.run ?? new Steps<unknown>({ check: options.check, keep: options.keep });
}

/**
 * The image steps: grey8 -> clahe -> resample (to `targetSpacing` mm) -> resize (size x size
 * bicubic) -> scale (/ 255), each a step of `options.run` (or of a new run). Spacing comes from
 * `spacing`, else the image's own, else the image is taken to span `assumedFieldMm` across its
 * width (said in `spacingAssumed`). `steps` keeps each step's 8-bit image.
 * @example const { tensor, timings } = cxrPreprocess(dicomImage)
 */
export function cxrPreprocess(
  input: Image,
  spacing: [number, number] | null = null,
  overrides: Partial<CxrParams> = {},
  options: { steps?: boolean; window?: { center: number; width: number } | null } & RunOption = {},
): CxrPreprocessed {
  const params = { ...CXR_DEFAULTS, ...overrides };
  checkParams(params);
  const run = runOf({ ...options, keep: options.keep ?? options.steps });
  const first = run.kept.length;
  const keep = (name: string, im: Image<Uint8Array>) => run.keep(name, () => im);

  const { image: grey, applied } = run.step("grey8", () => toGrey8(input, options.window));
  keep("grey8", grey);
  const equalised: Image<Uint8Array> = run.step("clahe", () => {
    const eq = clahe(grey, params.clipLimit, params.tiles);
    return { width: grey.width, height: grey.height, channels: 1, data: eq.data };
  });
  keep("clahe", equalised);
  const given = spacing ?? input.spacing ?? null;
  const used: [number, number] = given ??
    [params.assumedFieldMm / grey.width, params.assumedFieldMm / grey.width];
  const [rw, rh] = resampleSize(grey.width, grey.height, used, params.targetSpacing);
  const resampled = run.step("resample", () => {
    if (rw === grey.width && rh === grey.height) return equalised;
    return rw <= grey.width && rh <= grey.height
      ? resizeArea(equalised, rw, rh)
      : resize(equalised, rw, rh, "bicubic");
  });
  keep("resample", resampled);
  const sized = run.step("resize", () => resize(resampled, params.size, params.size, "bicubic"));
  keep("resize", sized);
  const tensor = run.step("scale", () => {
    const t = new Float32Array(sized.data.length);
    // A double quotient rounded to float32 equals Python's float32 division (53 >= 2 * 24 + 2 bits).
    for (let i = 0; i < t.length; i++) t[i] = sized.data[i] / 255;
    return t;
  });
  const kept = run.kept.slice(first).map(({ name, image }) => {
    const im = image as Image<Uint8Array>;
    return { name, width: im.width, height: im.height, data: im.data };
  });
  return {
    tensor,
    image8: sized.data,
    size: params.size,
    spacing: used,
    spacingAssumed: given === null,
    resampled: [rw, rh],
    grey8: applied,
    params,
    timings: run.timings,
    ...(options.steps ? { steps: kept } : {}),
  };
}

/**
 * The `cxr-pneumonia` preset for the model runtime (lib/pipelines/presets.ts): the image steps with
 * the card's params, spacing from `meta.spacing`.
 * @example cxrPneumonia(image, { spacing: [0.168, 0.168] }, {}).tensor.length // 224 * 224
 */
export function cxrPneumonia(
  input: Image,
  meta: { spacing?: [number, number]; [key: string]: unknown },
  params: Record<string, unknown>,
): ModelInput {
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
 * `heatmap`, Grad-CAM on the card's `grad_cam_layer` (default "b4"). Each is a step of
 * `options.run` (or of a new run). Every tensor made here is disposed before it returns.
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
  } & RunOption = {},
): CxrClassification {
  const card = loaded.card as unknown as CxrCard;
  const model = loaded.model as tfl.LayersModel;
  const run = runOf(options);
  const features = run.step("features", () => cxrFeatures(meta, cardMeans(card)));
  const spacing = readSpacing(meta.spacing);
  const fromCard: Partial<CxrParams> = {};
  const cardParams = card.preprocess?.params ?? {};
  for (const k of Object.keys(CXR_DEFAULTS) as (keyof CxrParams)[]) {
    if (typeof cardParams[k] === "number") fromCard[k] = cardParams[k] as number;
  }
  const pre = cxrPreprocess(image, spacing, { ...fromCard, ...options.params }, {
    window: options.window,
    run,
  });
  const n = pre.size;
  const layer = card.grad_cam_layer ?? "b4";
  const inputs =
    () => [tf.tensor4d(pre.tensor, [1, n, n, 1]), tf.tensor2d(features.vector, [1, 6])];
  let heatmap: CxrHeatmap | undefined;
  const probability = run.step("model", () => {
    if (!options.heatmap) {
      return tf.tidy(() => (model.predict(inputs()) as tf.Tensor).dataSync()[0]);
    }
    const xs = inputs();
    try {
      const cam = gradCam(model, layer, xs);
      heatmap = {
        method: "grad-cam",
        layer,
        grid: { width: cam.width, height: cam.height, data: cam.data },
        overlay: { width: n, height: n, data: new Uint8Array() },
      };
      return cam.value;
    } finally {
      tf.dispose(xs);
    }
  });
  if (heatmap) {
    const h = heatmap;
    run.step("heatmap", () => {
      h.overlay.data = camOverlay(pre.image8, n, h.grid.data, h.grid.width, h.grid.height);
    });
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
    timings: run.timings,
    ...(heatmap ? { heatmap } : {}),
  };
}

/** The metadata fields a request or a DICOM gives. */
export const CXR_FIELDS = ["age", "sex", "view", "spacing"] as const;
export type CxrField = typeof CXR_FIELDS[number];
/** Where a field's value came from. */
export type CxrSource = "request" | "dicom" | "missing";

/** What {@link classifyCxr} answers: the classification and what it was made from. */
export interface CxrAnswer extends CxrClassification {
  /** Each field's value and where it came from. */
  metadata: Record<CxrField, { value: string | null; source: CxrSource }>;
  /** What was missing and what was used instead. */
  assumed: string[];
  /** What may make the answer mislead (an implausible spacing typed by the caller). */
  warnings: string[];
}

/**
 * Classifies a decoded film (lib/decode) with the metadata sent with it: a field sent with the
 * request wins over the DICOM's own header; every assumption (a missing feature, a missing
 * spacing, an unusable window) and a typed spacing that makes no plausible chest are said.
 * @example const r = classifyCxr(loaded, await decodeImage(bytes), { age: "58" }, { run })
 */
export function classifyCxr(
  loaded: Pick<LoadedModel, "model" | "card">,
  film: DecodedImage,
  fields: Partial<Record<CxrField, string>>,
  options: { heatmap?: boolean } & RunOption = {},
): CxrAnswer {
  const dicom: Partial<Record<CxrField, string>> = {
    ...(film.meta.age ? { age: film.meta.age } : {}),
    ...(film.meta.sex ? { sex: film.meta.sex } : {}),
    ...(film.meta.view ? { view: film.meta.view } : {}),
    ...(film.meta.spacing ? { spacing: film.meta.spacing.join("\\") } : {}),
  };
  const meta: CxrMetaInput = {};
  const metadata = {} as CxrAnswer["metadata"];
  for (const k of CXR_FIELDS) {
    const asked = fields[k];
    const value = asked ?? dicom[k] ?? null;
    metadata[k] = {
      value,
      source: asked !== undefined ? "request" : dicom[k] !== undefined ? "dicom" : "missing",
    };
    meta[k] = value;
  }
  const r = cxrClassify(loaded, film.image, meta, {
    heatmap: options.heatmap,
    window: film.meta.window ?? null,
    run: options.run,
    check: options.check,
  });
  const pre = r.preprocessed;
  const assumed = [...r.features.assumed];
  if (pre.spacingAssumed) {
    assumed.push(
      `spacing missing: the image was taken to span ${pre.params.assumedFieldMm} mm across ` +
        `(${pre.spacing[1].toFixed(4)} mm per pixel); only the 1 mm resampling step uses it`,
    );
  }
  if (film.meta.windowUnusable) {
    assumed.push(`${film.meta.windowUnusable}: the film was scaled min-max to 8-bit instead`);
  }
  // A spacing the caller typed is checked against a chest's width; a DICOM's own is the scanner's.
  const implausible = metadata.spacing.source === "request"
    ? chestWidthWarning(film.image.width, pre.spacing)
    : null;
  return { ...r, metadata, assumed, warnings: implausible ? [implausible] : [] };
}
