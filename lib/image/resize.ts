/**
 * Image resizing with OpenCV 4.6 `cv2.resize` semantics, bit-exact to its x86-64 build (SSE2
 * baseline, as Debian ships it) for 8- and 16-bit and equal to float rounding for float32:
 * INTER_NEAREST (`floor(x * sw / dw)`), INTER_LINEAR (half-pixel centres, 11-bit fixed-point
 * weights for 8-bit, an exact 2:1 reduction in both axes done as OpenCV's fast area averaging) and
 * INTER_CUBIC (A = -0.75, edge pixels replicated), and INTER_AREA for shrinking 8-bit grey
 * (`resizeArea`, OpenCV's general area path). OpenCV's 8-bit vertical passes round in its
 * SIMD way (truncating 16-bit products for linear, float32 for whole 8-lane blocks of cubic), so
 * this code does the same arithmetic lane for lane. Hand-written: no edge-ready library resizes
 * like OpenCV, and models trained on OpenCV-resized inputs expect exactly its pixels.
 */
import { InvalidInputError, UnsupportedError } from "../errors.ts";
import { type Image, type Pixels, sameType, type SamplePixels } from "./image.ts";

/** The interpolations `resize` offers, named after OpenCV's INTER_NEAREST, INTER_LINEAR, INTER_CUBIC. */
export type Interpolation = "nearest" | "bilinear" | "bicubic";

const f = Math.fround;
/** 2^52 + 2^51: adding and subtracting it rounds a double to an integer, ties to even (cvRound). */
const RNE = 6755399441055744;
const COEF_SCALE = 2048; // INTER_RESIZE_COEF_SCALE = 1 << INTER_RESIZE_COEF_BITS (11)
const MAX_SIDE = 1 << 20;

/**
 * Source index of each destination index for nearest-neighbour resizing from `srcLen` to
 * `dstLen` samples along one axis: `min(floor(i * (1 / (dstLen / srcLen))), srcLen - 1)`, in
 * OpenCV's double arithmetic. Use it to map a pixel of a resized image (or of a mask predicted on
 * it) back to the original, or to build your own gather.
 * @example nearestIndex(4, 2) // Int32Array [0, 2]
 */
export function nearestIndex(srcLen: number, dstLen: number): Int32Array {
  const ifx = 1 / (dstLen / srcLen);
  const out = new Int32Array(dstLen);
  for (let i = 0; i < dstLen; i++) out[i] = Math.min(Math.floor(i * ifx), srcLen - 1);
  return out;
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
    throw new InvalidInputError(`${name} must be an integer from 1 to ${MAX_SIDE}, got ${v}`, {
      field: name,
    });
  }
}

function scaledSpacing(
  img: Image,
  width: number,
  height: number,
): { spacing?: [number, number] } {
  if (!img.spacing) return {};
  return {
    spacing: [img.spacing[0] * img.height / height, img.spacing[1] * img.width / width],
  };
}

/**
 * Resizes to `width` x `height` like `cv2.resize(img, (width, height), interpolation=...)`.
 * Nearest works on every sample type; bilinear and bicubic on 8/16-bit and float32, as OpenCV.
 * Pixel spacing, when present, is scaled with the image.
 * @example resize({ width: 1024, height: 1024, channels: 1, data }, 224, 224, "bicubic")
 */
export function resize<T extends Pixels>(
  img: Image<T>,
  width: number,
  height: number,
  interpolation: Interpolation = "bilinear",
): Image<T> {
  checkSize("width", width);
  checkSize("height", height);
  const { width: sw, height: sh, data } = img;
  const cn = img.channels ?? 1;
  if (data.length < sw * sh * cn || sw < 1 || sh < 1) {
    throw new InvalidInputError(
      `image data holds ${data.length} samples, ${sw}x${sh}x${cn} needed`,
    );
  }
  const base = { width, height, channels: cn, ...scaledSpacing(img, width, height) };
  if (sw === width && sh === height) return { ...base, data: data.slice(0, sw * sh * cn) as T };
  if (interpolation === "nearest") {
    return { ...base, data: nearest(data, sw, sh, cn, width, height) };
  }
  if (interpolation !== "bilinear" && interpolation !== "bicubic") {
    throw new InvalidInputError(`unknown interpolation ${interpolation}`, {
      field: "interpolation",
    });
  }
  if (
    !(data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Int16Array ||
      data instanceof Float32Array)
  ) {
    throw new UnsupportedError(
      `${interpolation} resizing takes 8/16-bit or float32 samples, not ${data.constructor.name}`,
    );
  }
  const src = data as SamplePixels;
  const out = interpolation === "bilinear" && sw === 2 * width && sh === 2 * height
    ? halve(src, sw, cn, width, height)
    : separable(src, sw, sh, cn, width, height, interpolation === "bicubic");
  return { ...base, data: out as T };
}

function nearest<T extends Pixels>(
  src: T,
  sw: number,
  sh: number,
  cn: number,
  dw: number,
  dh: number,
): T {
  const xs = nearestIndex(sw, dw), ys = nearestIndex(sh, dh);
  const out = sameType(src, dw * dh * cn), rowLen = dw * cn;
  for (let y = 0; y < dh; y++) {
    let o = y * rowLen;
    if (y > 0 && ys[y] === ys[y - 1]) {
      out.copyWithin(o, o - rowLen, o); // upscaling repeats rows: copy the one just made
      continue;
    }
    const row = ys[y] * sw;
    if (cn === 1) {
      for (let x = 0; x < dw; x++) out[o++] = src[row + xs[x]];
    } else {
      for (let x = 0; x < dw; x++) {
        const s = (row + xs[x]) * cn;
        for (let c = 0; c < cn; c++) out[o++] = src[s + c];
      }
    }
  }
  return out;
}

/**
 * OpenCV's fast INTER_AREA path, which INTER_LINEAR takes for an exact 2:1 reduction of both
 * sides: integer images average the 2x2 block as (sum + 2) >> 2; float32 computes
 * ((a + b) + (c + d)) * 0.25 in 4-lane blocks and (((a + b) + c) + d) * 0.25 in the tail
 * (grey), or the tail form everywhere (colour).
 */
function halve(
  src: SamplePixels,
  sw: number,
  cn: number,
  dw: number,
  dh: number,
): SamplePixels {
  const out = sameType(src, dw * dh * cn);
  const rowLen = sw * cn, w = dw * cn;
  if (src instanceof Float32Array) {
    const vec = cn === 1 ? w & ~3 : 0;
    for (let y = 0; y < dh; y++) {
      const r0 = 2 * y * rowLen, r1 = r0 + rowLen, d = y * w;
      for (let x = 0; x < w; x++) {
        const c = x % cn, s = (x - c) * 2 + c;
        const a = src[r0 + s], b = src[r0 + s + cn], p = src[r1 + s], q = src[r1 + s + cn];
        out[d + x] = x < vec ? f(f(f(a + b) + f(p + q)) * 0.25) : f(f(f(f(a + b) + p) + q) * 0.25);
      }
    }
    return out;
  }
  if (src instanceof Uint8Array && cn === 1 && sw % 4 === 0 && src.byteOffset % 4 === 0) {
    return halveGrey8(src, sw, dw, dh, out as Uint8Array);
  }
  for (let y = 0; y < dh; y++) {
    const r0 = 2 * y * rowLen, r1 = r0 + rowLen, d = y * w;
    if (cn === 1) {
      for (let x = 0, s = 0; x < w; x++, s += 2) {
        out[d + x] = (src[r0 + s] + src[r0 + s + 1] + src[r1 + s] + src[r1 + s + 1] + 2) >> 2;
      }
    } else {
      for (let x = 0; x < w; x++) {
        const c = x % cn, s = (x - c) * 2 + c;
        out[d + x] = (src[r0 + s] + src[r0 + s + cn] + src[r1 + s] + src[r1 + s + cn] + 2) >> 2;
      }
    }
  }
  return out;
}

/**
 * `halve` for 8-bit grey rows of a multiple of 4 pixels, two 2x2 blocks per 32-bit word: the
 * byte pairs are summed in 16-bit lanes ((sum + 2) >> 2 <= 255 leaves no carry between lanes).
 */
function halveGrey8(src: Uint8Array, sw: number, dw: number, dh: number, out: Uint8Array) {
  const words = new Uint32Array(src.buffer, src.byteOffset, (sw * 2 * dh) >> 2);
  const rowWords = sw >> 2, m = 0x00ff00ff;
  for (let y = 0; y < dh; y++) {
    const r0 = 2 * y * rowWords, r1 = r0 + rowWords, d = y * dw;
    for (let k = 0; k < rowWords; k++) {
      const a = words[r0 + k], b = words[r1 + k];
      const s = (a & m) + ((a >>> 8) & m) + (b & m) + ((b >>> 8) & m) + 0x00020002;
      out[d + 2 * k] = s >>> 2;
      out[d + 2 * k + 1] = s >>> 18;
    }
  }
  return out;
}

/** interpolateCubic of OpenCV's resize.cpp, float32 step for step. */
function cubicWeights(x: number, w: Float64Array): void {
  const A = -0.75;
  const x1 = f(x + 1), y = f(1 - x);
  w[0] = f(f(f(f(f(f(A * x1) - 5 * A) * x1) + 8 * A) * x1) - 4 * A);
  w[1] = f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1);
  w[2] = f(f(f(f(f((A + 2) * y) - (A + 3)) * y) * y) + 1);
  w[3] = f(f(f(1 - w[0]) - w[1]) - w[2]);
}

/** Per-destination taps along one axis: `k` clamped source indices and weights each. */
interface Taps {
  k: number;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * OpenCV's tap tables: source position (d + 0.5) * scale - 0.5 rounded to float32, weights from
 * its fractional part (linear: 1 - t and t; cubic: interpolateCubic), 8-bit weights rounded to
 * 11 bits. Horizontally (`edgeReset`) a linear tap left of the first or right of the last pixel
 * becomes that pixel with weight 1; vertically OpenCV keeps the weights and clamps the rows.
 */
function taps(
  srcLen: number,
  dstLen: number,
  cubic: boolean,
  fixed: boolean,
  edgeReset: boolean,
): Taps {
  const k = cubic ? 4 : 2, half = k >> 1;
  const scale = 1 / (dstLen / srcLen);
  const index = new Int32Array(dstLen * k), weight = new Float64Array(dstLen * k);
  const w = new Float64Array(4);
  for (let d = 0; d < dstLen; d++) {
    let t = f((d + 0.5) * scale - 0.5);
    let s = Math.floor(t);
    t = f(t - s);
    if (!cubic && edgeReset) {
      if (s < 0) t = 0, s = 0;
      if (s >= srcLen - 1) t = 0, s = srcLen - 1;
    }
    if (cubic) cubicWeights(t, w);
    else w[0] = f(1 - t), w[1] = t;
    for (let j = 0; j < k; j++) {
      const i = s - half + 1 + j;
      index[d * k + j] = i < 0 ? 0 : i >= srcLen ? srcLen - 1 : i;
      weight[d * k + j] = fixed ? (w[j] * COEF_SCALE + RNE) - RNE : w[j];
    }
  }
  return { k, index, weight };
}

/** One table of sample offsets and one of weights per kernel position, over interleaved samples. */
interface SampleTaps<W extends Int32Array | Float64Array> {
  ofs: Int32Array[];
  coef: W[];
}

/** Expands pixel taps to sample taps; 8-bit weights go to Int32Array (integer arithmetic in V8). */
function sampleTaps<W extends Int32Array | Float64Array>(
  t: Taps,
  cn: number,
  make: (n: number) => W,
): SampleTaps<W> {
  const n = t.index.length / t.k;
  const ofs: Int32Array[] = [], coef: W[] = [];
  for (let j = 0; j < t.k; j++) {
    const o = new Int32Array(n * cn), c = make(n * cn);
    for (let d = 0; d < n; d++) {
      for (let ch = 0; ch < cn; ch++) {
        o[d * cn + ch] = t.index[d * t.k + j] * cn + ch;
        c[d * cn + ch] = t.weight[d * t.k + j];
      }
    }
    ofs.push(o), coef.push(c);
  }
  return { ofs, coef };
}

/**
 * resizeGeneric_: a horizontal pass into int (8-bit) or float32 rows, each source row done once
 * and kept while the vertical taps need it (slot = row mod taps: the taps of one output row are
 * consecutive rows), then a vertical pass per destination row.
 */
function separable(
  src: SamplePixels,
  sw: number,
  sh: number,
  cn: number,
  dw: number,
  dh: number,
  cubic: boolean,
): SamplePixels {
  const fixed = src instanceof Uint8Array;
  const xt = taps(sw, dw, cubic, fixed, true), yt = taps(sh, dh, cubic, fixed, false);
  const k = yt.k, w = dw * cn, rowLen = sw * cn;
  const rowOf = new Int32Array(k).fill(-1);
  if (src instanceof Uint8Array) {
    const { ofs, coef } = sampleTaps(xt, cn, (n) => new Int32Array(n));
    const beta = Int32Array.from(yt.weight);
    const rows = Array.from({ length: k }, () => new Int32Array(w)), picked = rows.slice();
    const out = new Uint8Array(dw * dh * cn);
    const todo = new Int32Array(k);
    for (let y = 0; y < dh; y++) {
      let n = 0;
      for (let j = 0; j < k; j++) {
        const r = yt.index[y * k + j], slot = r % k;
        if (rowOf[slot] !== r) rowOf[slot] = r, todo[n++] = slot;
        picked[j] = rows[slot];
      }
      // New rows two at a time: each tap table entry is loaded once for both.
      let t = 0;
      for (; t + 1 < n; t += 2) {
        const a = todo[t], b = todo[t + 1], ra = rowOf[a] * rowLen, rb = rowOf[b] * rowLen;
        if (cubic) hCubic8(src, ra, rb, ofs, coef, rows[a], rows[b], w);
        else hLinear8(src, ra, rb, ofs, coef, rows[a], rows[b], w);
      }
      if (t < n) {
        const a = todo[t], ra = rowOf[a] * rowLen;
        if (cubic) hCubic8(src, ra, ra, ofs, coef, rows[a], rows[a], w);
        else hLinear8(src, ra, ra, ofs, coef, rows[a], rows[a], w);
      }
      if (cubic) vCubic8(picked, beta, y * k, out, y * w, w);
      else vLinear8(picked, beta, y * k, out, y * w, w);
    }
    return out;
  }
  const { ofs, coef } = sampleTaps(xt, cn, (n) => new Float64Array(n));
  const rows = Array.from({ length: k }, () => new Float32Array(w)), picked = rows.slice();
  const out = sameType(src, dw * dh * cn);
  for (let y = 0; y < dh; y++) {
    for (let j = 0; j < k; j++) {
      const r = yt.index[y * k + j], slot = r % k;
      if (rowOf[slot] !== r) {
        if (cubic) hCubicFloat(src, r * rowLen, ofs, coef, rows[slot], w);
        else hLinearFloat(src, r * rowLen, ofs, coef, rows[slot], w);
        rowOf[slot] = r;
      }
      picked[j] = rows[slot];
    }
    if (cubic) vCubicFloat(picked, yt.weight, y * k, out, y * w, w);
    else vLinearFloat(picked, yt.weight, y * k, out, y * w, w);
  }
  return out;
}

// The h*/v* kernels below are deliberate twins: linear (2 taps) and cubic (4 taps), each for 8-bit
// (OpenCV's fixed-point arithmetic, Int32 coefficients) and for the other types (float32 steps).
// Taps are unrolled and arrays kept monomorphic, as OpenCV's own per-kernel loops are: a loop over
// a tap count would add an inner loop per output sample, and the fixed-point and float32 roundings
// differ, which is what makes the results match OpenCV's bit for bit.

/** Horizontal 8-bit linear taps of two source rows (the same row twice when only one is new). */
function hLinear8(
  src: Uint8Array,
  ra: number,
  rb: number,
  ofs: Int32Array[],
  coef: Int32Array[],
  da: Int32Array,
  db: Int32Array,
  w: number,
): void {
  const o0 = ofs[0], o1 = ofs[1], c0 = coef[0], c1 = coef[1];
  for (let x = 0; x < w; x++) {
    const p = o0[x], q = o1[x], a = c0[x], b = c1[x];
    da[x] = src[ra + p] * a + src[ra + q] * b;
    db[x] = src[rb + p] * a + src[rb + q] * b;
  }
}

/** Horizontal 8-bit cubic taps of two source rows (the same row twice when only one is new). */
function hCubic8(
  src: Uint8Array,
  ra: number,
  rb: number,
  ofs: Int32Array[],
  coef: Int32Array[],
  da: Int32Array,
  db: Int32Array,
  w: number,
): void {
  const o0 = ofs[0], o1 = ofs[1], o2 = ofs[2], o3 = ofs[3];
  const c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3];
  for (let x = 0; x < w; x++) {
    const p0 = o0[x], p1 = o1[x], p2 = o2[x], p3 = o3[x];
    const a0 = c0[x], a1 = c1[x], a2 = c2[x], a3 = c3[x];
    da[x] = src[ra + p0] * a0 + src[ra + p1] * a1 + src[ra + p2] * a2 + src[ra + p3] * a3;
    db[x] = src[rb + p0] * a0 + src[rb + p1] * a1 + src[rb + p2] * a2 + src[rb + p3] * a3;
  }
}

function hLinearFloat(
  src: SamplePixels,
  row: number,
  ofs: Int32Array[],
  coef: Float64Array[],
  dst: Float32Array,
  w: number,
): void {
  const o0 = ofs[0], o1 = ofs[1], c0 = coef[0], c1 = coef[1];
  for (let x = 0; x < w; x++) {
    dst[x] = f(src[row + o0[x]] * c0[x]) + f(src[row + o1[x]] * c1[x]);
  }
}

function hCubicFloat(
  src: SamplePixels,
  row: number,
  ofs: Int32Array[],
  coef: Float64Array[],
  dst: Float32Array,
  w: number,
): void {
  const o0 = ofs[0], o1 = ofs[1], o2 = ofs[2], o3 = ofs[3];
  const c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3];
  for (let x = 0; x < w; x++) {
    const a = f(f(src[row + o0[x]] * c0[x]) + f(src[row + o1[x]] * c1[x]));
    dst[x] = f(f(a + f(src[row + o2[x]] * c2[x])) + f(src[row + o3[x]] * c3[x]));
  }
}

/**
 * OpenCV's 8-bit linear vertical step (SIMD and scalar alike):
 * (((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2) >> 2.
 */
function vLinear8(
  rows: Int32Array[],
  beta: Int32Array,
  at: number,
  out: Uint8Array,
  o: number,
  w: number,
): void {
  const s0 = rows[0], s1 = rows[1], b0 = beta[at], b1 = beta[at + 1];
  for (let x = 0; x < w; x++) {
    const v = (((b0 * (s0[x] >> 4)) >> 16) + ((b1 * (s1[x] >> 4)) >> 16) + 2) >> 2;
    out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/**
 * OpenCV's 8-bit cubic vertical step: whole 8-sample blocks in float32,
 * round(S0*b0 + (S1*b1 + (S2*b2 + S3*b3))) with b = weight / 2^22; the tail in integers,
 * (sum + 2^21) >> 22.
 */
function vCubic8(
  rows: Int32Array[],
  beta: Int32Array,
  at: number,
  out: Uint8Array,
  o: number,
  w: number,
): void {
  const s0 = rows[0], s1 = rows[1], s2 = rows[2], s3 = rows[3];
  const i0 = beta[at], i1 = beta[at + 1], i2 = beta[at + 2], i3 = beta[at + 3];
  const q = 1 / (COEF_SCALE * COEF_SCALE);
  const b0 = i0 * q, b1 = i1 * q, b2 = i2 * q, b3 = i3 * q;
  const vec = w & ~7;
  let x = 0;
  for (; x < vec; x++) {
    const t = f(f(s2[x] * b2) + f(s3[x] * b3));
    const u = f(f(s1[x] * b1) + t);
    const v = (f(f(s0[x] * b0) + u) + RNE) - RNE;
    out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  for (; x < w; x++) {
    const v = Math.floor((s0[x] * i0 + s1[x] * i1 + s2[x] * i2 + s3[x] * i3 + 2097152) / 4194304);
    out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** Rounds (ties to even) and saturates a float32 result into an integer destination. */
function store(out: SamplePixels, i: number, v: number, lo: number, hi: number): void {
  const r = (v + RNE) - RNE;
  out[i] = r < lo ? lo : r > hi ? hi : r;
}

function range(out: SamplePixels): [number, number] {
  return out instanceof Uint16Array ? [0, 65535] : [-32768, 32767];
}

function vLinearFloat(
  rows: Float32Array[],
  beta: Float64Array,
  at: number,
  out: SamplePixels,
  o: number,
  w: number,
): void {
  const s0 = rows[0], s1 = rows[1], b0 = beta[at], b1 = beta[at + 1];
  if (out instanceof Float32Array) {
    for (let x = 0; x < w; x++) out[o + x] = f(s0[x] * b0) + f(s1[x] * b1);
    return;
  }
  const [lo, hi] = range(out);
  for (let x = 0; x < w; x++) store(out, o + x, f(f(s0[x] * b0) + f(s1[x] * b1)), lo, hi);
}

/**
 * Float cubic vertical step: OpenCV's SIMD blocks (8 samples for 16-bit, 4 for float32) sum
 * S0*b0 + (S1*b1 + (S2*b2 + S3*b3)), its scalar tail ((S0*b0 + S1*b1) + S2*b2) + S3*b3.
 */
function vCubicFloat(
  rows: Float32Array[],
  beta: Float64Array,
  at: number,
  out: SamplePixels,
  o: number,
  w: number,
): void {
  const s0 = rows[0], s1 = rows[1], s2 = rows[2], s3 = rows[3];
  const b0 = beta[at], b1 = beta[at + 1], b2 = beta[at + 2], b3 = beta[at + 3];
  const isFloat = out instanceof Float32Array;
  const vec = isFloat ? w & ~3 : w & ~7;
  const [lo, hi] = isFloat ? [0, 0] : range(out);
  for (let x = 0; x < w; x++) {
    const p0 = f(s0[x] * b0), p1 = f(s1[x] * b1), p2 = f(s2[x] * b2), p3 = f(s3[x] * b3);
    const v = x < vec ? f(p0 + f(p1 + f(p2 + p3))) : f(f(f(p0 + p1) + p2) + p3);
    if (isFloat) out[o + x] = v;
    else store(out, o + x, v, lo, hi);
  }
}

/**
 * OpenCV's `cv::resize(..., INTER_AREA)` for shrinking an 8-bit grey image by a non-integer
 * factor (resizeArea_Invoker: per-axis area weights from computeResizeAreaTab, float32
 * accumulation row by row, rounding half to even). OpenCV takes a separate integer-factor path
 * (resizeAreaFast) whose rounding can differ by one grey level; this code uses the general one.
 * @example resizeArea({ width: 1024, height: 1024, channels: 1, data }, 143, 143)
 */
export function resizeArea(
  img: Image<Uint8Array>,
  width: number,
  height: number,
): Image<Uint8Array> {
  const { width: sw, height: sh, data } = img;
  if (width > sw || height > sh || width < 1 || height < 1) {
    throw new InvalidInputError(`resizeArea shrinks only: ${sw}x${sh} -> ${width}x${height}`);
  }
  const xt = areaTable(sw, width), yt = areaTable(sh, height);
  // Each destination column's sources are one contiguous run: its first source and first entry.
  const xFirst = new Int32Array(width), xStart = new Int32Array(width + 1);
  for (let k = xt.n - 1; k >= 0; k--) xStart[xt.di[k]] = k, xFirst[xt.di[k]] = xt.si[k];
  xStart[width] = xt.n;
  const xa = xt.alpha;
  const out = new Uint8Array(width * height);
  const buf = new Float32Array(width), sum = new Float32Array(width);
  const f = Math.fround;
  let prev = yt.di[0], lastRow = -1;
  for (let j = 0; j < yt.n; j++) {
    const beta = yt.alpha[j], dy = yt.di[j], sy = yt.si[j];
    if (sy !== lastRow) {
      // Products and sums rounded to float32 in OpenCV's order (a row shared by two destination
      // rows is summed once).
      const row = sy * sw;
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = xStart[x], s = row + xFirst[x]; k < xStart[x + 1]; k++, s++) {
          acc = f(acc + f(data[s] * xa[k]));
        }
        buf[x] = acc;
      }
      lastRow = sy;
    }
    if (dy !== prev) {
      for (let x = 0, o = prev * width; x < width; x++) {
        out[o + x] = roundByteEven(sum[x]);
        sum[x] = beta * buf[x];
      }
      prev = dy;
    } else {
      for (let x = 0; x < width; x++) sum[x] += f(beta * buf[x]);
    }
  }
  for (let x = 0, o = prev * width; x < width; x++) out[o + x] = roundByteEven(sum[x]);
  return { width, height, channels: 1, data: out };
}

/** cvRound then saturate to 0-255. */
function roundByteEven(v: number): number {
  const r = Math.round(v);
  const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return even < 0 ? 0 : even > 255 ? 255 : even;
}

/** OpenCV computeResizeAreaTab for one axis: (destination, source, weight) triples. */
function areaTable(ssize: number, dsize: number) {
  const scale = 1 / (dsize / ssize);
  const di: number[] = [], si: number[] = [], alpha: number[] = [];
  const push = (d: number, s: number, a: number) => {
    di.push(d);
    si.push(s);
    alpha.push(Math.fround(a));
  };
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale, fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) push(dx, sx1 - 1, (sx1 - fsx1) / cellWidth);
    for (let sx = sx1; sx < sx2; sx++) push(dx, sx, 1 / cellWidth);
    if (fsx2 - sx2 > 1e-3) {
      push(dx, sx2, Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth);
    }
  }
  return {
    n: di.length,
    di: Int32Array.from(di),
    si: Int32Array.from(si),
    alpha: Float32Array.from(alpha),
  };
}
