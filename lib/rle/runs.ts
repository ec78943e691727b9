/**
 * Runs: the one internal form of a run-length mask. A run list is a Uint32Array of pairs
 * [start0, length0, start1, length1, ...] with absolute 0-based starts in scan order
 * ("column": down the first column first, as SIIM, Kaggle and COCO number pixels; "row": row-major).
 * Every dialect parses to runs and formats from runs; masks are only made when pixels are wanted.
 */
import { BadInputError, InvalidInputError } from "../errors.ts";

/** Pixel numbering of the RLE: column-major (SIIM, Kaggle, COCO) or row-major. */
export type Order = "column" | "row";

/** Area, bounding box and run count of a mask, as the seed's `bounding_box` (inclusive indices). */
export interface MaskSummary {
  area: number;
  bbox: { rmin: number; rmax: number; cmin: number; cmax: number } | null;
  runs: number;
}

/**
 * Reads whitespace-separated non-negative integers. Hand-written rather than `split` + `Number`
 * because it is the decode hot path and must name the offending token in its error.
 * @example parseTokens("1 2 3 4", "rle") // [1, 2, 3, 4]
 */
export function parseTokens(text: string, field: string): number[] {
  const out: number[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    let value = 0;
    let digits = true;
    while (i < n) {
      c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) break;
      if (c < 48 || c > 57) digits = false;
      else value = value * 10 + (c - 48);
      i++;
    }
    if (!digits) {
      const token = text.slice(start, Math.min(i, start + 24));
      throw new BadInputError(
        `${field}: token ${out.length + 1} ('${token}') is not a non-negative integer`,
        { field, token: out.length + 1 },
      );
    }
    out.push(value);
  }
  return out;
}

/** Throws unless the token count is even (offset/start, length pairs). */
export function requirePairs(tokens: number[], field: string): void {
  if (tokens.length % 2 !== 0) {
    throw new BadInputError(
      `${field}: odd number of tokens (${tokens.length}); RLE needs start/length pairs`,
      { field, tokens: tokens.length },
    );
  }
}

/** Throws when run `index` (1-based) ends past the last pixel. */
export function requireInside(
  start: number,
  length: number,
  total: number,
  field: string,
  index: number,
): void {
  if (start + length > total) {
    throw new InvalidInputError(
      `${field}: run ${index} (start ${start}, length ${length}) ends at pixel ${
        start + length
      }, past width*height = ${total}`,
      { field, run: index },
    );
  }
}

/**
 * Union of run lists: sorted, overlapping and touching runs merged, zero-length runs dropped.
 * @example mergeRuns([Uint32Array.of(5, 2, 0, 3), Uint32Array.of(3, 2)]) // [0, 7]
 */
export function mergeRuns(lists: Uint32Array[]): Uint32Array {
  let count = 0;
  for (const l of lists) count += l.length >> 1;
  const idx: number[] = [];
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  let k = 0;
  let sorted = true;
  for (const l of lists) {
    for (let i = 0; i < l.length; i += 2) {
      if (l[i + 1] === 0) continue;
      starts[k] = l[i];
      ends[k] = l[i] + l[i + 1];
      if (k > 0 && starts[k] < starts[k - 1]) sorted = false;
      idx.push(k++);
    }
  }
  if (!sorted) idx.sort((a, b) => starts[a] - starts[b]);
  const out: number[] = [];
  for (const i of idx) {
    const s = starts[i], e = ends[i];
    const last = out.length - 2;
    if (last >= 0 && s <= out[last] + out[last + 1]) {
      const end = Math.max(out[last] + out[last + 1], e);
      out[last + 1] = end - out[last];
    } else {
      out.push(s, e - s);
    }
  }
  return Uint32Array.from(out);
}

/**
 * Area, bounding box and run count of merged runs, computed from the runs alone (no mask).
 * @example summarizeRuns(Uint32Array.of(1, 2), 3, 3, "column") // area 2, rows 1-2, column 0
 */
export function summarizeRuns(
  merged: Uint32Array,
  width: number,
  height: number,
  order: Order,
): MaskSummary {
  // In scan order a "line" is a column (column-major) or a row (row-major).
  const lineLen = order === "column" ? height : width;
  let area = 0;
  let lineMin = Infinity, lineMax = -1, posMin = Infinity, posMax = -1;
  for (let i = 0; i < merged.length; i += 2) {
    const s = merged[i], len = merged[i + 1];
    if (len === 0) continue;
    const e = s + len - 1;
    area += len;
    const l0 = Math.floor(s / lineLen), l1 = Math.floor(e / lineLen);
    if (l0 < lineMin) lineMin = l0;
    if (l1 > lineMax) lineMax = l1;
    if (l0 === l1) {
      const p0 = s - l0 * lineLen, p1 = e - l1 * lineLen;
      if (p0 < posMin) posMin = p0;
      if (p1 > posMax) posMax = p1;
    } else {
      // A run that wraps onto the next line covers the first and the last position of a line.
      posMin = 0;
      posMax = lineLen - 1;
    }
  }
  if (area === 0) return { area: 0, bbox: null, runs: 0 };
  const runs = merged.length >> 1;
  return order === "column"
    ? { area, bbox: { rmin: posMin, rmax: posMax, cmin: lineMin, cmax: lineMax }, runs }
    : { area, bbox: { rmin: lineMin, rmax: lineMax, cmin: posMin, cmax: posMax }, runs };
}

/**
 * Paints runs into a row-major mask (union when several lists are given).
 * @example runsToMask([Uint32Array.of(0, 2)], 2, 2, "column") // [1, 0, 1, 0]
 */
export function runsToMask(
  lists: Uint32Array[],
  width: number,
  height: number,
  order: Order,
  value = 1,
): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const runs of lists) {
    for (let i = 0; i < runs.length; i += 2) {
      const s = runs[i], e = s + runs[i + 1];
      if (order === "row") {
        mask.fill(value, s, e);
        continue;
      }
      let k = s;
      while (k < e) {
        const col = Math.floor(k / height);
        const row = k - col * height;
        const stop = Math.min(e - k, height - row);
        for (let j = 0, p = row * width + col; j < stop; j++, p += width) mask[p] = value;
        k += stop;
      }
    }
  }
  return mask;
}

/**
 * Runs of the non-zero pixels of a row-major mask, in the given scan order.
 * @example maskToRuns(Uint8Array.of(1, 0, 1, 0), 2, 2, "column") // [0, 2]
 */
export function maskToRuns(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  order: Order,
): Uint32Array {
  const out: number[] = [];
  let start = -1;
  const total = width * height;
  // Scan order: lines of `lineLen` pixels, `step` apart in the row-major mask.
  const [lines, lineLen, lineStep, step] = order === "row"
    ? [height, width, width, 1]
    : [width, height, 1, width];
  let k = 0;
  for (let l = 0; l < lines; l++) {
    for (let i = 0, p = l * lineStep; i < lineLen; i++, p += step, k++) {
      if (mask[p] !== 0) {
        if (start < 0) start = k;
      } else if (start >= 0) {
        out.push(start, k - start);
        start = -1;
      }
    }
  }
  if (start >= 0) out.push(start, total - start);
  return Uint32Array.from(out);
}
