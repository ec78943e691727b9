/**
 * The metrics of a label volume against its ground truth beyond dice per label: the BraTS regions
 * (whole tumour 1+2+4, tumour core 1+4, enhancing tumour 4) with their dice (seed 002's formula,
 * eps 1e-5), HD95 in mm (lib/image/surface.ts, MONAI's convention) and volumes in mL, for models
 * whose card labels are BraTS's; and HD95 per label. reference/metrics_reference.py is the twin.
 */
import { diceScore } from "../image/measure.ts";
import { type Dims3, hd95 } from "../image/surface.ts";

/** BraTS's labels (./brats.ts's BRATS_LABELS, not imported: that module loads tfjs). */
const BRATS_LABELS = [1, 2, 4];

/** The BraTS evaluation regions and the labels each unites. */
export const BRATS_REGIONS: Record<string, readonly number[]> = {
  whole_tumour: [1, 2, 4],
  tumour_core: [1, 4],
  enhancing_tumour: [4],
};

/** One region (or label) of a prediction against the truth. */
export interface RegionScores {
  labels: number[];
  /** (2|A∩B| + eps) / (|A| + |B| + eps), eps 1e-5. */
  dice: number;
  /** 95th-percentile Hausdorff distance in mm; 0 when both are empty, null when one is. */
  hd95_mm: number | null;
  /** The region's volume in the prediction and in the truth, mL (to 1e-6). */
  ml: number;
  truth_ml: number;
}

/**
 * Whether a model's labels are BraTS's (exactly 1, 2 and 4), the only ones the regions mean
 * anything for.
 * @example isBratsLabelling([4, 2, 1]) // true
 */
export function isBratsLabelling(labels: readonly number[]): boolean {
  const set = [...new Set(labels)].sort((a, b) => a - b);
  return set.length === BRATS_LABELS.length && set.every((v, i) => v === BRATS_LABELS[i]);
}

/**
 * Dice, HD95 and volumes of each region: the voxels whose label is one of the region's, in the
 * prediction and the truth (label volumes on one grid of `dims`, x fastest; `spacing` mm along
 * x, y, z).
 * @example regionScores(pred, truth, [240, 240, 155], [1, 1, 1]).whole_tumour.hd95_mm // 2.236...
 */
export function regionScores(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
  regions: Record<string, readonly number[]> = BRATS_REGIONS,
): Record<string, RegionScores> {
  const n = pred.length, voxelMl = Math.abs(spacing[0] * spacing[1] * spacing[2]) / 1000;
  const ml = (voxels: number) => Math.round(voxels * voxelMl * 1e6) / 1e6;
  const out: Record<string, RegionScores> = {};
  for (const [name, labels] of Object.entries(regions)) {
    const inRegion = new Uint8Array(256);
    for (const l of labels) inRegion[l & 255] = 1;
    const a = new Uint8Array(n), b = new Uint8Array(n);
    let sa = 0, sb = 0, both = 0;
    for (let i = 0; i < n; i++) {
      a[i] = inRegion[pred[i] & 255];
      b[i] = inRegion[truth[i] & 255];
      sa += a[i];
      sb += b[i];
      both += a[i] & b[i];
    }
    out[name] = {
      labels: [...labels],
      dice: diceScore(both, sa, sb, 1e-5),
      hd95_mm: hd95(a, b, dims, spacing),
      ml: ml(sa),
      truth_ml: ml(sb),
    };
  }
  return out;
}

/**
 * HD95 in mm of each label (a region of one label) of a label volume against the truth.
 * @example labelHd95(pred, truth, [w, h, d], [0.7, 0.7, 2.5], [1]) // { "1": 3.1 }
 */
export function labelHd95(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
  labels: readonly number[],
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const l of labels) {
    const a = new Uint8Array(pred.length), b = new Uint8Array(pred.length);
    for (let i = 0; i < pred.length; i++) {
      a[i] = pred[i] === l ? 1 : 0;
      b[i] = truth[i] === l ? 1 : 0;
    }
    out[String(l)] = hd95(a, b, dims, spacing);
  }
  return out;
}

/**
 * Per-label scores (series.ts labelOverlap's) with each label's HD95 in mm added, the truth as
 * series.ts truthLabels reads it.
 * @example withHd95(labelOverlap(pred, truth).labels, pred, truthLabels(truth), dims, spacing)
 */
export function withHd95<S extends object>(
  scores: Record<string, S>,
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
): Record<string, S & { hd95_mm: number | null }> {
  const hd = labelHd95(pred, truth, dims, spacing, Object.keys(scores).map(Number));
  return Object.fromEntries(
    Object.entries(scores).map(([k, s]) => [k, { ...s, hd95_mm: hd[k] }]),
  );
}
