/**
 * Seed 000's CBIS-DDSM full-mammogram pipeline (SPEC.md "mammo"), step for step as the seed's
 * imagePreprocessing.py with OpenCV: crop borders, min-max normalise, remove artefacts (binarise,
 * open + dilate with a rectangle, keep the largest external contour filled), left-right flip when
 * the breast faces left, CLAHE, pad to a square. Also the ROI-mask pipeline and the inverse
 * transform that maps a mask predicted on the output back onto the original image.
 */
import { InvalidInputError } from "../errors.ts";
import { clahe } from "../image/clahe.ts";
import { largestComponentFilled } from "../image/components.ts";
import { dilate, morphologyOpen } from "../image/morphology.ts";

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

/** A grey input image (8- or 16-bit, or float). */
export interface GreyInput {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array | Int16Array | Float32Array;
}

/** Crop box in original pixels: columns [x0, x1), rows [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
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
  /** The breast mask in output coordinates (0/1, square x square). */
  breastMask: Uint8Array;
  transform: MammoTransform;
  params: MammoParams;
  /** Milliseconds per step. */
  timings: Record<string, number>;
  /** The image after each of the six steps, 8-bit, when asked for. */
  stages?: { name: string; width: number; height: number; data: Uint8Array }[];
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

/** Stretches values to 0-255 (for stage pictures). */
function toByte(data: ArrayLike<number>, n: number): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  const out = new Uint8Array(n), s = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) out[i] = Math.round((data[i] - lo) * s);
  return out;
}

/**
 * Runs the six steps.
 * @example const r = mammoPreprocess({ width, height, data }); r.lrFlip; r.image
 */
export function mammoPreprocess(
  img: GreyInput,
  overrides: Partial<MammoParams> = {},
  withStages = false,
): MammoResult {
  const p = { ...MAMMO_DEFAULTS, ...overrides };
  checkParams(p);
  const timings: Record<string, number> = {};
  const stages: NonNullable<MammoResult["stages"]> = [];
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = now - t;
    t = now;
  };

  // 1. Crop borders.
  const crop = cropBox(img.width, img.height, p);
  const w = crop.x1 - crop.x0, h = crop.y1 - crop.y0;
  if (w < 2 || h < 2) {
    throw new InvalidInputError(
      `image of ${img.width}x${img.height} is too small to crop and process`,
    );
  }
  const n = w * h;
  const src = img.data;
  const values = new (src.constructor as new (n: number) => typeof src)(n);
  for (let y = 0; y < h; y++) {
    values.set(
      src.subarray((crop.y0 + y) * img.width + crop.x0, (crop.y0 + y) * img.width + crop.x1),
      y * w,
    );
  }
  lap("crop");
  if (withStages) stages.push({ name: "crop", width: w, height: h, data: toByte(values, n) });

  // 2. Min-max normalise (kept implicit: norm(v) = (v - lo) / (hi - lo), in float64 as numpy).
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const range = hi - lo;
  const norm = (v: number) => (range > 0 ? (v - lo) / range : NaN);
  lap("normalise");
  if (withStages) stages.push({ name: "normalise", width: w, height: h, data: toByte(values, n) });

  // 3. Remove artefacts.
  // Integer images: everything per pixel below depends on the value alone, so it is a table
  // lookup over [lo, hi] (at most 65,536 entries) instead of float arithmetic per pixel.
  const integral = !(values instanceof Float32Array) && range < 65536;
  const binary = new Uint8Array(n);
  if (integral) {
    const above = new Uint8Array(range + 1);
    for (let v = 0; v <= range; v++) above[v] = norm(v + lo) >= p.threshold ? 1 : 0;
    for (let i = 0; i < n; i++) binary[i] = above[values[i] - lo];
  } else {
    for (let i = 0; i < n; i++) binary[i] = norm(values[i]) >= p.threshold ? 1 : 0;
  }
  const edited = dilate(morphologyOpen({ width: w, height: h, data: binary }, p.kernel), p.kernel);
  const breast = largestComponentFilled(edited).data;
  lap("artefacts");
  if (withStages) {
    const masked = new Uint8Array(n);
    for (let i = 0; i < n; i++) masked[i] = breast[i] ? Math.round(norm(values[i]) * 255) : 0;
    stages.push({ name: "artefacts", width: w, height: h, data: masked });
  }

  // 4. Flip when the breast faces left; the seed sums columns [0, w/2) against [w/2, w-1).
  const half = Math.floor(w / 2);
  let left = 0, right = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < half; x++) left += breast[row + x];
    for (let x = half; x < w - 1; x++) right += breast[row + x];
  }
  const lrFlip = left < right;
  // The masked, flipped image goes straight to CLAHE's 8-bit input: cv2.normalize to [0, 255]
  // (scale = 255 * (1 / (max - min)) in double, stored as float32), then truncation to uint8.
  // norm is monotonic, so the masked image's extremes come from the extreme values in the mask
  // (and 0 wherever the mask is off).
  let vMin = Infinity, vMax = -Infinity, background = false;
  for (let i = 0; i < n; i++) {
    if (!breast[i]) {
      background = true;
      continue;
    }
    if (values[i] < vMin) vMin = values[i];
    if (values[i] > vMax) vMax = values[i];
  }
  const mMin = Math.min(vMin === Infinity ? Infinity : norm(vMin), background ? 0 : Infinity);
  const mMax = Math.max(vMin === Infinity ? -Infinity : norm(vMax), background ? 0 : -Infinity);
  const scale = mMax - mMin > Number.EPSILON ? 255 * (1 / (mMax - mMin)) : 0;
  const shift = 0 - mMin * scale;
  const toU8 = (nv: number) => Math.trunc(Math.fround(nv * scale + shift));
  const lut = integral
    ? Uint8Array.from({ length: range + 1 }, (_, v) => toU8(norm(v + lo)))
    : undefined;
  const off = toU8(0);
  const u8 = new Uint8Array(n);
  const breastOut = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const o = y * w + (lrFlip ? w - 1 - x : x);
      u8[o] = !breast[i] ? off : lut ? lut[values[i] - lo] : toU8(norm(values[i]));
      breastOut[o] = breast[i];
    }
  }
  lap("flip");
  if (withStages) stages.push({ name: "flip", width: w, height: h, data: u8.slice() });

  // 5. CLAHE.
  const enhanced = clahe({ width: w, height: h, data: u8 }, p.clipLimit, p.tiles).data;
  lap("clahe");
  if (withStages) stages.push({ name: "clahe", width: w, height: h, data: enhanced });

  // 6. Pad to a square (right when portrait, bottom when landscape), then the seed's min-max.
  const square = Math.max(w, h);
  const padded = new Uint8Array(square * square);
  const maskSquare = new Uint8Array(square * square);
  for (let y = 0; y < h; y++) {
    padded.set(enhanced.subarray(y * w, (y + 1) * w), y * square);
    maskSquare.set(breastOut.subarray(y * w, (y + 1) * w), y * square);
  }
  let pMin = 255, pMax = 0;
  for (let i = 0; i < padded.length; i++) {
    if (padded[i] < pMin) pMin = padded[i];
    if (padded[i] > pMax) pMax = padded[i];
  }
  if (pMax > pMin && (pMin !== 0 || pMax !== 255)) {
    const s = 255 / (pMax - pMin);
    for (let i = 0; i < padded.length; i++) padded[i] = Math.round((padded[i] - pMin) * s);
  }
  lap("pad");
  if (withStages) stages.push({ name: "pad", width: square, height: square, data: padded });

  let bx0 = square, by0 = square, bx1 = -1, by1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!maskSquare[y * square + x]) continue;
      if (x < bx0) bx0 = x;
      if (x > bx1) bx1 = x;
      if (y < by0) by0 = y;
      if (y > by1) by1 = y;
    }
  }
  const transform = { width: img.width, height: img.height, crop, lrFlip, square };
  return {
    image: padded,
    square,
    lrFlip,
    crop,
    breastBox: bx1 >= 0 ? { x0: bx0, y0: by0, x1: bx1, y1: by1 } : null,
    breastMask: maskSquare,
    transform,
    params: p,
    timings,
    ...(withStages ? { stages } : {}),
  };
}

/**
 * The ROI-mask pipeline: crop (step 1), flip with the mammogram's lr_flip, pad (step 6); several
 * masks of one mammogram are summed first. No normalisation, no CLAHE.
 * @example maskPreprocess([roi], width, height, r.lrFlip)
 */
export function maskPreprocess(
  masks: Uint8Array[],
  width: number,
  height: number,
  lrFlip: boolean,
  overrides: Partial<MammoParams> = {},
): { mask: Uint8Array; square: number } {
  const p = { ...MAMMO_DEFAULTS, ...overrides };
  const crop = cropBox(width, height, p);
  const w = crop.x1 - crop.x0, h = crop.y1 - crop.y0, square = Math.max(w, h);
  const out = new Uint8Array(square * square);
  for (const m of masks) {
    if (m.length !== width * height) {
      throw new InvalidInputError(`a mask has ${m.length} pixels, expected ${width}x${height}`);
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = m[(crop.y0 + y) * width + crop.x0 + x];
        const o = y * square + (lrFlip ? w - 1 - x : x);
        out[o] = Math.min(255, out[o] + v);
      }
    }
  }
  return { mask: out, square };
}

/**
 * Maps a mask predicted on the square output back onto the original image (zeros where cropped).
 * @example inverseTransform(r.transform, predicted)
 */
export function inverseTransform(t: MammoTransform, squareMask: Uint8Array): Uint8Array {
  if (squareMask.length !== t.square * t.square) {
    throw new InvalidInputError(
      `mask has ${squareMask.length} pixels, expected ${t.square}x${t.square}`,
    );
  }
  const { x0, y0, x1, y1 } = t.crop;
  const w = x1 - x0, h = y1 - y0;
  const out = new Uint8Array(t.width * t.height);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out[(y0 + y) * t.width + x0 + x] = squareMask[y * t.square + (t.lrFlip ? w - 1 - x : x)];
    }
  }
  return out;
}
