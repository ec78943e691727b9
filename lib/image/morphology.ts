/**
 * Binary morphology with a rectangle (OpenCV `erode`/`dilate`/`morphologyEx` with
 * `getStructuringElement(MORPH_RECT, (kx, ky))`, anchor at the centre, default border: pixels
 * outside the image never erode nor dilate). Hand-written because no edge-ready library does it:
 * on 0/1 masks a rectangle separates into a row pass and a column pass, each a sliding count of
 * ones in the window, so the cost per pixel does not depend on the kernel size (like van Herk /
 * Gil-Werman, which generalises this to grey levels).
 */

/** A 0/1 mask, row-major. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

function pass(
  src: Uint8Array,
  dst: Uint8Array,
  lines: number,
  len: number,
  lineStep: number,
  step: number,
  k: number,
  erode: boolean,
): void {
  const before = Math.floor(k / 2), after = k - 1 - before;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    // count = ones inside the window [i - before, i + after] clipped to the line.
    let count = 0;
    for (let j = 0; j <= Math.min(after, len - 1); j++) count += src[base + j * step];
    for (let i = 0; i < len; i++) {
      const lo = Math.max(0, i - before), hi = Math.min(len - 1, i + after);
      // Outside the image counts as neutral: a pixel erodes only if a zero lies inside the window.
      dst[base + i * step] = erode ? (count === hi - lo + 1 ? 1 : 0) : (count > 0 ? 1 : 0);
      const out = i - before, inn = i + after + 1;
      if (out >= 0) count -= src[base + out * step];
      if (inn < len) count += src[base + inn * step];
    }
  }
}

function rect(m: Mask, kx: number, ky: number, erode: boolean): Mask {
  const { width: w, height: h } = m;
  const tmp = new Uint8Array(w * h), out = new Uint8Array(w * h);
  pass(m.data, tmp, h, w, w, 1, kx, erode);
  pass(tmp, out, w, h, 1, w, ky, erode);
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
