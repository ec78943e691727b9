/**
 * 8-bit grey from any image: the one min-max stretch to 0-255 (the stage strips, the cxr films,
 * frames without a window), a VOI linear window to 8 bits (DICOM PS3.3 C.11.2.1.2, as
 * lib/dicom/pixels.ts's applyWindow), and OpenCV's RGB2GRAY fixed-point weights.
 */
import { InvalidInputError } from "../errors.ts";
import type { Image } from "./image.ts";

/**
 * The smallest and largest of the first `n` values (NaN-free input).
 * @example minMax(Uint16Array.of(3, 9, 1)) // [1, 9]
 */
export function minMax(data: ArrayLike<number>, n = data.length): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return [lo, hi];
}

/**
 * The first `n` values stretched from [lo, hi] to 0-255: round((v - lo) * 255 / (hi - lo)), all 0
 * when hi = lo. `lo`/`hi` default to the values' own extremes (min-max to 8 bits).
 * @example minMaxTo8(Uint16Array.of(100, 300, 500)) // [0, 128, 255]
 */
export function minMaxTo8(
  data: ArrayLike<number>,
  n = data.length,
  [lo, hi]: [number, number] = minMax(data, n),
): Uint8Array {
  const out = new Uint8Array(n), k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) out[i] = Math.round((data[i] - lo) * k);
  return out;
}

/**
 * A VOI linear window to 0-255 (width >= 1).
 * @example windowTo8(Uint16Array.of(350, 600, 850), { center: 600, width: 501 }) // [0, 128, 255]
 */
export function windowTo8(
  data: ArrayLike<number>,
  window: { center: number; width: number },
  n = data.length,
): Uint8Array {
  const out = new Uint8Array(n);
  const c = window.center - 0.5, half = (window.width - 1) / 2, k = 255 / (window.width - 1);
  for (let i = 0; i < n; i++) {
    const x = data[i];
    out[i] = x <= c - half ? 0 : x > c + half ? 255 : Math.round((x - c) * k + 127.5);
  }
  return out;
}

/**
 * An image as 8-bit grey: 8-bit grey as it is; RGB by OpenCV's RGB2GRAY fixed-point weights
 * (0.299, 0.587, 0.114); other sample types through `window` when given (a DICOM's VOI window),
 * else stretched min-max to 0-255. `applied` says which.
 * @example toGrey8({ width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) }).image.data // [76]
 */
export function toGrey8(
  img: Image,
  window?: { center: number; width: number } | null,
): { image: Image<Uint8Array>; applied: string | null } {
  const { width, height, data } = img;
  const n = width * height;
  const grey = (out: Uint8Array, applied: string | null) => ({
    image: { width, height, channels: 1 as const, data: out, spacing: img.spacing },
    applied,
  });
  if (img.channels === 3) {
    if (!(data instanceof Uint8Array)) {
      throw new InvalidInputError("colour images must be 8-bit RGB; send a grey image");
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = (data[3 * i] * 4899 + data[3 * i + 1] * 9617 + data[3 * i + 2] * 1868 + 8192) >> 14;
    }
    return grey(out, "RGB to grey (OpenCV RGB2GRAY)");
  }
  if (data instanceof Uint8Array) return { image: img as Image<Uint8Array>, applied: null };
  // Some decoders (libjpeg-turbo's wasm) hand 8-bit frames over as Uint8ClampedArray.
  if ((data as unknown) instanceof Uint8ClampedArray) {
    return grey(new Uint8Array(data.buffer, data.byteOffset, n), null);
  }
  if (window && window.width >= 1) {
    return grey(
      windowTo8(data, window, n),
      `window centre ${window.center} width ${window.width} to 8-bit`,
    );
  }
  const range = minMax(data, n);
  return grey(minMaxTo8(data, n, range), `min-max ${range[0]}..${range[1]} to 8-bit`);
}
