/**
 * PNG to the one image type, by lib/image/png.ts decodePng (fast-png): 8/16-bit grey or RGB as
 * stored, palettes expanded to RGB, alpha dropped.
 */
import type { Image } from "../image/image.ts";
import { decodePng } from "../image/png.ts";
import { dropAlpha } from "./_alpha.ts";

/**
 * Decodes a PNG to grey or RGB.
 * @example pngToImage(await Deno.readFile("01_manual1.png")).channels // 1
 */
export function pngToImage(bytes: Uint8Array, maxPixels = Infinity): Image {
  const png = decodePng(bytes, maxPixels);
  const { width, height } = png;
  const n = width * height;
  if (png.palette) {
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const c = png.palette[png.data[i]] ?? [0, 0, 0];
      rgb[3 * i] = c[0], rgb[3 * i + 1] = c[1], rgb[3 * i + 2] = c[2];
    }
    return { width, height, channels: 3, data: rgb };
  }
  const ch = png.channels;
  if (ch === 1 || ch === 3) return { width, height, channels: ch, data: png.data };
  const to = ch === 2 ? 1 : 3;
  return { width, height, channels: to, data: dropAlpha(png.data, n, ch, to) };
}
