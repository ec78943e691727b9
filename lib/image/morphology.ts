/**
 * Binary morphology with a rectangle (OpenCV `erode`/`dilate`/`morphologyEx` with
 * `getStructuringElement(MORPH_RECT, (kx, ky))`, anchor at the centre, default border: pixels
 * outside the image never erode nor dilate). Hand-written because no edge-ready library does it.
 * It works on runs of ones, not on pixels: a mask thresholded from a mammogram has a few runs per
 * row, so the cost follows the number of runs rather than of pixels. A rectangle separates into a
 * row pass (each run shrinks or grows) and a column pass (each row becomes the intersection or
 * union of the rows in its window, computed with van Herk / Gil-Werman's block prefixes and
 * suffixes: three run-list operations per row whatever the kernel size).
 */
import type { Mask } from "./image.ts";

export type { Mask } from "./image.ts";

/**
 * A 0/1 mask as its runs of ones: `rows[y]` lists [start, end) column pairs, flat
 * ([s0, e0, s1, e1, ...]), left to right, neither overlapping nor touching.
 */
export interface RunMask {
  width: number;
  height: number;
  rows: number[][];
}

/** A pixel's neighbourhood along one axis: [i - before, i + after]. */
export interface Reach {
  before: number;
  after: number;
}

/**
 * The reach of a k-wide rectangle side with OpenCV's default anchor (k / 2, rounded down).
 * @example rectReach(23) // { before: 11, after: 11 }
 */
export function rectReach(k: number): Reach {
  const before = Math.floor(k / 2);
  return { before, after: k - 1 - before };
}

/**
 * The reach of two dilations (or two erosions) in turn, which equal one with the summed reach:
 * with a neutral border the intermediate pixel can always be chosen inside the image.
 * @example addReach(rectReach(23), rectReach(23)) // { before: 22, after: 22 }: 45 wide
 */
export function addReach(a: Reach, b: Reach): Reach {
  return { before: a.before + b.before, after: a.after + b.after };
}

/**
 * The runs of a mask (any non-zero byte is a one).
 * @example toRuns({ width: 4, height: 1, data: Uint8Array.of(0, 1, 1, 0) }).rows // [[1, 3]]
 */
export function toRuns(m: Mask): RunMask {
  const { width: w, height: h, data } = m;
  const rows: number[][] = new Array(h);
  for (let y = 0; y < h; y++) {
    const row: number[] = [];
    const base = y * w, end = base + w;
    let p = base;
    while (p < end) {
      while (p < end && data[p] === 0) p++;
      if (p === end) break;
      const s = p;
      while (p < end && data[p] !== 0) p++;
      row.push(s - base, p - base);
    }
    rows[y] = row;
  }
  return { width: w, height: h, rows };
}

/**
 * The 0/1 bytes of a run mask.
 * @example fromRuns({ width: 4, height: 1, rows: [[1, 3]] }).data // [0, 1, 1, 0]
 */
export function fromRuns(r: RunMask): Mask {
  const data = new Uint8Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) {
    const row = r.rows[y], base = y * r.width;
    for (let k = 0; k < row.length; k += 2) data.fill(1, base + row[k], base + row[k + 1]);
  }
  return { width: r.width, height: r.height, data };
}

/** Runs in both lists. */
function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const s = a[i] > b[j] ? a[i] : b[j];
    const e = a[i + 1] < b[j + 1] ? a[i + 1] : b[j + 1];
    if (s < e) out.push(s, e);
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out;
}

/** Runs in either list, touching runs merged. */
function union(a: number[], b: number[]): number[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    let s, e;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) s = a[i], e = a[i + 1], i += 2;
    else s = b[j], e = b[j + 1], j += 2;
    const n = out.length;
    if (n > 0 && s <= out[n - 1]) {
      if (e > out[n - 1]) out[n - 1] = e;
    } else out.push(s, e);
  }
  return out;
}

/** Row pass: each run [s, e) becomes [s + before, e - after) or [s - after, e + before). */
function rowPass(rows: number[][], w: number, r: Reach, erode: boolean): number[][] {
  if (r.before === 0 && r.after === 0) return rows;
  return rows.map((row) => {
    const out: number[] = [];
    for (let k = 0; k < row.length; k += 2) {
      const s = row[k], e = row[k + 1];
      if (erode) {
        // Outside the image is neutral: a run touching the edge does not shrink from that side.
        const a = s === 0 ? 0 : s + r.before, b = e === w ? w : e - r.after;
        if (a < b) out.push(a, b);
      } else {
        const a = Math.max(0, s - r.after), b = Math.min(w, e + r.before);
        const n = out.length;
        if (n > 0 && a <= out[n - 1]) out[n - 1] = b;
        else out.push(a, b);
      }
    }
    return out;
  });
}

/**
 * Column pass: row y becomes the intersection (erosion) or union (dilation) of rows
 * [y - before, y + after], rows outside the image being neutral (full, or empty). Van Herk /
 * Gil-Werman: over blocks of k = before + after + 1 rows of the extended sequence, keep each row's
 * prefix (from its block's start) and suffix (to its block's end); a window is one block's suffix
 * and the next block's prefix.
 */
function columnPass(rows: number[][], w: number, r: Reach, erode: boolean): number[][] {
  const k = r.before + r.after + 1;
  if (k === 1) return rows;
  const h = rows.length, n = h + k - 1;
  const neutral: number[] = erode ? [0, w] : [];
  const op = erode ? intersect : union;
  const at = (i: number) => {
    const y = i - r.before;
    return y >= 0 && y < h ? rows[y] : neutral;
  };
  const prefix: number[][] = new Array(n), suffix: number[][] = new Array(n);
  for (let b0 = 0; b0 < n; b0 += k) {
    const b1 = Math.min(n, b0 + k) - 1;
    prefix[b0] = at(b0);
    for (let i = b0 + 1; i <= b1; i++) prefix[i] = op(prefix[i - 1], at(i));
    suffix[b1] = at(b1);
    for (let i = b1 - 1; i >= b0; i--) suffix[i] = op(at(i), suffix[i + 1]);
  }
  const out: number[][] = new Array(h);
  for (let y = 0; y < h; y++) out[y] = y % k === 0 ? suffix[y] : op(suffix[y], prefix[y + k - 1]);
  return out;
}

/**
 * Erosion of a run mask with the rectangle of the given reach along x and y.
 * @example erodeRuns(runs, rectReach(23), rectReach(23))
 */
export function erodeRuns(m: RunMask, rx: Reach, ry: Reach): RunMask {
  const rows = columnPass(rowPass(m.rows, m.width, rx, true), m.width, ry, true);
  return { width: m.width, height: m.height, rows };
}

/**
 * Dilation of a run mask with the rectangle of the given reach along x and y.
 * @example const r2 = addReach(rectReach(23), rectReach(23)); dilateRuns(runs, r2, r2) // two 23x23 dilations
 */
export function dilateRuns(m: RunMask, rx: Reach, ry: Reach): RunMask {
  const rows = columnPass(rowPass(m.rows, m.width, rx, false), m.width, ry, false);
  return { width: m.width, height: m.height, rows };
}

/** Erosion with a kx x ky rectangle. @example erode(mask, 23, 23) */
export function erode(m: Mask, kx: number, ky = kx): Mask {
  return fromRuns(erodeRuns(toRuns(m), rectReach(kx), rectReach(ky)));
}

/** Dilation with a kx x ky rectangle. @example dilate(mask, 23, 23) */
export function dilate(m: Mask, kx: number, ky = kx): Mask {
  return fromRuns(dilateRuns(toRuns(m), rectReach(kx), rectReach(ky)));
}

/** Opening (erode, then dilate). @example morphologyOpen(mask, 23, 23) */
export function morphologyOpen(m: Mask, kx: number, ky = kx): Mask {
  const rx = rectReach(kx), ry = rectReach(ky);
  return fromRuns(dilateRuns(erodeRuns(toRuns(m), rx, ry), rx, ry));
}

/** Closing (dilate, then erode). @example morphologyClose(mask, 23, 23) */
export function morphologyClose(m: Mask, kx: number, ky = kx): Mask {
  const rx = rectReach(kx), ry = rectReach(ky);
  return fromRuns(erodeRuns(dilateRuns(toRuns(m), rx, ry), rx, ry));
}
