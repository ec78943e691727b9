/**
 * The largest 8-connected region of a mask, filled: what the seed does with OpenCV
 * (`findContours(RETR_EXTERNAL)`, the contour of largest `contourArea`, `drawContours(thickness=-1)`).
 * A filled external contour is the region plus everything it encloses (holes, and smaller regions
 * inside holes). Hand-written, on runs rather than pixels, because no edge-ready library labels
 * components and because a mammogram mask of 7 million pixels has only thousands of runs: regions
 * are runs joined 8-connected with the row above (union-find); a region's enclosed area is its
 * background gaps, joined 4-connected, that cannot reach the image border. Regions are ranked by
 * filled area, which orders them as contourArea does except for near-ties of thin shapes.
 */
import type { Mask } from "./image.ts";
import { fromRuns, type RunMask, toRuns } from "./morphology.ts";

/** Horizontal runs of non-zero pixels, in row order: row, first and last column (inclusive). */
interface Runs {
  row: Int32Array;
  x0: Int32Array;
  x1: Int32Array;
  /** Index of each row's first run (length height + 1). */
  rowStart: Int32Array;
}

function flatRuns(m: RunMask): Runs {
  let n = 0;
  for (const r of m.rows) n += r.length >> 1;
  const row = new Int32Array(n), x0 = new Int32Array(n), x1 = new Int32Array(n);
  const rowStart = new Int32Array(m.height + 1);
  let i = 0;
  for (let y = 0; y < m.height; y++) {
    rowStart[y] = i;
    const r = m.rows[y];
    for (let k = 0; k < r.length; k += 2, i++) row[i] = y, x0[i] = r[k], x1[i] = r[k + 1] - 1;
  }
  rowStart[m.height] = n;
  return { row, x0, x1, rowStart };
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

function union(parent: Int32Array, a: number, b: number): void {
  const ra = find(parent, a), rb = find(parent, b);
  if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
}

/** Joins runs of consecutive rows that overlap by at least `reach` columns' slack (1: 8-connected, 0: 4-connected). */
function joinRows(
  x0: Int32Array,
  x1: Int32Array,
  starts: ArrayLike<number>,
  lines: number,
  parent: Int32Array,
  slack: number,
): void {
  for (let y = 1; y < lines; y++) {
    let b = starts[y - 1];
    const bEnd = starts[y];
    for (let a = starts[y]; a < starts[y + 1]; a++) {
      while (b < bEnd && x1[b] + slack < x0[a]) b++;
      for (let c = b; c < bEnd && x0[c] - slack <= x1[a]; c++) union(parent, a, c);
    }
  }
}

/** A labelled region: pixel count and inclusive bounding box. */
export interface Region {
  label: number;
  size: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Indices of the region's runs. */
  runs: number[];
}

/**
 * 8-connected regions of non-zero pixels (of a mask or of its runs), as runs.
 * @example labelComponents(mask).regions.length
 */
export function labelComponents(m: Mask | RunMask): { regions: Region[]; runs: Runs } {
  const runs = flatRuns("data" in m ? toRuns(m) : m);
  const n = runs.row.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  joinRows(runs.x0, runs.x1, runs.rowStart, m.height, parent, 1);
  const byRoot = new Map<number, Region>();
  for (let i = 0; i < n; i++) {
    const root = find(parent, i);
    let r = byRoot.get(root);
    if (!r) {
      r = { label: byRoot.size + 1, size: 0, x0: m.width, y0: m.height, x1: -1, y1: -1, runs: [] };
      byRoot.set(root, r);
    }
    r.runs.push(i);
    r.size += runs.x1[i] - runs.x0[i] + 1;
    if (runs.x0[i] < r.x0) r.x0 = runs.x0[i];
    if (runs.x1[i] > r.x1) r.x1 = runs.x1[i];
    if (runs.row[i] < r.y0) r.y0 = runs.row[i];
    if (runs.row[i] > r.y1) r.y1 = runs.row[i];
  }
  return { regions: [...byRoot.values()], runs };
}

/**
 * The runs of a region filled: its own runs plus the background gaps between them that are
 * enclosed (not 4-connected to the image border, the region's first or last row, or outside).
 */
function filledRuns(region: Region, runs: Runs): { rows: number[][]; area: number } {
  const { y0, y1 } = region;
  const lines = y1 - y0 + 1;
  // The region's runs per row, in column order (runs are stored in row then column order).
  const perRow: number[][] = Array.from({ length: lines }, () => []);
  for (const i of region.runs) perRow[runs.row[i] - y0].push(i);
  // Gaps: between consecutive runs of a row only (gaps before the first or after the last run of
  // a row reach the border through that row, so they are outside).
  const gx0: number[] = [], gx1: number[] = [];
  const gStart = new Int32Array(lines + 1);
  for (let l = 0; l < lines; l++) {
    gStart[l] = gx0.length;
    const r = perRow[l];
    for (let k = 1; k < r.length; k++) gx0.push(runs.x1[r[k - 1]] + 1), gx1.push(runs.x0[r[k]] - 1);
  }
  gStart[lines] = gx0.length;
  const g = gx0.length;
  const parent = Int32Array.from({ length: g + 1 }, (_, i) => i); // index g: "outside"
  const x0 = Int32Array.from(gx0), x1 = Int32Array.from(gx1);
  joinRows(x0, x1, gStart, lines, parent, 0);
  for (let l = 0; l < lines; l++) {
    for (let k = gStart[l]; k < gStart[l + 1]; k++) {
      // Gaps on the first and last rows open onto rows without this region; a gap touching the
      // edge cannot happen (it would not lie between two runs), but a gap that overlaps no gap of
      // a neighbouring row while that row has background there is also open: handled below.
      if (l === 0 || l === lines - 1) union(parent, k, g);
    }
  }
  // A gap whose columns, in the row above or below, are not fully covered by that row's runs and
  // gaps lies against background outside the region's span: it is open.
  for (let l = 0; l < lines; l++) {
    for (const nl of [l - 1, l + 1]) {
      if (nl < 0 || nl >= lines) continue;
      const r = perRow[nl];
      const spanStart = r.length ? runs.x0[r[0]] : Infinity,
        spanEnd = r.length ? runs.x1[r[r.length - 1]] : -Infinity;
      for (let k = gStart[l]; k < gStart[l + 1]; k++) {
        if (x0[k] < spanStart || x1[k] > spanEnd) union(parent, k, g);
      }
    }
  }
  // Each row's runs, with the enclosed gaps between them joined in: [start, end) pairs.
  const rows: number[][] = new Array(lines);
  const outside = find(parent, g);
  let area = 0;
  for (let l = 0; l < lines; l++) {
    const r = perRow[l], out: number[] = [];
    for (let k = 0; k < r.length; k++) {
      const gap = gStart[l] + k - 1;
      if (k > 0 && find(parent, gap) !== outside) out[out.length - 1] = runs.x1[r[k]] + 1;
      else out.push(runs.x0[r[k]], runs.x1[r[k]] + 1);
    }
    for (let k = 0; k < out.length; k += 2) area += out[k + 1] - out[k];
    rows[l] = out;
  }
  return { rows, area };
}

/**
 * The largest region of a run mask, filled, as a run mask (an empty mask stays empty).
 * @example largestComponentRuns(toRuns(mask)).rows
 */
export function largestComponentRuns(m: RunMask): RunMask {
  const { regions, runs } = labelComponents(m);
  let best: { rows: number[][]; area: number; y0: number } | undefined;
  // A filled region never exceeds its bounding box: try regions by box area and stop when no box
  // left could beat the best filled area (in practice after one or two regions).
  const boxArea = (r: Region) => (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
  for (const r of regions.sort((a, b) => boxArea(b) - boxArea(a))) {
    if (boxArea(r) <= (best?.area ?? 0)) break;
    const filled = filledRuns(r, runs);
    if (filled.area > (best?.area ?? 0)) best = { ...filled, y0: r.y0 };
  }
  const rows: number[][] = Array.from({ length: m.height }, () => []);
  if (best) best.rows.forEach((row, l) => (rows[best.y0 + l] = row));
  return { width: m.width, height: m.height, rows };
}

/**
 * The largest region of a mask, filled (an empty mask stays empty).
 * @example largestComponentFilled({ width, height, data })
 */
export function largestComponentFilled(m: Mask): Mask {
  return fromRuns(largestComponentRuns(toRuns(m)));
}
