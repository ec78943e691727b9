/**
 * 2D segmentation of a whole DICOM series (issue 17): the series assembled by lib/dicom/series.ts,
 * the slice model run over every slice as /segment/slice runs it (lib/pipelines/slice.ts
 * `segmentSlice`, one run of steps per slice, its timings added to the request's run), and the
 * masks stacked into a label volume on the series' grid, with the volume per label in mL from the
 * voxel spacing and the area per slice.
 */
import { InvalidInputError } from "../errors.ts";
import { assembleSeries, type Series } from "../dicom/series.ts";
import { type SegmentDescription, writeSeg } from "../dicom/seg.ts";
import type { ModelCard } from "../models/card.ts";
import type { LoadedModel } from "../models/load.ts";
import { sliceZ } from "../nifti/volume.ts";
import { segmentSlice, type SliceOptions } from "./slice.ts";
import { Steps } from "./steps.ts";

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
}

/** mm³ of one voxel of `series` (the slice step taken unsigned). */
export function voxelMm3(series: Series): number {
  const [sx, sy] = series.volume.spacing;
  return sx * sy * Math.abs(series.sliceSpacing || series.volume.spacing[2]);
}

/**
 * Runs a 2D segmentation model over every slice of `series`; each slice is its own run of steps
 * (its geometry is its own), checked with `run`'s check and timed into `run.timings`.
 * @example const seg = await segmentSeries(loaded, await assembleSeries(files), {}, run)
 */
export async function segmentSeries(
  loaded: LoadedModel,
  series: Series,
  options: SliceOptions = {},
  run: Steps = new Steps(),
  check?: (step: string) => void,
): Promise<SeriesSegmentation> {
  const { volume } = series;
  const { width, height, depth } = volume;
  const plane = width * height;
  const labels = new Uint8Array(plane * depth);
  const [sx, sy] = volume.spacing;
  const counts = new Map<number, number>();
  const slices: SeriesSegmentation["slices"] = [];
  let passes = 0;
  for (let z = 0; z < depth; z++) {
    const image = sliceZ(volume, z); // [row, column] spacing from the volume's
    const sliceRun = new Steps(check ? { check } : {});
    const r = await segmentSlice(
      loaded,
      { image, meta: { spacing: image.spacing } },
      options,
      sliceRun,
    );
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
 * The SEG segments of a model's labels: cards carry no segment descriptions yet, so one segment per
 * label with the generic SNOMED codes, named "<model> label <n>"; label 1 alone when none is present
 * (a SEG needs one segment; it keeps one empty frame).
 */
export function segmentsFor(card: Pick<ModelCard, "name">, labels: number[]): SegmentDescription[] {
  return (labels.length ? labels : [1]).map((label) => ({
    label,
    name: `${card.name} label ${label}`,
    category: GENERIC_CATEGORY,
    type: GENERIC_TYPE,
  }));
}

/**
 * A DICOM SEG of one single-frame DICOM image's 0/1 mask (/segment/slice?format=seg): the instance
 * assembled as a one-slice series, so the SEG references it and carries its geometry.
 */
export async function sliceSeg(
  dicom: Uint8Array,
  mask: Uint8Array,
  card: Pick<ModelCard, "name">,
): Promise<Uint8Array> {
  const series = await assembleSeries([dicom]);
  if (series.volume.depth !== 1) {
    throw new InvalidInputError(
      `format=seg on a single image takes a single-frame DICOM; this one has ${series.volume.depth} frames: send it to /segment/series`,
      { field: "format" },
    );
  }
  const present = mask.some((v) => v !== 0) ? [1] : [];
  return await writeSeg(mask, series, segmentsFor(card, present));
}
