/**
 * Seed 004's segmentation metrics of a binary mask against its ground truth (PaddleSeg's eval:
 * confusion matrix, per-class IoU, mIoU, accuracy, Cohen's kappa) plus sensitivity, specificity
 * and the ROC AUC of the probabilities (exact and rank-based with ties as sklearn's
 * `roc_auc_score`), counted inside a field of view when one is given. reference/metrics_reference.py
 * is the numpy twin the tests hold this to. Hand-written: plain counts over typed arrays, no
 * library does them on the edge.
 */

/** The 2x2 confusion counts, the mask (prediction) against the truth. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/**
 * Confusion counts of a 0/1 `mask` against a 0/1 `truth` (any non-zero is 1), over the pixels where
 * `fov` is non-zero (all pixels without one).
 * @example confusion(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(1, 0, 1, 0)) // { tp: 1, fp: 1, fn: 1, tn: 1 }
 */
export function confusion(
  mask: ArrayLike<number>,
  truth: ArrayLike<number>,
  fov?: ArrayLike<number>,
): Confusion {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < mask.length; i++) {
    if (fov && !fov[i]) continue;
    const p = mask[i] ? 1 : 0, t = truth[i] ? 1 : 0;
    if (p) t ? tp++ : fp++;
    else t ? fn++ : tn++;
  }
  return { tp, fp, fn, tn };
}

/**
 * What a slice answer reports beside dice and IoU. Undefined ratios are null: sensitivity without a
 * positive truth pixel, specificity without a negative one, AUC unless the truth has both, kappa
 * never (1 when prediction and truth agree on every pixel, the only case its chance term is 1).
 * A class absent from both prediction and truth has IoU 1 (as `overlapScores`' dice and IoU).
 */
export interface SegmentationMetrics extends Confusion {
  /** Pixels scored (inside the field of view when one was sent). */
  pixels: number;
  /** Intersection over union per class: background (0) and foreground (the vessel, 1). */
  iou_per_class: { background: number; foreground: number };
  /** Mean of the per-class IoU (PaddleSeg's mIoU). */
  miou: number;
  /** (tp + tn) / pixels. */
  accuracy: number;
  /** tp / (tp + fn), the recall of the foreground. */
  sensitivity: number | null;
  /** tn / (tn + fp). */
  specificity: number | null;
  /** Cohen's kappa of the two labelings. */
  kappa: number;
  /** ROC AUC of the foreground probabilities, when they were given. */
  auc?: number | null;
}

/**
 * The metrics of {@link SegmentationMetrics} from confusion counts, with the AUC when `auc` is given.
 * @example segmentationMetrics({ tp: 1, fp: 1, fn: 1, tn: 1 }).kappa // 0
 */
export function segmentationMetrics(c: Confusion, auc?: number | null): SegmentationMetrics {
  const { tp, fp, fn, tn } = c, n = tp + fp + fn + tn;
  const iou = (inter: number, union: number) => union === 0 ? 1 : inter / union;
  const fg = iou(tp, tp + fp + fn), bg = iou(tn, tn + fp + fn);
  const po = n === 0 ? 1 : (tp + tn) / n;
  // chance agreement: the product of the marginals of each class
  const pe = n === 0 ? 1 : ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n);
  return {
    ...c,
    pixels: n,
    iou_per_class: { background: bg, foreground: fg },
    miou: (bg + fg) / 2,
    accuracy: po,
    sensitivity: tp + fn === 0 ? null : tp / (tp + fn),
    specificity: tn + fp === 0 ? null : tn / (tn + fp),
    kappa: pe === 1 ? 1 : (po - pe) / (1 - pe),
    ...(auc !== undefined ? { auc } : {}),
  };
}

/**
 * The ROC AUC of `scores` against the 0/1 `truth` over the pixels inside `fov`: the probability that
 * a positive pixel scores above a negative one, ties counting one half (the Mann-Whitney statistic
 * with mid-ranks, equal to sklearn's `roc_auc_score`); null unless the truth has both classes.
 * Exact: the count of half-pairs is an integer below 2^53.
 * @example rocAuc(Float32Array.of(0.1, 0.4, 0.35, 0.8), Uint8Array.of(0, 0, 1, 1)) // 0.75
 */
export function rocAuc(
  scores: ArrayLike<number>,
  truth: ArrayLike<number>,
  fov?: ArrayLike<number>,
): number | null {
  let np = 0, nn = 0;
  for (let i = 0; i < scores.length; i++) {
    if (fov && !fov[i]) continue;
    truth[i] ? np++ : nn++;
  }
  if (np === 0 || nn === 0) return null;
  const pos = new Float64Array(np), neg = new Float64Array(nn);
  for (let i = 0, a = 0, b = 0; i < scores.length; i++) {
    if (fov && !fov[i]) continue;
    if (truth[i]) pos[a++] = scores[i];
    else neg[b++] = scores[i];
  }
  pos.sort();
  neg.sort();
  // for each positive, twice the negatives below it plus the negatives equal to it
  let halves = 0, below = 0, upTo = 0;
  for (let i = 0; i < np; i++) {
    const s = pos[i];
    while (below < nn && neg[below] < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < nn && neg[upTo] <= s) upTo++;
    halves += below + upTo;
  }
  return halves / (2 * np * nn);
}

/**
 * All of {@link SegmentationMetrics} of a 0/1 `mask` against `truth`, inside `fov` when given, with
 * the AUC of `scores` (the foreground probabilities) when given.
 * @example scoreMask(mask, truth, { scores: probs, fov }).miou
 */
export function scoreMask(
  mask: ArrayLike<number>,
  truth: ArrayLike<number>,
  options: { scores?: ArrayLike<number>; fov?: ArrayLike<number> } = {},
): SegmentationMetrics {
  const { scores, fov } = options;
  const auc = scores ? rocAuc(scores, truth, fov) : undefined;
  return segmentationMetrics(confusion(mask, truth, fov), auc);
}
