/**
 * Postprocessing of segmentation label maps, 2D (`depth` 1) or 3D (x fastest, then y, then z), per
 * label value: drop connected components under a size, keep the largest N components (seed 000's
 * `xLargestBlobs`, nnU-Net's remove-all-but-largest), fill holes. Checked against scipy.ndimage
 * (reference/postprocess.py): components are `label` with the full structure (8-connected in 2D,
 * 26-connected in 3D); holes are `binary_fill_holes` with its default structure (background
 * 4-connected in 2D, 6-connected in 3D, to the grid's border).
 *
 * 2D components are found by lib/image/components.ts's run-based `labelComponents` (8-connected);
 * 3D ones and the hole filling by a flood over voxels, holes only inside the label's bounding box
 * (grown by one voxel): every background voxel outside it reaches the border in a straight line.
 */
import { labelComponents } from "./components.ts";

/** A label map: `data[(z * height + y) * width + x]`, 0 background; `depth` 1 (or absent) is 2D. */
export interface LabelMap {
  width: number;
  height: number;
  depth?: number;
  data: Uint8Array;
}

/** What to do to each label (unset: not done). */
export interface PostprocessParams {
  /** Keep only the largest N components of each label (ties: the first in scan order). */
  largest?: number;
  /** Fill each label's holes (background it encloses; other labels are left as they are). */
  fillHoles?: boolean;
  /**
   * Drop components smaller than this (strictly): mm² in 2D, mL in 3D when a spacing is given,
   * else pixels / voxels.
   */
  minSize?: number;
}

/** What {@link postprocessLabels} changed. */
export interface PostprocessReport {
  /** Components dropped (under the size, or beyond the largest N), all labels together. */
  removed_components: number;
  /** Voxels set to background by dropping components. */
  removed_voxels: number;
  /** Background voxels set to a label by filling holes. */
  filled_voxels: number;
}

/** Whether the parameters ask for anything. */
export function postprocessActive(p: PostprocessParams): boolean {
  return (p.largest !== undefined && p.largest > 0) || p.fillHoles === true ||
    (p.minSize !== undefined && p.minSize > 0);
}

/**
 * The size in pixels / voxels of `minSize` (mm² or mL) for a spacing ([x, y] or [x, y, z] mm), or
 * `minSize` itself without a spacing: components with fewer are dropped.
 * @example minVoxels(1, [1, 1, 1], 3) // 1000: one mL of 1 mm voxels
 */
export function minVoxels(minSize: number, spacing: readonly number[] | undefined, rank: 2 | 3) {
  if (!spacing) return minSize;
  const cell = rank === 2
    ? Math.abs(spacing[0] * spacing[1])
    : Math.abs(spacing[0] * spacing[1] * spacing[2]) / 1000;
  return minSize / cell;
}

/**
 * Postprocesses `map` in place, label by label in increasing value: drop components under
 * `minSize`, then keep the largest `largest`, then fill holes. Answers what it changed.
 * @example postprocessLabels(seg, { largest: 1, fillHoles: true, minSize: 0.1 }, [1, 1, 1])
 */
export function postprocessLabels(
  map: LabelMap,
  p: PostprocessParams,
  spacing?: readonly number[],
): PostprocessReport {
  const report: PostprocessReport = { removed_components: 0, removed_voxels: 0, filled_voxels: 0 };
  if (!postprocessActive(p)) return report;
  const depth = map.depth ?? 1, rank = depth > 1 ? 3 : 2;
  const present = new Set<number>();
  for (let i = 0; i < map.data.length; i++) if (map.data[i]) present.add(map.data[i]);
  const labels = [...present].sort((a, b) => a - b);
  const least = p.minSize !== undefined && p.minSize > 0 ? minVoxels(p.minSize, spacing, rank) : 0;
  const keep = p.largest !== undefined && p.largest > 0 ? p.largest : Infinity;
  if (least > 0 || keep !== Infinity) {
    for (const label of labels) {
      const comps = components(map, label);
      // largest first; equal sizes in scan order (the order found), as a stable sort keeps them
      const order = comps.map((c, i) => ({ c, i })).sort((a, b) =>
        b.c.size - a.c.size || a.i - b.i
      );
      let kept = 0;
      for (const { c } of order) {
        if (c.size >= least && kept < keep) {
          kept++;
          continue;
        }
        c.clear();
        report.removed_components++;
        report.removed_voxels += c.size;
      }
    }
  }
  if (p.fillHoles) {
    for (const label of labels) report.filled_voxels += fillHoles(map, label);
  }
  return report;
}

/** A component of one label: its size and how to erase it. */
interface Component {
  size: number;
  clear: () => void;
}

/** The components of `label` in scan order (of their first pixel / voxel). */
function components(map: LabelMap, label: number): Component[] {
  const { width: w, height: h, data } = map;
  const depth = map.depth ?? 1;
  if (depth === 1) {
    const mask = { width: w, height: h, data: data.map((v) => (v === label ? 1 : 0)) };
    const { regions, runs } = labelComponents(mask);
    // regions are numbered by their first run, which is scan order
    return regions.map((r) => ({
      size: r.size,
      clear: () => {
        for (const i of r.runs) {
          data.fill(0, runs.row[i] * w + runs.x0[i], runs.row[i] * w + runs.x1[i] + 1);
        }
      },
    }));
  }
  const plane = w * h, n = plane * depth;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const out: Component[] = [];
  for (let s = 0; s < n; s++) {
    if (data[s] !== label || seen[s]) continue;
    const members: number[] = [];
    seen[s] = 1;
    let top = 0;
    stack[top++] = s;
    while (top > 0) {
      const v = stack[--top];
      members.push(v);
      const z = (v / plane) | 0, r = v - z * plane, y = (r / w) | 0, x = r - y * w;
      for (let dz = -1; dz <= 1; dz++) {
        const zz = z + dz;
        if (zz < 0 || zz >= depth) continue;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const u = (zz * h + yy) * w + xx;
            if (data[u] === label && !seen[u]) {
              seen[u] = 1;
              stack[top++] = u;
            }
          }
        }
      }
    }
    out.push({
      size: members.length,
      clear: () => {
        for (const v of members) data[v] = 0;
      },
    });
  }
  return out;
}

/**
 * Sets to `label` the background (0) voxels that the voxels of `label` enclose: those not joined
 * to the grid's border through voxels of other values, 4-connected in 2D, 6-connected in 3D
 * (scipy's binary_fill_holes of `map == label`, kept only where the map is 0). Answers the count.
 */
function fillHoles(map: LabelMap, label: number): number {
  const { width: w, height: h, data } = map;
  const depth = map.depth ?? 1;
  // the label's bounding box grown by one, within the grid
  let x0 = w, y0 = h, z0 = depth, x1 = -1, y1 = -1, z1 = -1;
  for (let z = 0; z < depth; z++) {
    for (let y = 0; y < h; y++) {
      const o = (z * h + y) * w;
      for (let x = 0; x < w; x++) {
        if (data[o + x] !== label) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (z < z0) z0 = z;
        if (z > z1) z1 = z;
      }
    }
  }
  if (x1 < 0) return 0;
  x0 = Math.max(0, x0 - 1), y0 = Math.max(0, y0 - 1), z0 = Math.max(0, z0 - 1);
  x1 = Math.min(w - 1, x1 + 1), y1 = Math.min(h - 1, y1 + 1), z1 = Math.min(depth - 1, z1 + 1);
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, bd = z1 - z0 + 1, bp = bw * bh;
  // outside[i] (box coordinates): a non-label voxel joined to the box's faces
  const outside = new Uint8Array(bp * bd);
  const stack = new Int32Array(bp * bd);
  let top = 0;
  const at = (x: number, y: number, z: number) => ((z + z0) * h + (y + y0)) * w + x + x0;
  const push = (x: number, y: number, z: number) => {
    const b = (z * bh + y) * bw + x;
    if (outside[b] || data[at(x, y, z)] === label) return;
    outside[b] = 1;
    stack[top++] = b;
  };
  for (let z = 0; z < bd; z++) {
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const face = x === 0 || x === bw - 1 || y === 0 || y === bh - 1 ||
          (depth > 1 && (z === 0 || z === bd - 1));
        if (face) push(x, y, z);
      }
    }
  }
  while (top > 0) {
    const b = stack[--top];
    const z = (b / bp) | 0, r = b - z * bp, y = (r / bw) | 0, x = r - y * bw;
    if (x > 0) push(x - 1, y, z);
    if (x < bw - 1) push(x + 1, y, z);
    if (y > 0) push(x, y - 1, z);
    if (y < bh - 1) push(x, y + 1, z);
    if (z > 0) push(x, y, z - 1);
    if (z < bd - 1) push(x, y, z + 1);
  }
  let filled = 0;
  for (let z = 0; z < bd; z++) {
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const v = at(x, y, z);
        if (!outside[(z * bh + y) * bw + x] && data[v] === 0) {
          data[v] = label;
          filled++;
        }
      }
    }
  }
  return filled;
}
