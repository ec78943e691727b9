/**
 * Seed 002's BraTS preprocessing (reference/seed002_brats.py): stack the four modalities FLAIR, T1, T1CE, T2
 * channels-first, drop axial slices 0-4 and 140-154 of 155-slice volumes, z-score every slice of
 * every modality (the seed's `standardize`: subtract the mean, divide by the population standard
 * deviation when it is not zero, else keep the slice as it was). Also the way back: sigmoid outputs
 * to BraTS labels 0/1/2/4 in the full volume (dropped slices are background), voxel counts, mL per
 * label and the seed's dice with eps 1e-5.
 *
 * Volumes are in NIfTI storage order (x fastest, then y, then z), which is the seed's
 * SimpleITK array `[z][y][x]` read in C order; the stack is `[channel][z][y][x]` as the seed's
 * `(4, 135, 240, 240)`. Work is in Float32 with float64 scalar sums; no float64 copy is made.
 *
 * {@link segmentBrats} runs the steps of the volume pipeline (./volume.ts's segmentVolume adds the
 * model, the NIfTI writing and the summary) on ./steps.ts's runner: reorientation to RAS (nibabel's
 * as_closest_canonical, recorded as a geometric step), these steps, sliding-window inference
 * (lib/models/sliding3d.ts) and the labels mapped back onto the input's grid.
 */
import { InvalidInputError } from "../errors.ts";
import {
  type Blend,
  type PatchForward,
  type PatchLayout,
  type Size3,
  slidingWindow3d,
} from "../models/sliding3d.ts";
import { flipMean } from "../models/tta.ts";
import { type Orientation, toCanonical } from "../nifti/orient.ts";
import type { Volume } from "../nifti/volume.ts";
import { mapBack, Steps } from "./steps.ts";
import { diceScore } from "../image/measure.ts";

/** The modalities in the seed's stacking order. */
export const BRATS_MODALITIES = ["flair", "t1", "t1ce", "t2"] as const;

/** One of {@link BRATS_MODALITIES}. */
export type BratsModality = typeof BRATS_MODALITIES[number];

/** The labels a BraTS segmentation uses besides background, in output-channel order. */
export const BRATS_LABELS = [1, 2, 4] as const;

/** What the pipeline reads of a volume (lib/nifti's `Volume`: x fastest, then y, then z). */
export type ScalarVolume = Pick<Volume, "width" | "height" | "depth" | "data">;

/** Slice dropping, with the seed's values. */
export interface BratsParams {
  /** Only volumes with exactly this many axial slices lose slices (the seed's 155). */
  dropDepth: number;
  /** Slices dropped at the start (the seed's `range(5)`). */
  dropHead: number;
  /** Slices dropped at the end (the seed's `range(140, 155)`). */
  dropTail: number;
}

/** The seed's defaults. */
export const BRATS_DEFAULTS: BratsParams = { dropDepth: 155, dropHead: 5, dropTail: 15 };

/** Four modalities stacked channels-first: `data[((c * depth + z) * height + y) * width + x]`. */
export interface BratsStack {
  data: Float32Array;
  channels: number;
  depth: number;
  height: number;
  width: number;
  /** First kept slice of the input volume; kept slices are `[zStart, zStart + depth)`. */
  zStart: number;
  /** Slices of the input volume. */
  fullDepth: number;
}

/**
 * The axial slices kept: `[start, end)`.
 * @example keptSlices(155) // { start: 5, end: 140 }
 * @example keptSlices(100) // { start: 0, end: 100 }
 */
export function keptSlices(
  depth: number,
  params: BratsParams = BRATS_DEFAULTS,
): { start: number; end: number } {
  if (depth !== params.dropDepth) return { start: 0, end: depth };
  const start = params.dropHead, end = depth - params.dropTail;
  if (!(start >= 0 && end > start)) {
    throw new InvalidInputError(
      `dropping ${params.dropHead} + ${params.dropTail} slices leaves none of ${depth}`,
    );
  }
  return { start, end };
}

/**
 * Stacks the modalities (in the order given: FLAIR, T1, T1CE, T2 for BraTS) as Float32,
 * channels-first, keeping only the slices {@link keptSlices} keeps.
 * @example stackModalities([flair, t1, t1ce, t2]).data.length // 4 * 135 * 240 * 240
 */
export function stackModalities(
  volumes: readonly ScalarVolume[],
  params: BratsParams = BRATS_DEFAULTS,
): BratsStack {
  checkGrid(volumes);
  const { width: nx, height: ny, depth: nz } = volumes[0];
  const { start, end } = keptSlices(nz, params);
  const plane = nx * ny, depth = end - start, per = plane * depth;
  const data = new Float32Array(volumes.length * per);
  volumes.forEach((v, c) => data.set(v.data.subarray(start * plane, end * plane), c * per));
  return {
    data,
    channels: volumes.length,
    depth,
    height: ny,
    width: nx,
    zStart: start,
    fullDepth: nz,
  };
}

/** Throws unless there are volumes and all share the first one's grid. */
function checkGrid(volumes: readonly ScalarVolume[]): void {
  if (volumes.length === 0) throw new InvalidInputError("no modality given");
  const { width: nx, height: ny, depth: nz } = volumes[0];
  volumes.forEach((v, i) => {
    const { width: a, height: b, depth: c } = v;
    if (a !== nx || b !== ny || c !== nz) {
      throw new InvalidInputError(
        `modality ${i} is ${a}x${b}x${c}, modality 0 is ${nx}x${ny}x${nz}: the modalities must share one grid`,
        { modality: i },
      );
    }
    if (v.data.length < nx * ny * nz) {
      throw new InvalidInputError(
        `modality ${i} holds ${v.data.length} voxels, not ${nx * ny * nz}`,
      );
    }
  });
}

/**
 * Z-scores every slice of every channel in place, as the seed's `standardize`: mean over the slice,
 * population standard deviation of the centred slice; when it is 0 the slice is left as it was.
 * Returns the mean and standard deviation of each slice (`[c * depth + z]`).
 * @example const { mean, std } = zscoreSlices(stack)
 */
export function zscoreSlices(stack: BratsStack): { mean: Float64Array; std: Float64Array } {
  const plane = stack.width * stack.height, slices = stack.channels * stack.depth;
  const mean = new Float64Array(slices), std = new Float64Array(slices);
  const d = stack.data;
  for (let s = 0; s < slices; s++) {
    const o = s * plane, e = o + plane;
    let sum = 0;
    for (let i = o; i < e; i++) sum += d[i];
    const m = sum / plane;
    let ss = 0;
    for (let i = o; i < e; i++) {
      const t = d[i] - m;
      ss += t * t;
    }
    const sd = Math.sqrt(ss / plane);
    mean[s] = m;
    std[s] = sd;
    if (sd !== 0) {
      const inv = 1 / sd;
      for (let i = o; i < e; i++) d[i] = (d[i] - m) * inv;
    }
  }
  return { mean, std };
}

/** What {@link bratsPreprocess} did. */
export interface BratsPreprocessed {
  stack: BratsStack;
  /** Mean and population standard deviation of every slice before scaling (`[c * depth + z]`). */
  mean: Float64Array;
  std: Float64Array;
  params: BratsParams;
  /** Milliseconds per step; integer volumes run both steps in one pass ("stack_zscore"). */
  timings: Record<string, number>;
}

type IntegerArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

function isInteger(a: ScalarVolume["data"]): a is IntegerArray {
  return !(a instanceof Float32Array);
}

/**
 * Stack and z-score integer volumes reading each voxel twice and writing it once: the slice's sum
 * and sum of squares are exact in float64 (below 2^53 for 16-bit data), so the variance
 * `(sumsq - sum * mean) / n` is exact to rounding and exactly 0 for constant slices; four
 * accumulators each break the add chains. One pass over the data fewer than stack + two-pass
 * (bench/compare/brats_zscore.ts measures both).
 */
function stackZscoreIntegers(volumes: readonly ScalarVolume[], params: BratsParams) {
  const { width, height, depth: nz } = volumes[0];
  const { start, end } = keptSlices(nz, params);
  const plane = width * height, depth = end - start, C = volumes.length;
  const data = new Float32Array(C * depth * plane);
  const mean = new Float64Array(C * depth), std = new Float64Array(C * depth);
  const tail = plane % 4;
  for (let c = 0; c < C; c++) {
    const src = volumes[c].data as IntegerArray;
    for (let z = 0; z < depth; z++) {
      const s = c * depth + z, o = s * plane, from = (start + z) * plane, to = from + plane;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
      for (let i = from, e = to - tail; i < e; i += 4) {
        const a = src[i], b = src[i + 1], d = src[i + 2], f = src[i + 3];
        s0 += a;
        s1 += b;
        s2 += d;
        s3 += f;
        q0 += a * a;
        q1 += b * b;
        q2 += d * d;
        q3 += f * f;
      }
      for (let i = to - tail; i < to; i++) {
        s0 += src[i];
        q0 += src[i] * src[i];
      }
      const sum = s0 + s1 + s2 + s3, sumsq = q0 + q1 + q2 + q3, m = sum / plane;
      const sd = Math.sqrt(Math.max(0, sumsq - sum * m) / plane);
      mean[s] = m;
      std[s] = sd;
      // sd 0: the slice is kept as it was, (v - 0) * 1
      const shift = sd !== 0 ? m : 0, inv = sd !== 0 ? 1 / sd : 1;
      for (let i = 0; i < plane; i++) data[o + i] = (src[from + i] - shift) * inv;
    }
  }
  const stack: BratsStack = {
    data,
    channels: C,
    depth,
    height,
    width,
    zStart: start,
    fullDepth: nz,
  };
  return { stack, mean, std };
}

/**
 * The seed's preprocessing: stack -> drop slices -> per-modality per-slice z-score.
 * @example bratsPreprocess([flair, t1, t1ce, t2]).stack.depth // 135 for 155-slice volumes
 */
export function bratsPreprocess(
  volumes: readonly ScalarVolume[],
  params: Partial<BratsParams> = {},
): BratsPreprocessed {
  const p = { ...BRATS_DEFAULTS, ...params };
  const run = new Steps();
  if (volumes.length > 0 && volumes.every((v) => isInteger(v.data))) {
    const r = run.step("stack_zscore", () => {
      checkGrid(volumes);
      return stackZscoreIntegers(volumes, p);
    });
    return { ...r, params: p, timings: run.timings };
  }
  const stack = run.step("stack", () => stackModalities(volumes, p));
  const { mean, std } = run.step("zscore", () => zscoreSlices(stack));
  return { stack, mean, std, params: p, timings: run.timings };
}

/**
 * Per-voxel label from channels-first probabilities `[k][z][y][x]` of the kept slices: the channel
 * with the highest probability gives label `labels[k]` when that probability is at least
 * `threshold`, else background. Written into a full-depth volume where dropped slices stay 0.
 * @example probabilitiesToLabels(probs, stack, 0.5) // Uint8Array of 0, 1, 2, 4
 */
export function probabilitiesToLabels(
  probs: Float32Array,
  stack: Pick<BratsStack, "depth" | "height" | "width" | "zStart" | "fullDepth">,
  threshold = 0.5,
  labels: readonly number[] = BRATS_LABELS,
): Uint8Array {
  const plane = stack.width * stack.height, n = plane * stack.depth, k = labels.length;
  if (probs.length !== n * k) {
    throw new InvalidInputError(
      `expected ${n * k} probabilities (${k} channels), got ${probs.length}`,
    );
  }
  const out = new Uint8Array(plane * stack.fullDepth);
  const base = stack.zStart * plane;
  for (let i = 0; i < n; i++) {
    let best = -1, p = -Infinity;
    for (let c = 0; c < k; c++) {
      const v = probs[c * n + i];
      if (v > p) [best, p] = [c, v];
    }
    if (p >= threshold) out[base + i] = labels[best];
  }
  return out;
}

/** Voxel count and volume of one label. */
export interface LabelVolume {
  voxels: number;
  ml: number;
}

/**
 * Voxels and millilitres per label (1 mL = 1000 mm^3), for the given labels.
 * @example labelVolumes(seg, [1, 1, 1]) // { "1": { voxels: 25506, ml: 25.506 }, ... }
 */
export function labelVolumes(
  labels: ArrayLike<number>,
  spacing: readonly [number, number, number],
  which: readonly number[] = BRATS_LABELS,
): Record<string, LabelVolume> {
  const counts = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i] & 255]++;
  const voxelMl = Math.abs(spacing[0] * spacing[1] * spacing[2]) / 1000;
  const out: Record<string, LabelVolume> = {};
  // mL to 1e-6 (a thousandth of a mm^3): no float noise in the answer
  for (const l of which) {
    out[l] = { voxels: counts[l], ml: Math.round(counts[l] * voxelMl * 1e6) / 1e6 };
  }
  return out;
}

/**
 * The seed's dice per label: `(2|A∩B| + eps) / (|A| + |B| + eps)`, eps 1e-5, where A and B are the
 * voxels of that label in the prediction and the ground truth.
 * @example dicePerLabel(pred, truth) // { "1": 0.81, "2": 0.9, "4": 0.77 }
 */
export function dicePerLabel(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  which: readonly number[] = BRATS_LABELS,
  eps = 1e-5,
): Record<string, number> {
  if (pred.length !== truth.length) {
    throw new InvalidInputError(
      `ground truth has ${truth.length} voxels, the prediction ${pred.length}`,
    );
  }
  const a = new Float64Array(256), b = new Float64Array(256), both = new Float64Array(256);
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] & 255, t = truth[i] & 255;
    a[p]++;
    b[t]++;
    if (p === t) both[p]++;
  }
  const out: Record<string, number> = {};
  for (const l of which) out[l] = diceScore(both[l], a[l], b[l], eps);
  return out;
}

/** Options of {@link segmentBrats}: the window and blending, threshold, labels, slice dropping. */
export interface BratsSegmentOptions {
  /** Window [z, y, x]. */
  patch: Size3;
  overlap: number;
  blend: Blend;
  batch: number;
  threshold: number;
  /** Label of each model output channel (BraTS: 1, 2, 4). */
  labels: readonly number[];
  params: BratsParams;
  layout?: PatchLayout;
  /** Also map the model's probabilities back onto the input's grid (`probabilities`). */
  probabilities?: boolean;
  /** Test-time augmentation: flips ([z, y, x] axes of the RAS grid) averaged with the plain run. */
  flips?: number[][];
  /** Forward passes in flight at once (a model pool's size; default 1). */
  concurrency?: number;
}

/** What {@link segmentBrats} found. */
export interface BratsSegmentation {
  /** Labels in the input's voxel order (x fastest), 0 where no label passed the threshold. */
  labels: Uint8Array;
  /**
   * With `options.probabilities`: the model's probability of each label (output channel) in the
   * input's voxel order, one volume per channel back to back (a 4D NIfTI's order); 0 on dropped
   * slices.
   */
  probabilities?: Float32Array;
  /** The axis flips and swaps that brought the input to RAS (nibabel's io_orientation). */
  orientation: Orientation;
  /** Kept axial slices of the RAS volume, [start, end). */
  keptSlices: [number, number];
  params: BratsParams;
  windows: number;
  forwardMs: number;
  /** Milliseconds per stage: reorient, preprocess, model, infer, labels. */
  timings: Record<string, number>;
}

/** Reports a stage, and the windows done of the total while inferring; awaited between passes. */
export type SegmentProgress = (
  stage: string,
  done?: number,
  total?: number,
) => void | Promise<void>;

/**
 * Segments four co-registered modalities (FLAIR, T1, T1CE, T2, one grid) as steps of `run` (one
 * made when none is given): "reorient" to RAS (recorded as a geometric step, so the labels map back
 * onto the input grid with `mapBack`), "preprocess" (the seed's stacking and z-score), "model" (when
 * `forward.load()` resolves the model), "infer" (sliding-window inference), "labels" (thresholded
 * labels back in the input's voxel order; when `run` keeps intermediates it keeps them on the model
 * grid as "labels"). `progress` hears each step's name before it runs.
 * @example const seg = await segmentBrats([flair, t1, t1ce, t2], forward, options);
 */
export async function segmentBrats(
  volumes: readonly Volume[],
  forward: PatchForward | { load: () => Promise<PatchForward> },
  options: BratsSegmentOptions,
  progress: SegmentProgress = () => {},
  run: Steps = new Steps(),
): Promise<BratsSegmentation> {
  const step = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    await progress(name);
    return await run.stepAsync(name, async () => await fn());
  };
  const canon = await step("reorient", () => volumes.map((v) => toCanonical(v)));
  const ornt = canon[0].undo.ornt;
  if (volumes.length > 0) {
    const { width, height, depth } = volumes[0];
    run.geometric({ step: "reorient", kind: "reorient", from: [width, height, depth], ornt });
  }
  const prep = await step(
    "preprocess",
    () => bratsPreprocess(canon.map((c) => c.volume), options.params),
  );
  const model = typeof forward === "function" ? forward : await step("model", forward.load);
  const probs = await step("infer", async () => {
    const { channels, depth, height, width } = prep.stack;
    const flips = options.flips ?? [];
    let windows = 0, forwardMs = 0, run = 0;
    const data = await flipMean(
      prep.stack.data,
      [channels, depth, height, width],
      0,
      flips,
      async (t) => {
        const r = run++, runs = flips.length + 1;
        const out = await slidingWindow3d({ ...prep.stack, data: t }, model, {
          patch: options.patch,
          overlap: options.overlap,
          blend: options.blend,
          batch: options.batch,
          outChannels: options.labels.length,
          layout: options.layout,
          concurrency: options.concurrency,
          // progress over all runs when test-time augmentation runs several
          onProgress: (done, total) => progress("infer", r * total + done, runs * total),
        });
        windows += out.windows;
        forwardMs += out.forwardMs;
        return out.data;
      },
    );
    return { data, windows, forwardMs };
  });
  const labels = await step("labels", () => {
    const canonical = probabilitiesToLabels(
      probs.data,
      prep.stack,
      options.threshold,
      options.labels,
    );
    const { width, height, depth } = canon[0].volume;
    const onModelGrid = { width, height, depth, data: canonical };
    run.keep("labels", () => onModelGrid);
    return mapBack(run.geometry, onModelGrid).data;
  });
  const probabilities = options.probabilities
    ? await step(
      "probabilities",
      () => probabilitiesBack(probs.data, prep.stack, canon[0].volume, run),
    )
    : undefined;
  return {
    labels,
    ...(probabilities ? { probabilities } : {}),
    orientation: ornt,
    keptSlices: [prep.stack.zStart, prep.stack.zStart + prep.stack.depth],
    params: prep.params,
    windows: probs.windows,
    forwardMs: probs.forwardMs,
    timings: roundedTimings(run.timings),
  };
}

/**
 * Channels-first probabilities of the kept slices on the model's (RAS) grid, each channel put into
 * a full-depth volume (dropped slices 0) and mapped back onto the input's grid like the labels.
 */
function probabilitiesBack(
  probs: Float32Array,
  stack: Pick<BratsStack, "depth" | "height" | "width" | "zStart" | "fullDepth">,
  grid: { width: number; height: number; depth: number },
  run: Steps,
): Float32Array {
  const plane = stack.width * stack.height, n = plane * stack.depth, full = plane * stack.fullDepth;
  const k = probs.length / n;
  const out = new Float32Array(k * full);
  for (let c = 0; c < k; c++) {
    const data = new Float32Array(full);
    data.set(probs.subarray(c * n, (c + 1) * n), stack.zStart * plane);
    const { width, height, depth } = grid;
    out.set(mapBack(run.geometry, { width, height, depth, data }).data, c * full);
  }
  return out;
}

/** Milliseconds per step to a tenth (the volume answer's `timings_ms`). */
export function roundedTimings(timings: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(timings).map(([name, ms]) => [name, Math.round(ms * 10) / 10]),
  );
}
