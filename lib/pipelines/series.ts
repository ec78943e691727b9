/**
 * 2D segmentation of a whole DICOM series (issue 17): the series assembled by lib/dicom/series.ts,
 * the slice model run over every slice as /segment/slice runs it (lib/pipelines/slice.ts
 * `segmentSlice`, one run of steps per slice, its timings added to the request's run), and the
 * masks stacked into a label volume on the series' grid, with the volume per label in mL from the
 * voxel spacing and the area per slice (progress reported per slice, for jobs); the overlap with a
 * ground truth overall and per label; the SEG segments a model's card describes.
 */
import { InvalidInputError } from "../errors.ts";
import { assembleSeries, type Series } from "../dicom/series.ts";
import { rgbToCielab, type SegmentDescription, writeSeg } from "../dicom/seg.ts";
import { type OverlapScores, overlapScores } from "../image/measure.ts";
import type { ModelCard } from "../models/card.ts";
import type { LoadedModel } from "../models/load.ts";
import { type ModelPool, modelPool } from "../models/pool.ts";
import { sliceZ } from "../nifti/volume.ts";
import { segmentSlice, type SliceOptions } from "./slice.ts";
import { Steps } from "./steps.ts";
import type { PostprocessReport } from "../image/postprocess.ts";
import type { PostprocessUsed, TtaUsed } from "./postprocess.ts";

/** What {@link segmentSeries} made. */
export interface SeriesSegmentation {
  /** Labels, x fastest then y then z, on the series volume's grid (0 background). */
  labels: Uint8Array;
  width: number;
  height: number;
  depth: number;
  /** Voxel counts and mL per non-zero label. */
  volumes: Record<string, { voxels: number; ml: number }>;
  /** Foreground pixels and mm² per slice, in z order. */
  slices: { z: number; pixels: number; mm2: number }[];
  /** Forward passes run over all slices. */
  passes: number;
  /** The postprocessing and test-time augmentation used, when the caller applied them. */
  postprocess?: PostprocessUsed & PostprocessReport;
  tta?: TtaUsed;
}

/** mm³ of one voxel of `series` (the slice step taken unsigned). */
export function voxelMm3(series: Series): number {
  const [sx, sy] = series.volume.spacing;
  return sx * sy * Math.abs(series.sliceSpacing || series.volume.spacing[2]);
}

/**
 * Runs a 2D segmentation model over every slice of `series`; each slice is its own run of steps
 * (its geometry is its own), checked with `run`'s check and timed into `run.timings`. With a model
 * `pool` (default the process's, lib/models/pool.ts: MEDIMG_WORKERS > 1) twice its size of slices
 * are in flight at once, their passes in its workers, and stacked in z order: the same labels.
 * @example const seg = await segmentSeries(loaded, await assembleSeries(files), {}, run)
 */
export async function segmentSeries(
  loaded: LoadedModel,
  series: Series,
  options: SliceOptions = {},
  run: Steps = new Steps(),
  check?: (step: string) => void,
  progress?: (done: number, total: number) => void,
  pool: ModelPool | null = modelPool(),
): Promise<SeriesSegmentation> {
  const { volume } = series;
  const { width, height, depth } = volume;
  const plane = width * height;
  const labels = new Uint8Array(plane * depth);
  const [sx, sy] = volume.spacing;
  const counts = new Map<number, number>();
  const slices: SeriesSegmentation["slices"] = [];
  let passes = 0;
  const start = (z: number) => {
    const image = sliceZ(volume, z); // [row, column] spacing from the volume's
    const sliceRun = new Steps(check ? { check } : {});
    const meta = { spacing: image.spacing };
    const r = segmentSlice(loaded, { image, meta }, { ...options, pool }, sliceRun);
    // a rejection is taken where the slice is awaited, in z order
    r.catch(() => {});
    return { r, sliceRun };
  };
  const inflight: ReturnType<typeof start>[] = [];
  const ahead = pool ? 2 * pool.size : 1;
  for (let z = 0, next = 0; z < depth; z++) {
    while (next < depth && inflight.length < ahead) inflight.push(start(next++));
    const { r: pending, sliceRun } = inflight.shift()!;
    const r = await pending;
    for (const [k, ms] of Object.entries(sliceRun.timings)) {
      run.timings[k] = (run.timings[k] ?? 0) + ms;
    }
    passes += r.passes;
    let pixels = 0;
    const out = labels.subarray(z * plane, (z + 1) * plane);
    for (let i = 0; i < plane; i++) {
      const v = r.mask[i];
      if (!v) continue;
      out[i] = v;
      pixels++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    slices.push({ z, pixels, mm2: pixels * sx * sy });
    progress?.(z + 1, depth);
  }
  const mm3 = voxelMm3(series);
  const volumes: SeriesSegmentation["volumes"] = {};
  for (const [label, voxels] of [...counts].sort((a, b) => a[0] - b[0])) {
    volumes[String(label)] = { voxels, ml: (voxels * mm3) / 1000 };
  }
  return { labels, width, height, depth, volumes, slices, passes };
}

/** The generic codes of a label when the card describes none: SNOMED Anatomical Structure / Tissue. */
export const GENERIC_CATEGORY = {
  value: "91723000",
  scheme: "SCT",
  meaning: "Anatomical Structure",
};
export const GENERIC_TYPE = { value: "85756007", scheme: "SCT", meaning: "Tissue" };

/**
 * The SEG segments of a model's labels: the card's `segments` (name, codes, colour) for the labels
 * it describes, and for any other label the generic SNOMED codes, named "<model> label <n>"; label
 * 1 alone when none is present (a SEG needs one segment; it keeps one empty frame).
 */
export function segmentsFor(
  card: Pick<ModelCard, "name" | "segments">,
  labels: number[],
): SegmentDescription[] {
  const described = new Map((card.segments ?? []).map((s) => [s.label, s]));
  return (labels.length ? labels : [1]).map((label) => {
    const s = described.get(label);
    if (!s) {
      return {
        label,
        name: `${card.name} label ${label}`,
        category: GENERIC_CATEGORY,
        type: GENERIC_TYPE,
      };
    }
    const cielab = s.color ?? (s.rgb ? rgbToCielab(s.rgb) : undefined);
    return {
      label,
      name: s.name,
      category: s.category,
      type: s.type,
      ...(cielab ? { cielab } : {}),
    };
  });
}

/** Dice and IoU of one label, with its voxel counts (OverlapScores: intersection, truth_area). */
export interface LabelScores extends OverlapScores {
  /** Voxels of the label in the prediction. */
  voxels: number;
}

/**
 * A ground truth volume as labels: a truth holding one non-zero value only (a binary mask, as
 * 3D-IRCADb's 0/255 masks) stands for label 1, other values are rounded into 0..255.
 * @example truthLabels(Float32Array.of(0, 255, 255)) // Uint8Array [0, 1, 1]
 */
export function truthLabels(truth: ArrayLike<number>): Uint8Array {
  const n = truth.length, t = new Uint8Array(n);
  const values = new Set<number>();
  for (let i = 0; i < n; i++) {
    const v = truth[i];
    if (v) values.add(v);
  }
  const binary = values.size === 1;
  for (let i = 0; i < n; i++) {
    const v = truth[i];
    t[i] = !v ? 0 : binary ? 1 : Math.max(0, Math.min(255, Math.round(v)));
  }
  return t;
}

/**
 * The overlap of a label volume with a ground truth on the same grid: `overall` is the foreground
 * (any label) against the truth's non-zero voxels; `labels` is per label value present in either,
 * the prediction's voxels of that label against the truth's voxels of it. A truth holding one
 * non-zero value only (a binary mask, as 3D-IRCADb's 0/255 masks) stands for label 1.
 * @example labelOverlap(Uint8Array.of(1, 2, 0), Uint8Array.of(1, 2, 2)).labels["2"].dice // 2/3
 */
export function labelOverlap(
  labels: Uint8Array,
  truth: ArrayLike<number>,
): { overall: OverlapScores; labels: Record<string, LabelScores> } {
  const n = labels.length;
  const t = truthLabels(truth);
  const fg = (a: Uint8Array) => a.map((v) => (v ? 1 : 0));
  const overall = overlapScores(fg(labels), fg(t));
  const present = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (labels[i]) present.add(labels[i]);
    if (t[i]) present.add(t[i]);
  }
  const per: Record<string, LabelScores> = {};
  for (const label of [...present].sort((a, b) => a - b)) {
    const a = labels.map((v) => (v === label ? 1 : 0));
    const b = t.map((v) => (v === label ? 1 : 0));
    let voxels = 0;
    for (let i = 0; i < n; i++) voxels += a[i];
    per[String(label)] = { ...overlapScores(a, b), voxels };
  }
  return { overall, labels: per };
}

/**
 * A DICOM SEG of one single-frame DICOM image's 0/1 mask (/segment/slice?format=seg): the instance
 * assembled as a one-slice series, so the SEG references it and carries its geometry.
 */
export async function sliceSeg(
  dicom: Uint8Array,
  mask: Uint8Array,
  card: Pick<ModelCard, "name" | "segments">,
  options: { deidentify?: boolean; uidKey?: string } = {},
): Promise<Uint8Array> {
  const series = await assembleSeries([dicom]);
  if (series.volume.depth !== 1) {
    throw new InvalidInputError(
      `format=seg on a single image takes a single-frame DICOM; this one has ${series.volume.depth} frames: send it to /segment/series`,
      { field: "format" },
    );
  }
  const present = mask.some((v) => v !== 0) ? [1] : [];
  return await writeSeg(mask, series, segmentsFor(card, present), options);
}
