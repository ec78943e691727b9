/**
 * A mask shown over its image: the image's first channel (or its RGB) stretched min..max to
 * 0..255, and the mask's pixels blended half way to red.
 */
import { minMax } from "./grey8.ts";

/**
 * RGB bytes of `image` (row-major, `channels` interleaved, any numeric samples) with `mask` (0/1,
 * one per pixel) in red: v outside the mask, round(0.5 v + 127.5) red and round(0.5 v) green/blue
 * inside, where v is the sample stretched from the image's min..max to 0..255 (0 when flat).
 * @example overlayMask({ data: Float32Array.of(0, 1), channels: 1 }, Uint8Array.of(1, 0))
 * // Uint8Array [128, 0, 0, 255, 255, 255]
 */
export function overlayMask(
  image: { data: ArrayLike<number>; channels: number },
  mask: Uint8Array,
): Uint8Array {
  const n = mask.length, c = image.channels, data = image.data;
  const [lo, hi] = minMax(data);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) {
      const v = (data[i * c + (c === 3 ? j : 0)] - lo) * k;
      rgb[3 * i + j] = mask[i] ? Math.round(0.5 * v + (j === 0 ? 127.5 : 0)) : Math.round(v);
    }
  }
  return rgb;
}
