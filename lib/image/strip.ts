/**
 * Several 8-bit grey images side by side at one height (nearest-neighbour scaling), with a gap:
 * the picture of a pipeline's stages, as the seed's figure 1. Panels that carry a name get it
 * written under them, in a caption band below the images (the images themselves are untouched).
 *
 * The captions use a small hand-written 5x7 bitmap font (upper-case letters, digits, a few signs)
 * rather than a font library: the strip is an 8-bit grey raster built here, the names are a handful
 * of ASCII words, and a rasteriser (e.g. opentype.js plus a font file) would add a dependency and
 * a file read to every cold start for about 40 glyphs of 35 bits each.
 */

/** One panel; `name`, when given, is written in the caption band under it. */
export interface Panel {
  width: number;
  height: number;
  data: Uint8Array;
  name?: string;
}

/** Height in pixels of the caption band (glyphs at twice their 7-pixel height, 5 above and below). */
export const CAPTION_BAND = 24;

/** 5x7 glyphs, one number per row from the top, bit 4 the leftmost pixel. */
const FONT: Record<string, number[]> = {
  A: [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
  B: [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
  C: [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
  D: [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
  E: [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
  F: [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
  G: [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
  H: [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
  I: [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
  J: [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
  K: [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
  L: [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
  M: [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
  N: [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
  O: [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
  P: [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
  Q: [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
  R: [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
  S: [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
  T: [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
  U: [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
  V: [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
  W: [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
  X: [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
  Y: [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100],
  Z: [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
  "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
  "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
  "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
  "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
  "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
  "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
  "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
  "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
  "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
  "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
  "-": [0, 0, 0, 0b11111, 0, 0, 0],
  ".": [0, 0, 0, 0, 0, 0b01100, 0b01100],
  " ": [0, 0, 0, 0, 0, 0, 0],
  "?": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100],
};

/**
 * Writes `text` (upper-cased; unknown characters as '?') in value `ink` into the 8-bit raster
 * `data` of row length `stride`, centred on column `cx` with its top at row `top`, at `scale`
 * pixels per font pixel; columns outside [left, right) are not touched (clipped).
 * @example drawText(img.data, img.width, "CLAHE", 100, 4, 2, 0, img.width)
 */
export function drawText(
  data: Uint8Array,
  stride: number,
  text: string,
  cx: number,
  top: number,
  scale: number,
  left: number,
  right: number,
  ink = 255,
): void {
  const advance = 6 * scale; // 5 columns and one of space
  const width = text.length * advance - scale;
  let x0 = Math.round(cx - width / 2);
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? FONT["?"];
    for (let r = 0; r < 7; r++) {
      for (let col = 0; col < 5; col++) {
        if (!(glyph[r] & (0x10 >> col))) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const x = x0 + col * scale + dx;
            if (x >= left && x < right) data[(top + r * scale + dy) * stride + x] = ink;
          }
        }
      }
    }
    x0 += advance;
  }
}

/**
 * Panels scaled to `height` and placed left to right, `gap` pixels apart (background 0). When any
 * panel has a name, a CAPTION_BAND-pixel band below the images carries each name under its panel
 * (at half size where it would not fit the panel's width); the images are as without captions.
 * @example strip(result.stages, 512)
 */
export function strip(panels: Panel[], height = 512, gap = 8): Panel {
  const widths = panels.map((p) => Math.max(1, Math.round((p.width * height) / p.height)));
  const width = widths.reduce((a, b) => a + b, 0) + gap * (panels.length - 1);
  const band = panels.some((p) => p.name) ? CAPTION_BAND : 0;
  const data = new Uint8Array(width * (height + band));
  let left = 0;
  panels.forEach((p, k) => {
    const w = widths[k];
    for (let y = 0; y < height; y++) {
      const sy = Math.min(p.height - 1, Math.floor(((y + 0.5) * p.height) / height));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(p.width - 1, Math.floor(((x + 0.5) * p.width) / w));
        data[y * width + left + x] = p.data[sy * p.width + sx];
      }
    }
    if (band && p.name) {
      const scale = p.name.length * 12 - 2 <= w ? 2 : 1;
      const top = height + (band - 7 * scale) / 2;
      drawText(data, width, p.name, left + w / 2, Math.floor(top), scale, left, left + w);
    }
    left += w + gap;
  });
  return { width, height: height + band, data };
}
