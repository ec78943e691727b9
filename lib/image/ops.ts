/**
 * Small operations over the one image type, each as its OpenCV 4.6 counterpart: crop (numpy
 * slicing), flip (`cv2.flip`), constant padding (`cv2.copyMakeBorder` BORDER_CONSTANT), min-max
 * normalisation (`cv2.normalize` NORM_MINMAX with an output depth, its float32 arithmetic and
 * rounding) and the binary threshold (`cv2.threshold` THRESH_BINARY: value > thresh). Each returns
 * a new image and leaves its input alone.
 */
import { InvalidInputError, UnsupportedError } from "../errors.ts";
import { type Image, newPixels, type Pixels, sameType, type SamplePixels } from "./image.ts";
import { minMax } from "./grey8.ts";

/** Output sample types, by numpy name. */
export type SampleType = "uint8" | "uint16" | "int16" | "float32";

/** Typed arrays of those sample types (defined beside the image type). */
export type { SamplePixels } from "./image.ts";

/** A rectangle: columns [x0, x1), rows [y0, y1). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Rows and columns added on each side. */
export interface Border {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

const f = Math.fround;
/** 2^52 + 2^51: adding and subtracting it rounds to an integer, ties to even (cvRound). */
const RNE = 6755399441055744;

const LIMITS: Record<SampleType, [number, number] | null> = {
  uint8: [0, 255],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  float32: null,
};

function typeOf(data: Pixels): SampleType | undefined {
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Float32Array) return "float32";
  return undefined;
}

function arrayOf(type: SampleType, n: number): SamplePixels {
  if (Object.hasOwn(LIMITS, type)) return newPixels(type, n) as SamplePixels;
  throw new InvalidInputError(`unknown sample type ${type}`, { field: "dtype" });
}

/** OpenCV's saturate_cast of a double to `type`: round ties to even and clamp, or float32. */
function saturate(v: number, type: SampleType): number {
  const lim = LIMITS[type];
  if (!lim) return f(v);
  const r = (v + RNE) - RNE;
  return r < lim[0] ? lim[0] : r > lim[1] ? lim[1] : r;
}

function samplesOf(img: Image): number {
  return img.width * img.height * (img.channels ?? 1);
}

/**
 * The pixels of `box` (`img[y0:y1, x0:x1]` in numpy), copied.
 * @example crop(img, { x0: 10, y0: 40, x1: 1014, y1: 984 })
 */
export function crop<T extends Pixels>(img: Image<T>, box: Box): Image<T> {
  const { x0, y0, x1, y1 } = box;
  const ok = [x0, y0, x1, y1].every(Number.isInteger) && x0 >= 0 && y0 >= 0 &&
    x0 < x1 && y0 < y1 && x1 <= img.width && y1 <= img.height;
  if (!ok) {
    throw new InvalidInputError(
      `crop box [${x0}, ${x1}) x [${y0}, ${y1}) is not a non-empty integer box inside ` +
        `${img.width}x${img.height}`,
      { field: "box" },
    );
  }
  const cn = img.channels ?? 1, w = x1 - x0, rowLen = w * cn;
  const out = sameType(img.data, rowLen * (y1 - y0));
  for (let y = y0; y < y1; y++) {
    const s = (y * img.width + x0) * cn;
    out.set(img.data.subarray(s, s + rowLen), (y - y0) * rowLen);
  }
  return { ...img, width: w, height: y1 - y0, data: out };
}

/**
 * Mirrors the image as `cv2.flip`: "horizontal" (flipCode 1, left-right), "vertical" (0,
 * up-down) or "both" (-1).
 * @example flip(img, "horizontal") // the mammogram's lr_flip
 */
export function flip<T extends Pixels>(
  img: Image<T>,
  axis: "horizontal" | "vertical" | "both",
): Image<T> {
  if (axis !== "horizontal" && axis !== "vertical" && axis !== "both") {
    throw new InvalidInputError(`unknown flip axis ${axis}`, { field: "axis" });
  }
  const { width: w, height: h, data } = img;
  const cn = img.channels ?? 1, rowLen = w * cn;
  const out = sameType(data, rowLen * h);
  const mirror = axis !== "vertical", upDown = axis !== "horizontal";
  for (let y = 0; y < h; y++) {
    const s = y * rowLen, d = (upDown ? h - 1 - y : y) * rowLen;
    if (!mirror) {
      out.set(data.subarray(s, s + rowLen), d);
    } else if (cn === 1) {
      for (let x = 0; x < w; x++) out[d + w - 1 - x] = data[s + x];
    } else {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < cn; c++) out[d + (w - 1 - x) * cn + c] = data[s + x * cn + c];
      }
    }
  }
  return { ...img, data: out };
}

/**
 * Adds a constant border as `cv2.copyMakeBorder(img, top, bottom, left, right,
 * BORDER_CONSTANT, value)`; the value is saturated to the sample type (rounded, ties to even).
 * A single number fills every channel (in Python pass `value=(v, v, v)` for the same result).
 * @example pad(img, { top: 0, bottom: 0, left: 0, right: 200 }) // to a square, zeros on the right
 */
export function pad<T extends Pixels>(
  img: Image<T>,
  border: Border,
  value: number | number[] = 0,
): Image<T> {
  const { top, bottom, left, right } = border;
  if (![top, bottom, left, right].every((v) => Number.isInteger(v) && v >= 0)) {
    throw new InvalidInputError("border sizes must be integers >= 0", { field: "border" });
  }
  const cn = img.channels ?? 1, type = typeOf(img.data);
  const values = Array.isArray(value) ? value : new Array(cn).fill(value);
  if (values.length < cn) {
    throw new InvalidInputError(`pad value has ${values.length} channels, image ${cn}`, {
      field: "value",
    });
  }
  const fill = values.slice(0, cn).map((v) => type ? saturate(v, type) : v);
  const w = img.width + left + right, h = img.height + top + bottom, rowLen = img.width * cn;
  const out = sameType(img.data, w * h * cn);
  if (fill.some((v) => v !== 0)) {
    for (let i = 0; i < w * h; i++) for (let c = 0; c < cn; c++) out[i * cn + c] = fill[c];
  }
  for (let y = 0; y < img.height; y++) {
    const s = y * rowLen;
    out.set(img.data.subarray(s, s + rowLen), ((y + top) * w + left) * cn);
  }
  return { ...img, width: w, height: h, data: out };
}

/**
 * Stretches the samples linearly so that their minimum becomes min(alpha, beta) and their maximum
 * max(alpha, beta), into `dtype`, as `cv2.normalize(img, None, alpha, beta, NORM_MINMAX, dtype)`:
 * scale and shift in double (float32 for float32 output, as OpenCV), then per sample
 * saturate(float32(v * scale + shift)). A flat image maps to min(alpha, beta).
 * @example minMaxNormalize(img) // float32 in [0, 1], the seed's step 2
 */
export function minMaxNormalize(
  img: Image,
  alpha = 0,
  beta = 1,
  dtype: SampleType = "float32",
): Image<SamplePixels> {
  const src = img.data, n = samplesOf(img);
  if (!typeOf(src)) {
    throw new UnsupportedError(
      `minMaxNormalize takes 8/16-bit or float32 samples, not ${src.constructor.name}`,
    );
  }
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new InvalidInputError("alpha and beta must be finite numbers", { field: "alpha" });
  }
  const out = arrayOf(dtype, n);
  const [lo, hi] = minMax(src, n);
  const dmin = Math.min(alpha, beta), dmax = Math.max(alpha, beta);
  let scale = (dmax - dmin) * (hi - lo > Number.EPSILON ? 1 / (hi - lo) : 0), shift;
  if (dtype === "float32") {
    scale = f(scale);
    shift = f(f(dmin) - f(lo * scale));
  } else {
    shift = dmin - lo * scale;
  }
  const a = f(scale), b = f(shift);
  const lim = LIMITS[dtype];
  if (!lim) {
    for (let i = 0; i < n; i++) out[i] = fma32(src[i], a, b);
  } else {
    const [min, max] = lim;
    for (let i = 0; i < n; i++) {
      const r = (fma32(src[i], a, b) + RNE) - RNE;
      out[i] = r < min ? min : r > max ? max : r;
    }
  }
  return { ...img, data: out };
}

/**
 * float32(x * a + b) rounded once, as the fused multiply-add of OpenCV's AVX2 convertTo kernel.
 * x * a is exact in double (24-bit operands); the double sum is corrected when its rounding
 * lands exactly between two float32 values.
 */
function fma32(x: number, a: number, b: number): number {
  const p = x * a, s = p + b;
  const r = f(s);
  if (r === s) return r;
  const bv = s - p, err = (p - (s - bv)) + (b - bv); // s + err == p + b exactly (TwoSum)
  if (err === 0) return r;
  const other = f(2 * s - r); // the neighbour on the other side of s when s is a midpoint
  if (s - r !== other - s) return r;
  return (err > 0) === (other > r) ? other : r;
}

/**
 * Binary threshold as `cv2.threshold(img, thresh, maxval, THRESH_BINARY)`: maxval where the
 * sample is greater than thresh, else 0. For integer images OpenCV first floors thresh and rounds
 * and saturates maxval to the sample type; for float32 both become float32.
 * @example threshold(img, 127, 255)
 */
export function threshold<T extends Pixels>(
  img: Image<T>,
  thresh: number,
  maxval: number,
): Image<T> {
  const type = typeOf(img.data);
  if (!type) {
    throw new UnsupportedError(
      `threshold takes 8/16-bit or float32 samples, not ${img.data.constructor.name}`,
    );
  }
  if (Number.isNaN(thresh) || Number.isNaN(maxval)) {
    throw new InvalidInputError("thresh and maxval must be numbers", { field: "thresh" });
  }
  const n = samplesOf(img), src = img.data, out = sameType(src, n);
  const t = type === "float32" ? f(thresh) : Math.floor(thresh);
  const m = saturate(type === "float32" ? maxval : (maxval + RNE) - RNE, type);
  for (let i = 0; i < n; i++) out[i] = src[i] > t ? m : 0;
  return { ...img, data: out };
}
