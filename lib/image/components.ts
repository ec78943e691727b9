/**
 * The largest 8-connected region of a mask, filled: what the seed does with OpenCV
 * (`findContours(RETR_EXTERNAL)`, the contour of largest `contourArea`, `drawContours(thickness=-1)`).
 * A filled external contour is the region plus everything it encloses (holes, and smaller regions
 * inside holes), so: label 8-connected regions, take the largest, then flood the background
 * 4-connected from the image border; what the flood cannot reach is inside. Regions are ranked by
 * their filled area, which orders them as contourArea does except for near-ties of thin shapes.
 * Hand-written: no edge-ready library labels components.
 */
import type { Mask } from "./morphology.ts";

/** A labelled region: pixel count and inclusive bounding box. */
export interface Region {
  label: number;
  size: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Labels 8-connected regions of non-zero pixels (labels from 1; 0 is background). */
export function labelComponents(m: Mask): { labels: Int32Array; regions: Region[] } {
  const { width: w, height: h, data } = m;
  const labels = new Int32Array(w * h);
  const regions: Region[] = [];
  const stack = new Int32Array(w * h);
  for (let start = 0; start < w * h; start++) {
    if (!data[start] || labels[start]) continue;
    const label = regions.length + 1;
    const r: Region = { label, size: 0, x0: w, y0: h, x1: -1, y1: -1 };
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top];
      const x = p % w, y = (p - x) / w;
      r.size++;
      if (x < r.x0) r.x0 = x;
      if (x > r.x1) r.x1 = x;
      if (y < r.y0) r.y0 = y;
      if (y > r.y1) r.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const q = yy * w + xx;
          if (data[q] && !labels[q]) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    regions.push(r);
  }
  return { labels, regions };
}

/** `region` (0/1) with every pixel it encloses set: background 4-connected to the border stays 0. */
export function fillHoles(region: Mask): Mask {
  const { width: w, height: h, data } = region;
  const outside = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let top = 0;
  const seed = (p: number) => {
    if (!data[p] && !outside[p]) {
      outside[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < w; x++) seed(x), seed((h - 1) * w + x);
  for (let y = 0; y < h; y++) seed(y * w), seed(y * w + w - 1);
  while (top > 0) {
    const p = stack[--top];
    const x = p % w;
    if (x > 0) seed(p - 1);
    if (x < w - 1) seed(p + 1);
    if (p >= w) seed(p - w);
    if (p < (h - 1) * w) seed(p + w);
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = outside[i] ? 0 : 1;
  return { width: w, height: h, data: out };
}

/**
 * The largest region of a mask, filled (an empty mask stays empty).
 * @example largestComponentFilled({ width, height, data })
 */
export function largestComponentFilled(m: Mask): Mask {
  const { labels, regions } = labelComponents(m);
  const n = m.width * m.height;
  let best: Mask = { width: m.width, height: m.height, data: new Uint8Array(n) };
  let bestArea = 0;
  // A filled region never exceeds its bounding box: try regions by box area and stop when no box
  // left could beat the best filled area (in practice after one or two regions).
  const boxArea = (r: Region) => (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
  for (const r of regions.sort((a, b) => boxArea(b) - boxArea(a))) {
    if (boxArea(r) <= bestArea) break;
    const region = new Uint8Array(n);
    for (let i = 0; i < n; i++) region[i] = labels[i] === r.label ? 1 : 0;
    const filled = fillHoles({ width: m.width, height: m.height, data: region });
    let area = 0;
    for (let i = 0; i < n; i++) area += filled.data[i];
    if (area > bestArea) [best, bestArea] = [filled, area];
  }
  return best;
}
