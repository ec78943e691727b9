/**
 * Measures of a 0/1 mask: its area (pixels, and mm² when the pixel spacing is known), its bounding
 * box, and its overlap with a ground truth (Dice and IoU). The one place these are computed.
 */

/** A bounding box as answers give it: the top-left pixel and the size, inclusive of both ends. */
export interface MaskBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Area (non-zero pixels), area in mm² (null without `spacing`, [row, column] mm per pixel) and the
 * bounding box (null for an empty mask) of a row-major mask.
 * @example measureMask(Uint8Array.of(0, 1, 1, 0), 2, 2) // { area: 2, mm2: null, bbox: {x:0,y:0,width:2,height:2} }
 */
export function measureMask(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  spacing?: [number, number] | null,
): { area: number; mm2: number | null; bbox: MaskBox | null } {
  let area = 0, x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      if (!mask[p]) continue;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return {
    area,
    mm2: spacing ? area * spacing[0] * spacing[1] : null,
    bbox: area ? { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } : null,
  };
}

/** Dice, IoU and the counts behind them. */
export interface OverlapScores {
  dice: number;
  iou: number;
  intersection: number;
  truth_area: number;
}

/**
 * The one Dice formula: (2|A∩B| + eps) / (|A| + |B| + eps), from the counts; 1 when both are empty
 * and `eps` is 0. brats' per-label dice is this with the seed's eps 1e-5.
 * @example diceScore(1, 2, 1) // 2/3
 */
export function diceScore(intersection: number, a: number, b: number, eps = 0): number {
  const sum = a + b + eps;
  return sum === 0 ? 1 : (2 * intersection + eps) / sum;
}

/**
 * Dice 2|A∩B| / (|A| + |B|) and IoU |A∩B| / |A∪B| of a 0/1 mask `a` against the truth `b`; both 1
 * when both are empty.
 * @example overlapScores(Uint8Array.of(1, 1, 0), Uint8Array.of(1, 0, 0)) // dice 2/3, iou 1/2
 */
export function overlapScores(a: Uint8Array, b: Uint8Array): OverlapScores {
  let inter = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i];
    sb += b[i];
    inter += a[i] & b[i];
  }
  const union = sa + sb - inter;
  return {
    dice: diceScore(inter, sa, sb),
    iou: union === 0 ? 1 : inter / union,
    intersection: inter,
    truth_area: sb,
  };
}
