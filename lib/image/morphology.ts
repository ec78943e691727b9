/**
 * Binary morphology with a rectangle (OpenCV `erode`/`dilate`/`morphologyEx` with
 * `getStructuringElement(MORPH_RECT, (kx, ky))`, anchor at the centre, default border: pixels
 * outside the image never erode nor dilate). Hand-written because no edge-ready library does it:
 * on 0/1 masks a rectangle separates into a row pass and a column pass, each a sliding count of
 * ones in the window, so the cost per pixel does not depend on the kernel size (like van Herk /
 * Gil-Werman, which generalises this to grey levels). The column pass runs row by row with one
 * count per column, so it reads memory in order.
 */

/** A 0/1 mask, row-major. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Row pass: each row's sliding count over [x - before, x + after], clipped to the row. */
function rowPass(
  src: Uint8Array,
  dst: Uint8Array,
  w: number,
  h: number,
  k: number,
  erode: boolean,
): void {
  const before = Math.floor(k / 2), after = k - 1 - before;
  for (let y = 0; y < h; y++) {
    const base = y * w;
    let count = 0;
    for (let j = 0; j <= Math.min(after, w - 1); j++) count += src[base + j];
    for (let x = 0; x < w; x++) {
      // Outside the image counts as neutral: a pixel erodes only if a zero lies inside the window.
      const inside = Math.min(w - 1, x + after) - Math.max(0, x - before) + 1;
      dst[base + x] = erode ? (count === inside ? 1 : 0) : (count > 0 ? 1 : 0);
      if (x - before >= 0) count -= src[base + x - before];
      if (x + after + 1 < w) count += src[base + x + after + 1];
    }
  }
}

/** Column pass, done row by row (contiguous memory) with one running count per column. */
function columnPass(
  src: Uint8Array,
  dst: Uint8Array,
  w: number,
  h: number,
  k: number,
  erode: boolean,
): void {
  const before = Math.floor(k / 2), after = k - 1 - before;
  const counts = new Int32Array(w);
  for (let y = 0; y <= Math.min(after, h - 1); y++) {
    for (let x = 0, p = y * w; x < w; x++, p++) counts[x] += src[p];
  }
  for (let y = 0; y < h; y++) {
    const inside = Math.min(h - 1, y + after) - Math.max(0, y - before) + 1;
    const base = y * w;
    if (erode) { for (let x = 0; x < w; x++) dst[base + x] = counts[x] === inside ? 1 : 0; }
    else for (let x = 0; x < w; x++) dst[base + x] = counts[x] > 0 ? 1 : 0;
    if (y - before >= 0) {
      for (let x = 0, p = (y - before) * w; x < w; x++, p++) counts[x] -= src[p];
    }
    if (y + after + 1 < h) {
      for (let x = 0, p = (y + after + 1) * w; x < w; x++, p++) counts[x] += src[p];
    }
  }
}

function rect(m: Mask, kx: number, ky: number, erode: boolean): Mask {
  const { width: w, height: h } = m;
  const tmp = new Uint8Array(w * h), out = new Uint8Array(w * h);
  rowPass(m.data, tmp, w, h, kx, erode);
  columnPass(tmp, out, w, h, ky, erode);
  return { width: w, height: h, data: out };
}

/** Erosion with a kx x ky rectangle. @example erode(mask, 23, 23) */
export function erode(m: Mask, kx: number, ky = kx): Mask {
  return rect(m, kx, ky, true);
}

/** Dilation with a kx x ky rectangle. @example dilate(mask, 23, 23) */
export function dilate(m: Mask, kx: number, ky = kx): Mask {
  return rect(m, kx, ky, false);
}

/** Opening (erode, then dilate). @example morphologyOpen(mask, 23, 23) */
export function morphologyOpen(m: Mask, kx: number, ky = kx): Mask {
  return dilate(erode(m, kx, ky), kx, ky);
}

/** Closing (dilate, then erode). @example morphologyClose(mask, 23, 23) */
export function morphologyClose(m: Mask, kx: number, ky = kx): Mask {
  return erode(dilate(m, kx, ky), kx, ky);
}
