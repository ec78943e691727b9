/**
 * 2D segmentation inference with a loaded model: fit the preprocessed image to the model's input
 * (resize to a fixed input and map back, pad to the stride of a fully convolutional net, or tile
 * with overlap and blending, tiles in batches), then threshold or argmax. Every tensor made here is
 * disposed here, also when the model throws.
 */
import * as tf from "@tensorflow/tfjs-core";
import { InvalidInputError } from "../errors.ts";
import { resize } from "../image/resize.ts";
import { imageInput, type ModelCard, ModelCardError } from "./card.ts";
import type { LoadedModel } from "./load.ts";
import type { ModelInput, ProbabilityMap } from "./tensor.ts";
import { type ModelPool, modelPool, pooledModel, poolTileRunner } from "./pool.ts";
import { tiledInference, tileStarts } from "./tiling.ts";

export type { ModelInput, ProbabilityMap } from "./tensor.ts";

/** How an image is fitted to the model. */
export type Fit = "resize" | "tile" | "pad";

/** Options for {@link planInference} and {@link segmentImage}. */
export interface InferOptions {
  /** "auto" (default): tile when the card has `tile` and the image is larger, else resize a
   * fixed-size model's input or pad a fully convolutional one's to its stride. */
  fit?: Fit | "auto";
  /** Tiles per forward pass (default 4; fewer where that many tiles would pass maxPassPixels). */
  batch?: number;
  /** Tile overlap in pixels (default the card's, else 1/8 of the tile). */
  overlap?: number;
  /**
   * Largest image a fully convolutional net runs in one pass (default 1 Mi pixels: a 32-channel
   * activation is then 128 MB); larger ones are tiled ("auto") or refused ("pad").
   */
  maxPassPixels?: number;
}

/** Default {@link InferOptions.maxPassPixels}. */
export const DEFAULT_MAX_PASS_PIXELS = 1 << 20;

/** What {@link planInference} decided. */
export interface InferencePlan {
  fit: Fit;
  /** Size the model runs at: the fixed input, the tile, or the padded image. */
  size: [number, number];
  overlap: number;
  /** The image is resized to this first (fit "resize"), else it is the image's own size. */
  runAt: [number, number];
  tiles: number;
  batch: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * How an image of `height` x `width` will run through the model of `card`, before running it (the
 * caller can estimate the work and refuse it).
 * @example planInference(card, 1024, 1024) // { fit: "resize", size: [512, 512], tiles: 1, ... }
 */
export function planInference(
  card: ModelCard,
  height: number,
  width: number,
  options: InferOptions = {},
): InferencePlan {
  const input = imageInput(card);
  let batch = Math.max(1, Math.floor(options.batch ?? 4));
  const fixed = input.height !== null && input.width !== null;
  const stride = card.stride ?? 1;
  const tileSide = card.tile?.size;
  const maxPass = options.maxPassPixels ?? DEFAULT_MAX_PASS_PIXELS;
  let fit = options.fit ?? "auto";
  if (fit === "auto") {
    const tileH = fixed ? input.height! : tileSide ?? Infinity;
    const tileW = fixed ? input.width! : tileSide ?? Infinity;
    const larger = height > tileH || width > tileW;
    fit = card.tile && larger ? "tile" : fixed ? "resize" : "pad";
    if (fit === "pad" && height * width > maxPass) fit = "tile";
  }
  let size: [number, number];
  let runAt: [number, number] = [height, width];
  if (fixed) {
    size = [input.height!, input.width!];
    if (fit === "resize") runAt = size;
    // A fixed input cannot take a larger image whole: padding it means tiling it.
    if (fit === "pad" && (height > size[0] || width > size[1])) fit = "tile";
  } else if (fit === "tile") {
    const side = roundUp(tileSide ?? 512, stride);
    size = [side, side];
  } else {
    // Fully convolutional: "resize" has no size to resize to, so it pads like "pad".
    fit = "pad";
    size = [roundUp(height, stride), roundUp(width, stride)];
    if (size[0] * size[1] > maxPass) {
      throw new InvalidInputError(
        `${width}x${height} is over the ${maxPass} pixels a pass may take; use fit=tile`,
        { field: "fit" },
      );
    }
  }
  const overlap = fit === "tile"
    ? options.overlap ?? card.tile?.overlap ?? Math.floor(Math.min(...size) / 8)
    : 0;
  if (!(Number.isInteger(overlap) && overlap >= 0 && overlap < Math.min(...size))) {
    throw new InvalidInputError(
      `overlap must be an integer from 0 to ${Math.min(...size) - 1} for tiles of ${size[0]}x${
        size[1]
      }`,
      { field: "overlap" },
    );
  }
  const tiles = tileStarts(runAt[0], size[0], overlap).length *
    tileStarts(runAt[1], size[1], overlap).length;
  // A pass of `batch` tiles holds their activations at once: the pixel cap bounds the batch too,
  // so that lowering maxPassPixels lowers a tiled request's peak memory (at least one tile a pass).
  if (fit === "tile") {
    batch = Math.max(1, Math.min(batch, Math.floor(maxPass / (size[0] * size[1]))));
  }
  return { fit, size, overlap, runAt, tiles, batch };
}

/** A runner over the loaded model that disposes all it makes. */
function runner(loaded: LoadedModel, channels: number) {
  return async (batch: Float32Array, count: number, height: number, width: number) => {
    const out = tf.tidy(() => loaded.predict(tf.tensor4d(batch, [count, height, width, channels])));
    try {
      const [n, h, w, k] = out.shape;
      if (out.rank !== 4 || n !== count || h !== height || w !== width) {
        throw new ModelCardError(
          `${loaded.name} answered shape [${out.shape}] for input [${count},${height},${width},${channels}]; ` +
            "a segmentation model must keep height and width",
        );
      }
      return { data: (await out.data()) as Float32Array, channels: k };
    } finally {
      out.dispose();
    }
  };
}

/** Logits to probabilities in place, for cards whose output activation is linear. */
function activate(probs: ProbabilityMap): void {
  const { data, channels: k } = probs;
  if (k === 1) {
    for (let i = 0; i < data.length; i++) data[i] = 1 / (1 + Math.exp(-data[i]));
    return;
  }
  for (let p = 0; p < data.length; p += k) {
    let max = -Infinity, sum = 0;
    for (let j = 0; j < k; j++) max = Math.max(max, data[p + j]);
    for (let j = 0; j < k; j++) sum += data[p + j] = Math.exp(data[p + j] - max);
    for (let j = 0; j < k; j++) data[p + j] /= sum;
  }
}

/**
 * 422 unless `x` can go into the segmentation model of `loaded` (a segmentation card with one image
 * input of `x`'s channel count).
 */
export function checkSegmentationInput(loaded: LoadedModel, x: ModelInput): void {
  const { card } = loaded;
  if (card.task !== "segmentation") {
    throw new InvalidInputError(`${card.name} is a ${card.task} model, not a segmentation model`);
  }
  if (card.inputs.length !== 1) {
    throw new ModelCardError(`${card.name}: segmentation takes one image input`);
  }
  const input = imageInput(card);
  if (x.channels !== input.channels) {
    throw new InvalidInputError(
      `${card.name} takes ${input.channels}-channel (${input.order}) input; the preprocessed image has ${x.channels}`,
      { channels: x.channels, expected: input.channels },
    );
  }
}

/**
 * Runs the model on an input already fitted per `plan` (resized to `plan.runAt` or padded to
 * `plan.size`; tiles are laid here): the probability map of the fitted input's size. A card with a
 * linear output gets sigmoid / softmax applied so that the map always holds probabilities. With a
 * model `pool` (default the process's: MEDIMG_WORKERS > 1, lib/models/pool.ts; null: in process)
 * the passes run in its workers, twice its size in flight, blended in tile order: the same map.
 * @example const { probs } = await inferFitted(loaded, resized, plan)
 */
export async function inferFitted(
  loaded: LoadedModel,
  x: ModelInput,
  plan: InferencePlan,
  pool: ModelPool | null = modelPool(),
): Promise<{ probs: ProbabilityMap; passes: number }> {
  const pooled = pooledModel(loaded, pool);
  const run = pooled ? poolTileRunner(pooled, x.channels) : runner(loaded, x.channels);
  const out = await tiledInference(x, run, {
    size: plan.size,
    overlap: plan.overlap,
    batch: plan.batch,
    concurrency: pooled ? 2 * pooled.pool.size : 1,
  });
  const probs: ProbabilityMap = {
    data: out.data,
    width: out.width,
    height: out.height,
    channels: out.channels,
  };
  if (loaded.card.output.activation === "linear") activate(probs);
  return { probs, passes: out.passes };
}

/**
 * Runs a segmentation model on a preprocessed image: fitted per {@link planInference}, answered as
 * a probability map (HWC, one channel per output class) of the image's own size. A card with a
 * linear output gets sigmoid / softmax applied here so that the map always holds probabilities.
 * (lib/pipelines/slice.ts runs the same steps one by one, recording the fit to map it back.)
 * @example
 * const { probs, plan } = await segmentImage(loaded, ctLiver(image, meta, params));
 * const mask = thresholdProbs(probs, loaded.card.threshold ?? 0.5);
 */
export async function segmentImage(
  loaded: LoadedModel,
  x: ModelInput,
  options: InferOptions = {},
): Promise<{ probs: ProbabilityMap; plan: InferencePlan; passes: number }> {
  checkSegmentationInput(loaded, x);
  const plan = planInference(loaded.card, x.height, x.width, options);
  let image = x;
  if (plan.fit === "resize" && (x.height !== plan.size[0] || x.width !== plan.size[1])) {
    image = resizeInput(x, plan.size[1], plan.size[0]);
  }
  let { probs, passes } = await inferFitted(loaded, image, plan);
  if (probs.width !== x.width || probs.height !== x.height) {
    const r = resize({ ...probs, channels: probs.channels as 1 }, x.width, x.height);
    probs = { ...r, channels: probs.channels };
  }
  return { probs, plan, passes };
}

/** A model input resized (OpenCV bilinear, float32) to `width` x `height`. */
export function resizeInput(x: ModelInput, width: number, height: number): ModelInput {
  const r = resize(
    { width: x.width, height: x.height, data: x.tensor, channels: x.channels as 1 },
    width,
    height,
  );
  return { tensor: r.data, width: r.width, height: r.height, channels: x.channels };
}

/**
 * 1 where the probability of `channel` is above `t` (strictly, as numpy's `pred > 0.5`), else 0.
 * @example thresholdProbs({ data: Float32Array.of(0.2, 0.7), width: 2, height: 1, channels: 1 }, 0.5)
 * // Uint8Array [0, 1]
 */
export function thresholdProbs(probs: ProbabilityMap, t = 0.5, channel = 0): Uint8Array {
  const n = probs.width * probs.height, k = probs.channels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = probs.data[i * k + channel] > t ? 1 : 0;
  return out;
}

/**
 * The class of highest probability per pixel (the first one on ties).
 * @example argmax({ data: Float32Array.of(0.2, 0.8, 0.6, 0.4), width: 2, height: 1, channels: 2 })
 * // Uint8Array [1, 0]
 */
export function argmax(probs: ProbabilityMap): Uint8Array {
  const n = probs.width * probs.height, k = probs.channels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs.data[i * k + j] > probs.data[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

/**
 * The binary mask of a probability map: threshold (default the card's, else 0.5) for one output
 * channel; for several, argmax and "not class 0".
 * @example toMask(probs, card) // Uint8Array of 0/1
 */
export function toMask(probs: ProbabilityMap, card: ModelCard, t?: number): Uint8Array {
  if (probs.channels === 1) return thresholdProbs(probs, t ?? card.threshold ?? 0.5);
  const labels = argmax(probs);
  for (let i = 0; i < labels.length; i++) labels[i] = labels[i] === 0 ? 0 : 1;
  return labels;
}
