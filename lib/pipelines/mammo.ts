/**
 * Seed 000's CBIS-DDSM full-mammogram pipeline (reference/seed000_mammo.py is its OpenCV reference),
 * step for step as the seed's imagePreprocessing.py with OpenCV: crop borders, min-max normalise,
 * remove artefacts (binarise, open + dilate with a rectangle, keep the largest external contour
 * filled), left-right flip when the breast faces left, CLAHE, pad to a square. The steps run on the
 * one step runner (lib/pipelines/steps.ts): timed, the budget checked between them, the stage
 * pictures kept on request, and the crop, flip and pad recorded so that `mapBack` maps a mask on
 * the square back onto the original (`inverseTransform`). Also the ROI-mask pipeline.
 */
import { InvalidInputError } from "../errors.ts";
import { claheInto } from "../image/clahe.ts";
import { largestComponentRuns } from "../image/components.ts";
import type { Image } from "../image/image.ts";
import { minMaxTo8 } from "../image/grey8.ts";
import { addReach, dilateRuns, erodeRuns, rectReach, type RunMask } from "../image/morphology.ts";
import type { Box } from "../image/ops.ts";
import { type Geometric, mapBack, type StepOptions, Steps } from "./steps.ts";

/** Parameters, with the seed's published defaults. */
export interface MammoParams {
  /** Fractions of width (left, right) and height (top, bottom) cropped away. */
  cropLeft: number;
  cropRight: number;
  cropTop: number;
  cropBottom: number;
  /** Binarisation threshold on the normalised image (>=). */
  threshold: number;
  /** Side of the square structuring element for open and dilate. */
  kernel: number;
  clipLimit: number;
  tiles: number;
}

/** The seed's defaults. */
export const MAMMO_DEFAULTS: MammoParams = {
  cropLeft: 0.01,
  cropRight: 0.01,
  cropTop: 0.04,
  cropBottom: 0.04,
  threshold: 0.1,
  kernel: 23,
  clipLimit: 2.0,
  tiles: 8,
};

/** An intermediate for the stage strip: an 8-bit picture of one step. */
export interface MammoStage {
  name: string;
  width: number;
  height: number;
  data: Uint8Array;
}

/** What the pipeline did, enough to undo it. */
export interface MammoTransform {
  width: number;
  height: number;
  crop: Box;
  lrFlip: boolean;
  square: number;
}

/** The pipeline's answer. */
export interface MammoResult {
  /** The square image, 8-bit (the CLAHE output, padded, stretched to 0-255 as the seed's last step). */
  image: Uint8Array;
  square: number;
  lrFlip: boolean;
  crop: Box;
  /** The breast mask's bounding box in output (square) coordinates, inclusive; null if no breast. */
  breastBox: { x0: number; y0: number; x1: number; y1: number } | null;
  /** The breast mask in output coordinates (0/1, square x square), made when first read. */
  breastMask: Uint8Array;
  transform: MammoTransform;
  /** The geometric steps (crop, lr flip when made, pad), for {@link mapBack}. */
  geometry: Geometric[];
  params: MammoParams;
  /** Milliseconds per step. */
  timings: Record<string, number>;
  /** The image after each of the six steps, 8-bit, when asked for. */
  stages?: MammoStage[];
}

/** The crop box of step 1: int(n * f) to int(n * (1 - f)), as the seed truncates. */
export function cropBox(width: number, height: number, p: MammoParams = MAMMO_DEFAULTS): Box {
  return {
    x0: Math.trunc(width * p.cropLeft),
    x1: Math.trunc(width * (1 - p.cropRight)),
    y0: Math.trunc(height * p.cropTop),
    y1: Math.trunc(height * (1 - p.cropBottom)),
  };
}

function checkParams(p: MammoParams): void {
  for (const k of ["cropLeft", "cropRight", "cropTop", "cropBottom"] as const) {
    if (!(p[k] >= 0 && p[k] < 0.5)) {
      throw new InvalidInputError(`${k} must be in [0, 0.5), got ${p[k]}`, { field: k });
    }
  }
  if (!(p.threshold >= 0 && p.threshold <= 1)) {
    throw new InvalidInputError(`threshold must be in [0, 1], got ${p.threshold}`, {
      field: "threshold",
    });
  }
  if (!Number.isInteger(p.kernel) || p.kernel < 1 || p.kernel > 255) {
    throw new InvalidInputError(`kernel must be an integer from 1 to 255, got ${p.kernel}`, {
      field: "kernel",
    });
  }
  if (!(p.clipLimit >= 0)) {
    throw new InvalidInputError(`clipLimit must be >= 0, got ${p.clipLimit}`, {
      field: "clipLimit",
    });
  }
  if (!Number.isInteger(p.tiles) || p.tiles < 1 || p.tiles > 64) {
    throw new InvalidInputError(`tiles must be an integer from 1 to 64, got ${p.tiles}`, {
      field: "tiles",
    });
  }
}

type Pixels = Image["data"];

/** Columns per block: the crop's rows are summarised in blocks of this many pixels. */
const BLOCK = 64;

/** Per-block minima and maxima of the crop, row by row (`per` blocks a row). */
interface Blocks {
  min: Float32Array;
  max: Float32Array;
}

/**
 * The crop's smallest and largest value, and per row the smallest and largest of each block of
 * BLOCK pixels: later passes skip whole blocks that lie on one side of the threshold or inside
 * the breast mask, and read pixels only where a block straddles an edge.
 */
interface Extremes extends Blocks {
  lo: number;
  hi: number;
  /** Blocks per row. */
  per: number;
}

// The per-pixel loops below run one row per call. A function called once with a long loop is
// optimised by on-stack replacement of its inner loop and deoptimised each time that loop exits
// (V8 "exit from OSR'd inner loop": hundreds of times per image, 3-6x slower); a function called
// per row is optimised whole after a few rows.

/** One row's block extremes into min/max at `at`. */
function blockRow(
  src: Pixels,
  o: number,
  w: number,
  { min, max }: Blocks,
  at: number,
): void {
  for (let x0 = 0; x0 < w; x0 += BLOCK, at++) {
    const end = o + Math.min(w, x0 + BLOCK);
    let mn = src[o + x0], mx = mn;
    // Math.min/max compile to branch-free instructions: twice as fast as comparisons here.
    for (let p = o + x0 + 1; p < end; p++) mn = Math.min(mn, src[p]), mx = Math.max(mx, src[p]);
    min[at] = mn, max[at] = mx;
  }
}

function extremes(src: Pixels, stride: number, box: Box): Extremes {
  const w = box.x1 - box.x0, h = box.y1 - box.y0, per = Math.ceil(w / BLOCK);
  const min = new Float32Array(h * per), max = new Float32Array(h * per);
  for (let y = 0; y < h; y++) {
    blockRow(src, (box.y0 + y) * stride + box.x0, w, { min, max }, y * per);
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < min.length; i++) lo = Math.min(lo, min[i]), hi = Math.max(hi, max[i]);
  return { lo, hi, per, min, max };
}

/**
 * Step 3's binary image as runs: pixels whose normalised value is >= the threshold. The
 * normalisation is monotonic, so that is the pixels at or above the smallest value that passes.
 */
function thresholdRuns(
  src: Pixels,
  stride: number,
  box: Box,
  ext: Extremes,
  pass: (v: number) => boolean,
  integral: boolean,
): RunMask {
  const w = box.x1 - box.x0, h = box.y1 - box.y0, { per, min, max } = ext;
  let cut = Infinity;
  if (integral) {
    for (let v = ext.lo; v <= ext.hi; v++) {
      if (pass(v)) {
        cut = v;
        break;
      }
    }
  } else {
    for (let y = 0; y < h; y++) {
      const o = (box.y0 + y) * stride + box.x0;
      for (let c = 0; c < per; c++) {
        if (!pass(max[y * per + c]) || min[y * per + c] >= cut) continue;
        for (let x = c * BLOCK; x < Math.min(w, (c + 1) * BLOCK); x++) {
          const v = src[o + x];
          if (v < cut && pass(v)) cut = v;
        }
      }
    }
  }
  const rows: number[][] = new Array(h);
  for (let y = 0; y < h; y++) {
    rows[y] = thresholdRow(src, (box.y0 + y) * stride + box.x0, w, { min, max }, y * per, cut);
  }
  return { width: w, height: h, rows };
}

/** One row's runs at or above `cut`, whole blocks decided by their extremes. */
function thresholdRow(
  src: Pixels,
  o: number,
  w: number,
  { min, max }: Blocks,
  at: number,
  cut: number,
): number[] {
  const row: number[] = [];
  let inside = false, start = 0;
  for (let a = 0; a < w; a += BLOCK, at++) {
    if (max[at] < cut) {
      if (inside) row.push(start, a), inside = false;
    } else if (min[at] >= cut) {
      if (!inside) start = a, inside = true;
    } else {
      for (let x = a, b = Math.min(w, a + BLOCK); x < b; x++) {
        const above = src[o + x] >= cut;
        if (above === inside) continue;
        if (above) start = x;
        else row.push(start, x);
        inside = above;
      }
    }
  }
  if (inside) row.push(start, w);
  return row;
}

/**
 * The smallest and largest value under the breast mask, and where (in the crop) the largest is.
 */
function maskedExtremes(
  src: Pixels,
  stride: number,
  box: Box,
  ext: Extremes,
  mask: RunMask,
): { vMin: number; vMax: number; xMax: number; yMax: number } {
  const { per, min, max } = ext;
  let vMin = Infinity, vMax = -Infinity, xMax = -1, yMax = -1;
  const scan = (o: number, y: number, a: number, b: number) => {
    for (let x = a; x < b; x++) {
      const v = src[o + x];
      if (v < vMin) vMin = v;
      if (v > vMax) vMax = v, xMax = x, yMax = y;
    }
  };
  mask.rows.forEach((row, y) => {
    const o = (box.y0 + y) * stride + box.x0;
    for (let k = 0; k < row.length; k += 2) {
      const a = row[k], b = row[k + 1];
      const c0 = Math.ceil(a / BLOCK), c1 = b === mask.width ? per : Math.floor(b / BLOCK);
      if (c0 >= c1) {
        scan(o, y, a, b);
        continue;
      }
      scan(o, y, a, c0 * BLOCK);
      for (let c = c0; c < c1; c++) {
        if (min[y * per + c] < vMin) vMin = min[y * per + c];
        if (max[y * per + c] > vMax) {
          vMax = max[y * per + c];
          xMax = -1 - c, yMax = y; // the block; the pixel is looked up below
        }
      }
      scan(o, y, c1 * BLOCK, b);
    }
  });
  if (xMax < 0 && yMax >= 0) {
    const c = -1 - xMax, o = (box.y0 + yMax) * stride + box.x0;
    for (let x = c * BLOCK; xMax < 0; x++) if (src[o + x] === vMax) xMax = x;
  }
  return { vMin, vMax, xMax, yMax };
}

/** One row of the masked image through its value table, flipped or not, into `out` at `o`. */
function maskedRow(
  src: Pixels,
  q: number,
  runs: number[],
  lut: Uint8Array,
  vMin: number,
  out: Uint8Array,
  o: number,
  w: number,
  lrFlip: boolean,
): void {
  for (let k = 0; k < runs.length; k += 2) {
    const a = runs[k], b = runs[k + 1];
    if (lrFlip) {
      for (let x = a, d = o + w - 1 - a; x < b; x++, d--) out[d] = lut[src[q + x] - vMin];
    } else for (let x = a, d = o + a; x < b; x++, d++) out[d] = lut[src[q + x] - vMin];
  }
}

/** Smallest and largest byte in [start, end). */
function byteExtremes(a: Uint8Array, start: number, end: number): [number, number] {
  let mn = 255, mx = 0;
  for (let i = start; i < end; i++) mn = Math.min(mn, a[i]), mx = Math.max(mx, a[i]);
  return [mn, mx];
}

/** a[i] = table[a[i]] over [start, end). */
function applyTable(a: Uint8Array, start: number, end: number, table: Uint8Array): void {
  for (let i = start; i < end; i++) a[i] = table[a[i]];
}

/** The breast mask in output (square, flipped) coordinates, 0/1. */
function squareMask(breast: RunMask, square: number, lrFlip: boolean): Uint8Array {
  const out = new Uint8Array(square * square), w = breast.width;
  breast.rows.forEach((row, y) => {
    for (let k = 0; k < row.length; k += 2) {
      const a = lrFlip ? w - row[k + 1] : row[k], b = lrFlip ? w - row[k] : row[k + 1];
      out.fill(1, y * square + a, y * square + b);
    }
  });
  return out;
}

/**
 * Runs the six steps on a {@link Steps} run: the fused parts are timed with `lap` under the names
 * crop, normalise, artefacts, flip, clahe and pad, the run's `check` (the time budget) is called
 * after each, the stage strip's pictures go through `keep` (made only when the run keeps them),
 * and the crop, the lr flip and the pad to the square are recorded so that `mapBack` maps a mask
 * on the square back onto the original. Memory beyond the input is the square output and the
 * mask's runs: the crop is read in place, the mask never exists as pixels (unless `breastMask` is
 * read), and CLAHE runs in place inside the padded square.
 * `img`: the one image type, grey (`channels` may be left out); `options`: `true` keeps the stages
 * (as `{ keep: true }`), or the run's options (`check`, `keep`).
 * @example const r = mammoPreprocess({ width, height, data }); r.lrFlip; r.image
 */
export function mammoPreprocess(
  img: Omit<Image, "channels"> & Partial<Pick<Image, "channels">>,
  overrides: Partial<MammoParams> = {},
  options: boolean | StepOptions = false,
): MammoResult {
  const p = { ...MAMMO_DEFAULTS, ...overrides };
  checkParams(p);
  if (img.channels !== undefined && img.channels !== 1) {
    throw new InvalidInputError(`the mammogram must be grey, got ${img.channels} channels`);
  }
  const run = new Steps<MammoStage>(typeof options === "boolean" ? { keep: options } : options);
  const stage = (name: string, width: number, height: number, data: () => Uint8Array) =>
    run.keep(name, () => ({ name, width, height, data: data() }));
  run.startLaps();

  // 1. Crop borders (kept as a box into the input; copied only for the stage picture).
  const crop = cropBox(img.width, img.height, p);
  const w = crop.x1 - crop.x0, h = crop.y1 - crop.y0;
  if (w < 2 || h < 2) {
    throw new InvalidInputError(
      `image of ${img.width}x${img.height} is too small to crop and process`,
    );
  }
  const n = w * h;
  const src = img.data, stride = img.width;
  const at = (x: number, y: number) => (crop.y0 + y) * stride + crop.x0 + x;
  let cropped: Pixels | undefined;
  if (run.keeping) {
    cropped = new (src.constructor as new (n: number) => Pixels)(n);
    for (let y = 0; y < h; y++) cropped.set(src.subarray(at(0, y), at(w, y)), y * w);
  }
  run.geometric({ step: "crop", kind: "crop", from: [img.width, img.height], box: crop });
  run.lap("crop");
  stage("crop", w, h, () => minMaxTo8(cropped!, n));

  // 2. Min-max normalise (kept implicit: norm(v) = (v - lo) / (hi - lo), in float64 as numpy).
  const ext = extremes(src, stride, crop), { lo, hi } = ext;
  const range = hi - lo;
  const norm = (v: number) => (range > 0 ? (v - lo) / range : NaN);
  run.lap("normalise");
  stage("normalise", w, h, () => minMaxTo8(cropped!, n));

  // 3. Remove artefacts: binarise, open, dilate, keep the largest region filled. The open's
  // dilation and the seed's second dilation are one dilation with twice the reach.
  const integral = !(src instanceof Float32Array) && range < 65536;
  const binary = thresholdRuns(src, stride, crop, ext, (v) => norm(v) >= p.threshold, integral);
  const reach = rectReach(p.kernel), twice = addReach(reach, reach);
  const edited = dilateRuns(erodeRuns(binary, reach, reach), twice, twice);
  const breast = largestComponentRuns(edited);
  run.lap("artefacts");
  stage("artefacts", w, h, () => {
    const masked = new Uint8Array(n);
    breast.rows.forEach((row, y) => {
      for (let k = 0; k < row.length; k += 2) {
        for (let x = row[k]; x < row[k + 1]; x++) {
          masked[y * w + x] = Math.round(norm(cropped![y * w + x]) * 255);
        }
      }
    });
    return masked;
  });

  // 4. Flip when the breast faces left; the seed sums columns [0, w/2) against [w/2, w-1).
  const half = Math.floor(w / 2);
  let left = 0, right = 0, area = 0;
  for (const row of breast.rows) {
    for (let k = 0; k < row.length; k += 2) {
      const a = row[k], b = row[k + 1];
      area += b - a;
      left += Math.max(0, Math.min(b, half) - a);
      right += Math.max(0, Math.min(b, w - 1) - Math.max(a, half));
    }
  }
  // The masked, flipped image goes straight to CLAHE's 8-bit input: cv2.normalize to [0, 255]
  // (scale = 255 * (1 / (max - min)) in double, stored as float32), then truncation to uint8.
  // norm is monotonic, so the masked image's extremes come from the extreme values in the mask
  // (and 0 wherever the mask is off).
  const { vMin, vMax, xMax, yMax } = maskedExtremes(src, stride, crop, ext, breast);
  const lrFlip = left < right;
  const background = area < n;
  const mMin = Math.min(area ? norm(vMin) : Infinity, background ? 0 : Infinity);
  const mMax = Math.max(area ? norm(vMax) : -Infinity, background ? 0 : -Infinity);
  const scale = mMax - mMin > Number.EPSILON ? 255 * (1 / (mMax - mMin)) : 0;
  const shift = 0 - mMin * scale;
  const toU8 = (nv: number) => Math.trunc(Math.fround(nv * scale + shift));
  // Integer images: a table over the values inside the mask instead of float maths per pixel.
  let lut: Uint8Array | undefined;
  if (integral && area) {
    lut = new Uint8Array(vMax - vMin + 1);
    for (let v = 0; v < lut.length; v++) lut[v] = toU8(norm(v + vMin));
  }
  const off = toU8(0);
  // Written straight into the padded square (right when portrait, bottom when landscape).
  const square = Math.max(w, h);
  const padded = new Uint8Array(square * square);
  for (let y = 0; y < h; y++) {
    const o = y * square;
    padded.fill(off, o, o + w);
    if (lut) maskedRow(src, at(0, y), breast.rows[y], lut, vMin, padded, o, w, lrFlip);
    else {
      const row = breast.rows[y];
      for (let k = 0; k < row.length; k += 2) {
        for (let x = row[k]; x < row[k + 1]; x++) {
          padded[o + (lrFlip ? w - 1 - x : x)] = toU8(norm(src[at(x, y)]));
        }
      }
    }
  }
  const region = () => {
    const out = new Uint8Array(n);
    for (let y = 0; y < h; y++) out.set(padded.subarray(y * square, y * square + w), y * w);
    return out;
  };
  if (lrFlip) run.geometric({ step: "flip", kind: "flip", axis: "x", size: [w, h] });
  run.lap("flip");
  stage("flip", w, h, region);

  // 5. CLAHE, in place.
  claheInto(padded, square, w, h, p.clipLimit, p.tiles, p.tiles, padded, square);
  run.lap("clahe");
  stage("clahe", w, h, region);

  // 6. Pad to a square (done: the image was written into it), then the seed's min-max over it.
  // With padding the minimum is 0; the maximum is 255 as soon as one pixel is, and the brightest
  // breast pixel (255 before CLAHE) usually stays 255: look there before scanning everything.
  const padding = square > w || square > h;
  let pMin = padding ? 0 : 255, pMax = 0;
  const brightest = yMax >= 0 ? yMax * square + (lrFlip ? w - 1 - xMax : xMax) : -1;
  if (!(padding && brightest >= 0 && padded[brightest] === 255)) {
    for (let y = 0; y < h; y++) {
      const [mn, mx] = byteExtremes(padded, y * square, y * square + w);
      pMin = Math.min(pMin, mn), pMax = Math.max(pMax, mx);
    }
  } else pMax = 255;
  if (pMax > pMin && (pMin !== 0 || pMax !== 255)) {
    const s = 255 / (pMax - pMin);
    const stretch = Uint8Array.from({ length: 256 }, (_, v) => Math.round((v - pMin) * s));
    // The padding is 0 and pMin is 0 whenever there is padding: only the image moves.
    for (let y = 0; y < h; y++) applyTable(padded, y * square, y * square + w, stretch);
  }
  run.geometric({ step: "pad", kind: "pad", from: [w, h], to: [square, square], at: [0, 0] });
  run.lap("pad");
  stage("pad", square, square, () => padded);

  let bx0 = square, by0 = square, bx1 = -1, by1 = -1;
  breast.rows.forEach((row, y) => {
    if (row.length === 0) return;
    const a = row[0], b = row[row.length - 1];
    const x0 = lrFlip ? w - b : a, x1 = lrFlip ? w - 1 - a : b - 1;
    if (x0 < bx0) bx0 = x0;
    if (x1 > bx1) bx1 = x1;
    if (y < by0) by0 = y;
    by1 = y;
  });
  const transform = { width: img.width, height: img.height, crop, lrFlip, square };
  let mask: Uint8Array | undefined;
  return {
    image: padded,
    square,
    lrFlip,
    crop,
    breastBox: bx1 >= 0 ? { x0: bx0, y0: by0, x1: bx1, y1: by1 } : null,
    get breastMask() {
      return (mask ??= squareMask(breast, square, lrFlip));
    },
    transform,
    geometry: run.geometry,
    params: p,
    timings: run.timings,
    ...(run.keeping ? { stages: run.kept.map((k) => k.image) } : {}),
  };
}

/** Adds w values of src from q into dst from o (right to left when flipped), saturating at 255. */
function addRow(src: Uint8Array, q: number, w: number, dst: Uint8Array, o: number, flip: boolean) {
  for (let x = 0; x < w; x++) {
    const d = flip ? o + w - 1 - x : o + x, v = dst[d] + src[q + x];
    dst[d] = v < 255 ? v : 255;
  }
}

/**
 * The ROI-mask pipeline: crop (step 1), flip with the mammogram's lr_flip, pad (step 6); several
 * masks of one mammogram are summed first (saturating at 255). No normalisation, no CLAHE.
 * @example maskPreprocess([roi], width, height, r.lrFlip)
 */
export function maskPreprocess(
  masks: Uint8Array[],
  width: number,
  height: number,
  lrFlip: boolean,
  overrides: Partial<MammoParams> = {},
): { mask: Uint8Array; square: number; geometry: Geometric[] } {
  const { square, fillRow, geometry } = maskRows(masks, width, height, lrFlip, overrides);
  const out = new Uint8Array(square * square);
  for (let y = 0; y < square; y++) fillRow(y, out.subarray(y * square, (y + 1) * square));
  return { mask: out, square, geometry };
}

/**
 * {@link maskPreprocess} row by row, for writers that want no square mask in memory (e.g. straight
 * into PNG scanlines): `fillRow(y, row)` writes output row y into a zeroed `row` of `square` bytes.
 * @example const { square, fillRow } = maskRows([roi], width, height, true)
 */
export function maskRows(
  masks: Uint8Array[],
  width: number,
  height: number,
  lrFlip: boolean,
  overrides: Partial<MammoParams> = {},
): { square: number; fillRow: (y: number, row: Uint8Array) => void; geometry: Geometric[] } {
  const p = { ...MAMMO_DEFAULTS, ...overrides };
  const crop = cropBox(width, height, p);
  const w = crop.x1 - crop.x0, h = crop.y1 - crop.y0, square = Math.max(w, h);
  for (const m of masks) {
    if (m.length !== width * height) {
      throw new InvalidInputError(`a mask has ${m.length} pixels, expected ${width}x${height}`);
    }
  }
  const fillRow = (y: number, row: Uint8Array) => {
    if (y >= h) return; // padding
    const q = (crop.y0 + y) * width + crop.x0;
    masks.forEach((m, k) => {
      if (k === 0 && !lrFlip) row.set(m.subarray(q, q + w));
      else if (k === 0) { for (let x = 0, d = w - 1; x < w; x++, d--) row[d] = m[q + x]; }
      else addRow(m, q, w, row, 0, lrFlip);
    });
  };
  // The same geometric steps as the mammogram's (mapBack takes a mask back onto the original).
  const geometry = mammoGeometry({ width, height, crop, lrFlip, square });
  return { square, fillRow, geometry };
}

/**
 * The geometric steps a transform stands for, as {@link mammoPreprocess} records them: the crop
 * box of the original, the lr flip when made, the pad to the square.
 * @example mapBack(mammoGeometry(r.transform), { width: r.square, height: r.square, data })
 */
export function mammoGeometry(t: MammoTransform): Geometric[] {
  const { x0, y0, x1, y1 } = t.crop, w = x1 - x0, h = y1 - y0;
  const steps: Geometric[] = [
    { step: "crop", kind: "crop", from: [t.width, t.height], box: t.crop },
  ];
  if (t.lrFlip) steps.push({ step: "flip", kind: "flip", axis: "x", size: [w, h] });
  steps.push({ step: "pad", kind: "pad", from: [w, h], to: [t.square, t.square], at: [0, 0] });
  return steps;
}

/**
 * Maps a mask predicted on the square output back onto the original image (zeros where cropped):
 * the recorded geometry undone by {@link mapBack}.
 * @example inverseTransform(r.transform, predicted)
 */
export function inverseTransform(t: MammoTransform, squareMask: Uint8Array): Uint8Array {
  if (squareMask.length !== t.square * t.square) {
    throw new InvalidInputError(
      `mask has ${squareMask.length} pixels, expected ${t.square}x${t.square}`,
    );
  }
  const square = { width: t.square, height: t.square, data: squareMask };
  return mapBack(mammoGeometry(t), square, "nearest").data;
}
