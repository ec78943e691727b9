/**
 * Grey-level histograms and global histogram equalisation with OpenCV 4.6 `cv2.equalizeHist`
 * semantics (8-bit grey only, as OpenCV): the lowest occurring level maps to 0, every level v to
 * round(cdf(v) * (255 / (total - count(lowest)))) in float32 with ties to even, a flat image
 * stays as it is. Hand-written: a few lines, no dependency does it OpenCV's way.
 */
import { UnsupportedError } from "../errors.ts";
import type { Image } from "./image.ts";

const f = Math.fround;
/** 2^52 + 2^51: adding and subtracting it rounds to an integer, ties to even (cvRound). */
const RNE = 6755399441055744;

/**
 * Counts of every sample value (all channels together): 256 bins for 8-bit, 65536 for 16-bit.
 * @example histogram({ width: 2, height: 1, channels: 1, data: Uint8Array.of(3, 3) })[3] // 2
 */
export function histogram(img: Image<Uint8Array | Uint16Array>): Int32Array {
  const { data } = img;
  if (!(data instanceof Uint8Array || data instanceof Uint16Array)) {
    throw new UnsupportedError(
      `histogram takes 8- or 16-bit samples, not ${(data as object).constructor.name}`,
    );
  }
  const n = img.width * img.height * (img.channels ?? 1);
  const hist = new Int32Array(data instanceof Uint8Array ? 256 : 65536);
  for (let i = 0; i < n; i++) hist[data[i]]++;
  return hist;
}

/**
 * Histogram equalisation of an 8-bit grey image, pixel for pixel as `cv2.equalizeHist`.
 * @example equalizeHist({ width: 2, height: 2, channels: 1, data: Uint8Array.of(10, 10, 20, 30) })
 * // data [0, 0, 128, 255]
 */
export function equalizeHist(img: Image<Uint8Array>): Image<Uint8Array> {
  if (!(img.data instanceof Uint8Array) || (img.channels ?? 1) !== 1) {
    throw new UnsupportedError("equalizeHist takes 8-bit grey images only (as cv2.equalizeHist)");
  }
  const hist = histogram(img);
  const total = img.width * img.height;
  const out: Image<Uint8Array> = { ...img, data: new Uint8Array(total) };
  if (total === 0) return out;
  let lo = 0;
  while (hist[lo] === 0) lo++;
  if (hist[lo] === total) {
    out.data.fill(lo);
    return out;
  }
  const scale = f(255 / f(total - hist[lo]));
  const lut = new Uint8Array(256);
  for (let i = lo + 1, sum = 0; i < 256; i++) {
    sum += hist[i];
    const v = (f(f(sum) * scale) + RNE) - RNE;
    lut[i] = v > 255 ? 255 : v;
  }
  for (let i = 0; i < total; i++) out.data[i] = lut[img.data[i]];
  return out;
}
