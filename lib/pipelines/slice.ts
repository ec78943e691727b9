/**
 * 2D segmentation of one slice or photo with an installed model, as named steps on the step runner
 * (lib/pipelines/steps.ts): `preprocess` (the card's preset, lib/pipelines/presets.ts), `fit` (resize
 * to a fixed input, or pad to a fully convolutional net's stride: both recorded as geometric steps;
 * tiles need no inverse beyond their stitching), `infer` (lib/models), `mapback` (the probabilities
 * brought back onto the input's grid by undoing the recorded fit) and `threshold`. The time budget
 * is checked between steps. Also the ground truth and field-of-view masks a request may send
 * (`truth`, `fov`), and the pictures and summary an answer is made of.
 */
import { BadInputError, InvalidInputError } from "../errors.ts";
import { maskFromBytes } from "../decode/mod.ts";
import type { DecodedImage } from "../decode/types.ts";
import { imageInput, type ModelCard } from "../models/card.ts";
import {
  checkSegmentationInput,
  type Fit,
  type InferencePlan,
  planInference,
  resizeInput,
  toMask,
} from "../models/infer.ts";
import type { LoadedModel } from "../models/load.ts";
import { inferFlips } from "../models/tta.ts";
import type { ModelPool } from "../models/pool.ts";
import type { ModelInput, ProbabilityMap } from "../models/tensor.ts";
import { measureMask } from "../image/measure.ts";
import { overlayMask } from "../image/overlay.ts";
import { type Dialect, type Order, parseDialect, parseRle, runsToMask } from "../rle/mod.ts";
import { getPreset } from "./presets.ts";
import { type Geometric, mapBack, Steps } from "./steps.ts";

/** How to run the model on the slice. */
export interface SliceOptions {
  /** The card's preprocess params with the request's overrides. */
  params?: Record<string, unknown>;
  /** How the image meets the model's input (default "auto": the card decides). */
  fit?: Fit | "auto";
  /** Tiles per forward pass. */
  batch?: number;
  /** Tile overlap in pixels. */
  overlap?: number;
  /** Largest image a fully convolutional net runs in one pass. */
  maxPassPixels?: number;
  /** Probability threshold (default the card's, else 0.5). */
  threshold?: number;
  /** Test-time augmentation: flips ([y, x] axes) averaged with the plain run (lib/models/tta.ts). */
  flips?: number[][];
  /** Where the passes run: a model pool, null in process (default the process's, lib/models/pool.ts). */
  pool?: ModelPool | null;
}

/** What {@link segmentSlice} made, every map on the input image's grid. */
export interface SliceResult {
  /** The preprocessed image (the overlay's background). */
  x: ModelInput;
  /** Foreground probabilities per class, mapped back onto the input. */
  probs: ProbabilityMap;
  /** The 0/1 mask. */
  mask: Uint8Array;
  plan: InferencePlan;
  passes: number;
  threshold: number;
  /** The fit's geometric steps (resize or pad), undone by `mapback`. */
  geometry: Geometric[];
}

/**
 * The card's preprocess params, each overridden by `override(key, cardValue)` when that answers a
 * value (a request's query parameter of the same name); the default `scale` preset also gets the
 * input's channel order.
 * @example presetParams(card, (key) => query[key]) // { clipLimit: 2, tiles: 8 }
 */
export function presetParams(
  card: ModelCard,
  override: (key: string, cardValue: unknown) => unknown = () => undefined,
): Record<string, unknown> {
  const params: Record<string, unknown> = { ...(card.preprocess?.params ?? {}) };
  for (const [key, value] of Object.entries(params)) {
    const v = override(key, value);
    if (v !== undefined) params[key] = v;
  }
  if ((card.preprocess?.preset ?? "scale") === "scale") params.channels ??= imageInput(card).order;
  return params;
}

/**
 * 422 unless the card describes a 2D segmentation model (one NHWC image input): a classifier or a
 * 3D model named here would otherwise fail deep inside preprocessing.
 */
export function requireSliceModel(name: string, card: ModelCard): void {
  const shapes = card.inputs.map((i) => i.shape);
  if (card.task === "segmentation" && shapes.length === 1 && shapes[0].length === 4) return;
  const elsewhere = card.task === "classification"
    ? "a classifier: use its own route (e.g. /cxr/classify)"
    : shapes.some((s) => s.length === 5)
    ? "a 3D model: use /segment/volume"
    : "not a single-image model";
  throw new InvalidInputError(
    `model ${name} (${card.task}, inputs ${
      JSON.stringify(shapes)
    }) is ${elsewhere}; /segment/slice serves 2D segmentation models with one NHWC image input`,
    { field: "model" },
  );
}

/**
 * Segments a decoded image with a loaded model: preprocess, fit, infer, map back, threshold, each a
 * step of `run` (pass the request's run to have the budget checked and the steps timed).
 * @example
 * const r = await segmentSlice(loaded, await decodeImage(bytes), { fit: "resize" });
 * r.mask.length === image.width * image.height // mapBack(r.geometry, ...) brought it back
 */
export async function segmentSlice(
  loaded: LoadedModel,
  decoded: Pick<DecodedImage, "image" | "meta">,
  options: SliceOptions = {},
  run: Steps = new Steps(),
): Promise<SliceResult> {
  const { card } = loaded;
  const { image, meta } = decoded;
  const name = card.preprocess?.preset ?? "scale";
  const preset = await getPreset(name);
  const x = run.step("preprocess", () => preset(image, meta, options.params ?? {}));
  if (x.width !== image.width || x.height !== image.height) {
    throw new InvalidInputError(
      `preset ${card.preprocess?.preset} changed the image size; segmentation needs it kept`,
    );
  }
  checkSegmentationInput(loaded, x);
  const plan = planInference(card, x.height, x.width, {
    fit: options.fit ?? "auto",
    ...(options.maxPassPixels !== undefined ? { maxPassPixels: options.maxPassPixels } : {}),
    ...(options.batch !== undefined ? { batch: options.batch } : {}),
    ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
  });
  const fitted = run.step("fit", () => fit(x, plan, run));
  const flips = options.flips ?? [];
  const out = await run.stepAsync(
    "infer",
    () => inferFlips(loaded, fitted, plan, flips, options.pool),
  );
  const probs = run.step("mapback", () => mapBack(run.geometry, out.probs, "bilinear"));
  const threshold = options.threshold ?? card.threshold ?? 0.5;
  const mask = run.step("threshold", () => toMask(probs, card, threshold));
  return { x, probs, mask, plan, passes: out.passes, threshold, geometry: run.geometry };
}

/**
 * The model input as the plan runs it: resized to a fixed input (fit resize), or zero-padded at the
 * bottom and right to the stride of a fully convolutional net (fit pad), each recorded on `run`;
 * tiles are laid by the inference itself.
 */
function fit(x: ModelInput, plan: InferencePlan, run: Steps): ModelInput {
  const [h, w] = plan.size;
  if (x.width === w && x.height === h) return x;
  if (plan.fit === "resize") {
    run.geometric({ step: "fit", kind: "resize", from: [x.width, x.height], to: [w, h] });
    return resizeInput(x, w, h);
  }
  if (plan.fit === "pad") {
    run.geometric({ step: "fit", kind: "pad", from: [x.width, x.height], to: [w, h], at: [0, 0] });
    const c = x.channels, tensor = new Float32Array(w * h * c);
    for (let y = 0; y < x.height; y++) {
      tensor.set(x.tensor.subarray(y * x.width * c, (y + 1) * x.width * c), y * w * c);
    }
    return { tensor, width: w, height: h, channels: c };
  }
  return x;
}

/** The foreground probability per pixel: p for one output, 1 - p(class 0) for several. */
export function foreground(probs: ProbabilityMap): Float32Array {
  const n = probs.width * probs.height, k = probs.channels;
  if (k === 1) return probs.data;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 - probs.data[i * k];
  return out;
}

/** A ground truth and field of view as a request sends them. */
export interface TruthInput {
  /** Ground truth as a mask image (any non-zero colour is mask). */
  maskFile?: Uint8Array;
  /** Ground truth as an RLE instead, in `rleDialect`. */
  rle?: string;
  rleDialect?: string;
  /** A field-of-view mask image (DRIVE's *_mask.gif). */
  fovFile?: Uint8Array;
}

/**
 * The ground truth and field of view of a segmented `width` x `height` slice, each a step of `run`
 * when sent ("truth", "fov"); masks of another size are a 422. The answer's RLE dialect is the
 * query's (`rleQuery`), else the sent RLE's; a sent RLE is read in its own dialect, else the
 * query's. Nothing outside the field of view is foreground or scored: `mask` (and the truth) are
 * cleared there in place, `fovPixels` counts the pixels inside and `fov` is the 0/1 mask.
 */
export async function sliceTruth(
  mask: Uint8Array,
  input: TruthInput,
  width: number,
  height: number,
  options: { maxPixels: number; order: Order; rleQuery?: string },
  run: Steps = new Steps(),
): Promise<{ truth?: Uint8Array; dialect: Dialect; fovPixels?: number; fov?: Uint8Array }> {
  const { maxPixels, rleQuery } = options;
  let truth: Uint8Array | undefined;
  let dialect = parseDialect(rleQuery ?? input.rleDialect);
  if (input.maskFile) {
    const file = input.maskFile;
    const gt = await run.stepAsync("truth", () => maskFromBytes(file, { maxPixels }));
    sameSize("ground-truth mask", "mask", gt, width, height);
    truth = gt.mask;
  } else if (input.rle !== undefined) {
    dialect = parseDialect(input.rleDialect ?? rleQuery);
    const rle = input.rle.trim();
    let value: unknown = rle;
    if (dialect === "coco" && rle.startsWith("{")) {
      try {
        value = JSON.parse(rle);
      } catch {
        throw new BadInputError("rle: a COCO RLE object must be JSON", { field: "rle" });
      }
    }
    const d = dialect;
    truth = run.step("truth", () => {
      const runs = parseRle(value as Parameters<typeof parseRle>[0], d, width, height);
      return runsToMask([runs], width, height, options.order);
    });
  }
  if (!input.fovFile) return { truth, dialect };
  const file = input.fovFile;
  const fov = await run.stepAsync("fov", () => maskFromBytes(file, { maxPixels }));
  sameSize("field-of-view mask", "fov", fov, width, height);
  let fovPixels = 0;
  for (let i = 0; i < mask.length; i++) {
    fovPixels += fov.mask[i];
    mask[i] &= fov.mask[i];
    if (truth) truth[i] &= fov.mask[i];
  }
  return { truth, dialect, fovPixels, fov: fov.mask };
}

/** Float32 samples as little-endian bytes (a view where the platform is little-endian). */
function littleEndianFloat32(data: Float32Array): Uint8Array {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = new Uint8Array(data.length * 4), v = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) v.setFloat32(4 * i, data[i], true);
  return out;
}

/** Which picture of a segmented slice to answer. */
export interface RasterWanted {
  /** The foreground probability instead of the mask. */
  probs?: boolean;
  /** The mask in red over the preprocessed image. */
  overlay?: boolean;
  /** Probability PNG: 8 or 16; raw mask: 1 (0/1) or 8 (0/255). */
  bits?: "1" | "8" | "16";
}

/**
 * The samples of the picture `want` of a segmentation, row-major: for `raw` the bytes as sent
 * (probabilities as little-endian float32, the overlay RGB, the mask 0/255 or 0/1), else the samples
 * of a PNG (probabilities rounded to 8 or 16 bits, p clamped to 0..1; the overlay RGB); undefined
 * for the mask PNG, which is the 0/1 mask itself.
 */
export function sliceRaster(
  r: SliceResult,
  want: RasterWanted,
  raw: boolean,
): { samples: Uint8Array | Uint16Array; channels: 1 | 3; dtype: "uint8" | "float32" } | undefined {
  if (want.probs) {
    const fg = foreground(r.probs);
    if (raw) return { samples: littleEndianFloat32(fg), channels: 1, dtype: "float32" };
    const deep = want.bits === "16", top = deep ? 65535 : 255;
    const p = deep ? new Uint16Array(fg.length) : new Uint8Array(fg.length);
    for (let i = 0; i < fg.length; i++) p[i] = Math.round(Math.min(1, Math.max(0, fg[i])) * top);
    return { samples: p, channels: 1, dtype: "uint8" };
  }
  if (want.overlay) {
    const rgb = overlayMask({ data: r.x.tensor, channels: r.x.channels }, r.mask);
    return { samples: rgb, channels: 3, dtype: "uint8" };
  }
  if (!raw) return undefined;
  const on = want.bits === "1" ? 1 : 255;
  return { samples: r.mask.map((v) => v ? on : 0), channels: 1, dtype: "uint8" };
}

/**
 * The JSON summary of a segmentation: the model, the input, the preprocessing, the fit, the
 * threshold, and the mask's area (pixels, mm² with the DICOM spacing) and bounding box.
 */
export function sliceSummary(
  loaded: LoadedModel & { cached: boolean },
  decoded: DecodedImage,
  r: SliceResult,
  params: Record<string, unknown>,
) {
  const { card } = loaded, { image, meta } = decoded, { width, height } = image;
  const spacing = image.spacing ?? meta.spacing;
  const { area, mm2, bbox } = measureMask(r.mask, width, height, spacing);
  return {
    model: {
      name: card.name,
      version: card.version,
      backend: loaded.backend.name,
      loaded_now: !loaded.cached,
      load_ms: loaded.loadMs,
    },
    input: {
      format: decoded.format,
      width,
      height,
      channels: image.channels,
      spacing: spacing ?? null,
    },
    preprocess: { preset: card.preprocess?.preset ?? "scale", params },
    fit: { ...r.plan, passes: r.passes },
    threshold: r.threshold,
    area: { pixels: area, mm2 },
    bbox,
  };
}

function sameSize(
  what: string,
  field: string,
  m: { width: number; height: number },
  width: number,
  height: number,
): void {
  if (m.width !== width || m.height !== height) {
    throw new InvalidInputError(
      `the ${what} is ${m.width}x${m.height}, the image ${width}x${height}`,
      { field },
    );
  }
}
