/**
 * Postprocessing and test-time augmentation as the segmentation pipelines apply them (slice, series,
 * volume): the card's `postprocess` defaults with a request's overrides, resolved into the values
 * used (which the answers report), run on a mask or label volume by lib/image/postprocess.ts; and
 * the flips `tta=flip` averages over (the card's `tta.flips`).
 */
import { InvalidInputError } from "../errors.ts";
import {
  type LabelMap,
  postprocessActive,
  postprocessLabels,
  type PostprocessReport,
} from "../image/postprocess.ts";
import type { ModelCard } from "../models/card.ts";

/** A request's postprocessing parameters (query `postprocess`, `largest`, `fill_holes`, `min_size`). */
export interface PostprocessRequest {
  /** false: leave out the card's defaults (the request's own values still apply). */
  postprocess?: boolean;
  /** Largest N components per label; 0 turns the card's off. */
  largest?: number;
  fill_holes?: boolean;
  /** mm² (2D), mL (3D), pixels / voxels without a spacing; 0 turns the card's off. */
  min_size?: number;
}

/** The postprocessing used, as answers report it. */
export interface PostprocessUsed {
  largest: number | null;
  fill_holes: boolean;
  min_size: number | null;
  /** The unit `min_size` was taken in. */
  min_size_unit: "mm2" | "mL" | "pixels" | "voxels";
  /** Whether the card's defaults were applied (false with `postprocess=0`). */
  card_defaults: boolean;
}

/**
 * The card's postprocessing with the request's overrides; `unit` is what min_size is in for this
 * input (mm2 or pixels in 2D, mL or voxels in 3D).
 * @example postprocessUsed(card, { largest: 1 }, "mm2") // { largest: 1, fill_holes: false, ... }
 */
export function postprocessUsed(
  card: Pick<ModelCard, "postprocess">,
  q: PostprocessRequest,
  unit: PostprocessUsed["min_size_unit"],
): PostprocessUsed {
  const useCard = q.postprocess !== false;
  const d = useCard ? card.postprocess ?? {} : {};
  const largest = q.largest ?? d.largest ?? 0;
  const min = q.min_size ?? d.min_size ?? 0;
  return {
    largest: largest > 0 ? largest : null,
    fill_holes: q.fill_holes ?? d.fill_holes ?? false,
    min_size: min > 0 ? min : null,
    min_size_unit: unit,
    card_defaults: useCard,
  };
}

/**
 * Applies `used` to a label map in place (spacing in mm: [x, y] or [x, y, z]; none when `used`
 * counts pixels / voxels); answers what changed.
 */
export function applyPostprocess(
  map: LabelMap,
  used: PostprocessUsed,
  spacing?: readonly number[],
): PostprocessReport {
  const p = {
    largest: used.largest ?? undefined,
    fillHoles: used.fill_holes,
    minSize: used.min_size ?? undefined,
  };
  const bySpacing = used.min_size_unit === "mm2" || used.min_size_unit === "mL";
  return postprocessLabels(map, p, bySpacing ? spacing : undefined);
}

/** Whether `used` does anything. */
export function postprocessOn(used: PostprocessUsed): boolean {
  return postprocessActive({
    largest: used.largest ?? undefined,
    fillHoles: used.fill_holes,
    minSize: used.min_size ?? undefined,
  });
}

/** The test-time augmentation used, as answers report it. */
export interface TtaUsed {
  mode: "none" | "flip";
  /** The flips averaged with the plain run (spatial axes: 2D [y, x], 3D [z, y, x]). */
  flips: number[][];
}

/**
 * The flips of `tta=flip` for a card (none for `tta=none` or absent); a 422 when the card allows
 * none.
 * @example ttaUsed(card, "flip") // { mode: "flip", flips: [[1]] }
 */
export function ttaUsed(card: Pick<ModelCard, "name" | "tta">, mode?: "none" | "flip"): TtaUsed {
  if (mode !== "flip") return { mode: "none", flips: [] };
  if (!card.tta) {
    throw new InvalidInputError(
      `model ${card.name} allows no test-time augmentation (its card has no tta.flips)`,
      { field: "tta" },
    );
  }
  return { mode: "flip", flips: card.tta.flips.map((f) => [...f]) };
}

/** What a series segmentation holds that postprocessing changes (lib/pipelines/series.ts). */
interface SeriesLabels {
  labels: Uint8Array;
  width: number;
  height: number;
  depth: number;
  volumes: Record<string, { voxels: number; ml: number }>;
  slices: { z: number; pixels: number; mm2: number }[];
}

/**
 * Postprocesses a series' label volume in 3D, in place (`spacing` [x, y, z] mm, min_size in mL),
 * and counts its voxels and mL per label and its pixels and mm² per slice again.
 * @example postprocessSeries(seg, used, [0.7, 0.7, 2.5])
 */
export function postprocessSeries(
  seg: SeriesLabels,
  used: PostprocessUsed,
  spacing: readonly [number, number, number],
): PostprocessReport {
  const { width, height, depth, labels } = seg;
  const report = applyPostprocess({ width, height, depth, data: labels }, used, spacing);
  const plane = width * height, mm3 = Math.abs(spacing[0] * spacing[1] * spacing[2]);
  const counts = new Map<number, number>();
  for (let z = 0; z < depth; z++) {
    let pixels = 0;
    for (let i = z * plane; i < (z + 1) * plane; i++) {
      const v = labels[i];
      if (!v) continue;
      pixels++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    seg.slices[z] = { z, pixels, mm2: pixels * spacing[0] * spacing[1] };
  }
  seg.volumes = {};
  for (const [label, voxels] of [...counts].sort((a, b) => a[0] - b[0])) {
    seg.volumes[String(label)] = { voxels, ml: (voxels * mm3) / 1000 };
  }
  return report;
}
