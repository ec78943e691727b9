import { sameType } from "../image/image.ts";

/** Drops the last sample of each pixel (grey+alpha -> grey, RGBA -> RGB). */
export function dropAlpha<T extends Uint8Array | Uint16Array>(
  data: T,
  n: number,
  from: number,
  to: number,
): T {
  const out = sameType(data, n * to);
  for (let i = 0; i < n; i++) for (let k = 0; k < to; k++) out[i * to + k] = data[i * from + k];
  return out;
}
