/**
 * Several 8-bit grey images side by side at one height (nearest-neighbour scaling), with a gap:
 * the picture of a pipeline's stages, as the seed's figure 1.
 */

/** One panel. */
export interface Panel {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Panels scaled to `height` and placed left to right, `gap` pixels apart (background 0).
 * @example strip(result.stages, 512)
 */
export function strip(panels: Panel[], height = 512, gap = 8): Panel {
  const widths = panels.map((p) => Math.max(1, Math.round((p.width * height) / p.height)));
  const width = widths.reduce((a, b) => a + b, 0) + gap * (panels.length - 1);
  const data = new Uint8Array(width * height);
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
    left += w + gap;
  });
  return { width, height, data };
}
