/**
 * CLAHE with OpenCV 4.x `createCLAHE(clipLimit, tileGridSize).apply` semantics, 8- and 16-bit:
 * images that the grid does not divide are padded by BORDER_REFLECT_101 (both sides, as OpenCV
 * does, even when one divides); clip = max(1, int(clipLimit * tileArea / histSize)); the clipped
 * excess is spread evenly and its remainder one count every histSize/remainder bins from bin 0;
 * LUT = round(cumsum * (histSize - 1) / tileArea); pixels interpolate bilinearly between the four
 * nearest tile LUTs. Arithmetic is float32 in OpenCV's order and rounding half-to-even, as
 * OpenCV's saturate_cast, so results match it exactly. Hand-written: no edge-ready library has
 * CLAHE. It runs row by row over strided rows, so a caller can apply it in place inside a larger
 * buffer (the mammo pipeline writes it straight into its padded square).
 */
import { type Plane, sameType } from "./image.ts";

const f = Math.fround;
/** Adding and subtracting 1.5 * 2^52 rounds a double to an integer, ties to even (cvRound). */
const ROUND = 6755399441055744;
/** Distance from a half within which the 8-bit fast path defers to float32 (see interpolate8). */
const TIE8 = 2 ** -13;
/** The same for 16-bit images. */
const TIE16 = 2 ** -5;

/** BORDER_REFLECT_101 of an index past the end (OpenCV pads at most one tile's remainder). */
const reflect = (i: number, n: number) => (i < n ? i : 2 * (n - 1) - i);

/**
 * Adds one image row to its tile row's histograms (side by side, histSize each). Two histograms
 * take every other pixel: in runs of equal values (a mammogram's background) each increment would
 * otherwise wait on the previous one to the same bin. Columns past the image (the reflected
 * padding) fall in the last tile only.
 */
function histRow(
  data: Uint8Array | Uint16Array,
  row: number,
  w: number,
  tileW: number,
  tilesX: number,
  histSize: number,
  hists: Int32Array,
  odd: Int32Array,
): void {
  const inner = Math.min(tilesX, Math.floor(w / tileW));
  for (let tx = 0; tx < inner; tx++) {
    const base = tx * histSize, end = row + (tx + 1) * tileW;
    let p = row + tx * tileW;
    for (; p + 1 < end; p += 2) {
      hists[base + data[p]]++;
      odd[base + data[p + 1]]++;
    }
    if (p < end) hists[base + data[p]]++;
  }
  for (let tx = inner; tx < tilesX; tx++) {
    const base = tx * histSize;
    for (let x = tx * tileW; x < (tx + 1) * tileW; x++) hists[base + data[row + reflect(x, w)]]++;
  }
}

/** The clipped, equalised LUT of every tile, tile after tile (histSize entries each). */
function tileLuts<T extends Uint8Array | Uint16Array>(
  data: T,
  stride: number,
  w: number,
  h: number,
  histSize: number,
  clipLimit: number,
  tilesX: number,
  tilesY: number,
  tileW: number,
  tileH: number,
): T {
  const maxVal = histSize - 1;
  const tileArea = tileW * tileH;
  const clip = clipLimit > 0 ? Math.max(1, Math.trunc((clipLimit * tileArea) / histSize)) : 0;
  const lutScale = f(maxVal / tileArea);
  const luts = sameType(data, tilesX * tilesY * histSize);
  // One tile row at a time, filled row by row in memory order.
  const hists = new Int32Array(tilesX * histSize), odd = new Int32Array(tilesX * histSize);
  for (let ty = 0; ty < tilesY; ty++) {
    hists.fill(0), odd.fill(0);
    for (let y = ty * tileH; y < (ty + 1) * tileH; y++) {
      histRow(data, reflect(y, h) * stride, w, tileW, tilesX, histSize, hists, odd);
    }
    for (let i = 0; i < hists.length; i++) hists[i] += odd[i];
    for (let tx = 0; tx < tilesX; tx++) {
      const hist = hists.subarray(tx * histSize, (tx + 1) * histSize);
      if (clip > 0) {
        let clipped = 0;
        for (let i = 0; i < histSize; i++) {
          if (hist[i] > clip) {
            clipped += hist[i] - clip;
            hist[i] = clip;
          }
        }
        const batch = Math.trunc(clipped / histSize);
        let residual = clipped - batch * histSize;
        if (batch > 0) { for (let i = 0; i < histSize; i++) hist[i] += batch; }
        if (residual !== 0) {
          const step = Math.max(Math.trunc(histSize / residual), 1);
          for (let i = 0; i < histSize && residual > 0; i += step, residual--) hist[i]++;
        }
      }
      const base = (ty * tilesX + tx) * histSize;
      let sum = 0;
      for (let i = 0; i < histSize; i++) {
        sum += hist[i];
        const v = f(sum * lutScale) + ROUND - ROUND;
        luts[base + i] = v < maxVal ? v : maxVal;
      }
    }
  }
  return luts;
}

/** Where each pixel interpolates from: per row and per column, two tiles and their weights. */
interface Plan {
  height: number;
  tilesX: number;
  tilesY: number;
  invTh: number;
  xa: Float32Array;
  xa1: Float32Array;
  /** Columns come in segments sharing one pair of tile columns: end column, LUT offsets. */
  segEnd: number[];
  segT1: number[];
  segT2: number[];
}

/**
 * CLAHE over strided rows: reads `width` x `height` pixels of `src` (rows `srcStride` apart) and
 * writes the result into `dst` (rows `dstStride` apart), which may be `src` itself.
 * @example claheInto(square, side, w, h, 2, 8, 8, square, side) // in place, inside a padded square
 */
export function claheInto<T extends Uint8Array | Uint16Array>(
  src: T,
  srcStride: number,
  width: number,
  height: number,
  clipLimit: number,
  tilesX: number,
  tilesY: number,
  dst: T,
  dstStride: number,
): void {
  const w = width, h = height;
  const histSize = src instanceof Uint8Array ? 256 : 65536;
  const divisible = w % tilesX === 0 && h % tilesY === 0;
  const extW = divisible ? w : w + tilesX - (w % tilesX);
  const extH = divisible ? h : h + tilesY - (h % tilesY);
  const tileW = extW / tilesX, tileH = extH / tilesY;
  const luts = tileLuts(src, srcStride, w, h, histSize, clipLimit, tilesX, tilesY, tileW, tileH);

  // Per column, as OpenCV precomputes them.
  const invTw = f(1 / tileW);
  const plan: Plan = {
    height: h,
    tilesX,
    tilesY,
    invTh: f(1 / tileH),
    xa: new Float32Array(w),
    xa1: new Float32Array(w),
    segEnd: [],
    segT1: [],
    segT2: [],
  };
  const { xa, xa1, segEnd, segT1, segT2 } = plan;
  for (let x = 0; x < w; x++) {
    const txf = f(f(x * invTw) - 0.5);
    const t1 = Math.floor(txf);
    xa[x] = f(txf - t1);
    xa1[x] = f(1 - xa[x]);
    const a = Math.max(t1, 0) * histSize, b = Math.min(t1 + 1, tilesX - 1) * histSize;
    if (segT1.length === 0 || segT1[segT1.length - 1] !== a || segT2[segT2.length - 1] !== b) {
      segT1.push(a), segT2.push(b), segEnd.push(x + 1);
    } else segEnd[segEnd.length - 1] = x + 1;
  }
  if (src instanceof Uint8Array) {
    // The 8-bit interpolation reads the LUTs as doubles: no conversion per lookup.
    const lutF = Float64Array.from(luts as Uint8Array);
    interpolate8(src, srcStride, plan, lutF, dst as Uint8Array, dstStride);
  } else {
    interpolate16(
      src as Uint16Array,
      srcStride,
      plan,
      luts as Uint16Array,
      dst as Uint16Array,
      dstStride,
    );
  }
}

// interpolate8/interpolateRow8 and interpolate16/interpolateRow16 are deliberate twins. Each is
// monomorphic in its array types (Uint8Array source, Float64Array LUTs; Uint16Array both), which
// V8 needs to keep the per-pixel loop fast, and they round differently: 8-bit takes a double fast
// path and redoes OpenCV's float32 steps only near a half (TIE8); 16-bit clamps at 65535 after
// float32 steps. One loop over both would put a type test and a rounding branch in the per-pixel
// loop that the mammogram path runs over tens of millions of pixels.
function interpolate8(
  src: Uint8Array,
  srcStride: number,
  plan: Plan,
  luts: Float64Array,
  out: Uint8Array,
  dstStride: number,
): void {
  const { height: h, tilesX, tilesY, invTh } = plan;
  const plane = tilesX * 256;
  for (let y = 0; y < h; y++) {
    const tyf = f(f(y * invTh) - 0.5);
    const t1 = Math.floor(tyf);
    const ya = f(tyf - t1);
    const plane1 = Math.max(t1, 0) * plane;
    const plane2 = Math.min(t1 + 1, tilesY - 1) * plane;
    interpolateRow8(src, y * srcStride, plan, luts, plane1, plane2, ya, out, y * dstStride);
  }
}

/** One row (one call per row, for the optimiser: see lib/pipelines/mammo.ts). */
function interpolateRow8(
  src: Uint8Array,
  sRow: number,
  plan: Plan,
  luts: Float64Array,
  plane1: number,
  plane2: number,
  ya: number,
  out: Uint8Array,
  dRow: number,
): void {
  const { xa, xa1, segEnd, segT1, segT2 } = plan;
  const ya1 = f(1 - ya);
  let x = 0;
  for (let s = 0; s < segEnd.length; s++) {
    const a = plane1 + segT1[s], b = plane1 + segT2[s];
    const c = plane2 + segT1[s], d = plane2 + segT2[s];
    const end = segEnd[s];
    for (; x < end; x++) {
      const v = src[sRow + x];
      const wa = xa1[x], wb = xa[x];
      const la = luts[a + v], lb = luts[b + v], lc = luts[c + v], ld = luts[d + v];
      // In double the sum is within 1e-13 of the exact one; OpenCV's float32 steps stay within
      // 4 * 2^-24 * 255 < 6.1e-5 of it. Unless it lies that close to a half, both round to the
      // same integer; near halves, redo OpenCV's float32 steps and round half to even.
      const q = (la * wa + lb * wb) * ya1 + (lc * wa + ld * wb) * ya + 0.5;
      const i = q | 0;
      if (Math.abs(q - i - 0.5) < 0.5 - TIE8) out[dRow + x] = i;
      else {
        const top = f(f(la * wa) + f(lb * wb)), bottom = f(f(lc * wa) + f(ld * wb));
        out[dRow + x] = f(f(top * ya1) + f(bottom * ya)) + ROUND - ROUND;
      }
    }
  }
}

function interpolate16(
  src: Uint16Array,
  srcStride: number,
  plan: Plan,
  luts: Uint16Array,
  out: Uint16Array,
  dstStride: number,
): void {
  const { height: h, tilesX, tilesY, invTh } = plan;
  const plane = tilesX * 65536;
  for (let y = 0; y < h; y++) {
    const tyf = f(f(y * invTh) - 0.5);
    const t1 = Math.floor(tyf);
    const ya = f(tyf - t1);
    const plane1 = Math.max(t1, 0) * plane;
    const plane2 = Math.min(t1 + 1, tilesY - 1) * plane;
    interpolateRow16(src, y * srcStride, plan, luts, plane1, plane2, ya, out, y * dstStride);
  }
}

function interpolateRow16(
  src: Uint16Array,
  sRow: number,
  plan: Plan,
  luts: Uint16Array,
  plane1: number,
  plane2: number,
  ya: number,
  out: Uint16Array,
  dRow: number,
): void {
  const { xa, xa1, segEnd, segT1, segT2 } = plan;
  const ya1 = f(1 - ya);
  let x = 0;
  for (let s = 0; s < segEnd.length; s++) {
    const a = plane1 + segT1[s], b = plane1 + segT2[s];
    const c = plane2 + segT1[s], d = plane2 + segT2[s];
    const end = segEnd[s];
    for (; x < end; x++) {
      const v = src[sRow + x];
      const wa = xa1[x], wb = xa[x];
      const la = luts[a + v], lb = luts[b + v], lc = luts[c + v], ld = luts[d + v];
      // As interpolateRow8, with OpenCV's float32 error now within 4 * 2^-24 * 65535 < 0.016.
      const q = (la * wa + lb * wb) * ya1 + (lc * wa + ld * wb) * ya + 0.5;
      const i = q | 0;
      if (Math.abs(q - i - 0.5) < 0.5 - TIE16) out[dRow + x] = i < 65535 ? i : 65535;
      else {
        const top = f(f(la * wa) + f(lb * wb)), bottom = f(f(lc * wa) + f(ld * wb));
        const r = f(f(top * ya1) + f(bottom * ya)) + ROUND - ROUND;
        out[dRow + x] = r < 65535 ? r : 65535;
      }
    }
  }
}

/**
 * Contrast-limited adaptive histogram equalisation into a new image of the input's type.
 * @example clahe({ width, height, data }, 2.0, 8) // the seed's mammogram step 5
 */
export function clahe<T extends Uint8Array | Uint16Array>(
  img: Plane<T>,
  clipLimit = 40,
  tilesX = 8,
  tilesY = tilesX,
): Plane<T> {
  const { width: w, height: h, data } = img;
  const out = sameType(data, w * h);
  claheInto(data, w, w, h, clipLimit, tilesX, tilesY, out, w);
  return { width: w, height: h, data: out };
}
