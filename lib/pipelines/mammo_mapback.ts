/**
 * A mask on seed 000's preprocessed square (or on a model's square input made from it) mapped back
 * onto the original mammogram's grid from the transform /mammo/preprocess answered (input size,
 * crop box, lr flip, square side): an inverse nearest-neighbour resize to the square when the mask
 * has another size, then the recorded pad, flip and crop undone (./mammo.ts `mammoGeometry`,
 * ./steps.ts `mapBack`). Outside the crop box the answer is 0: nothing was seen there.
 */
import { InvalidInputError } from "../errors.ts";
import type { Mask } from "../image/image.ts";
import { mammoGeometry, type MammoTransform } from "./mammo.ts";
import { type Geometric, mapBack } from "./steps.ts";

/** The transform as /mammo/preprocess answers it in JSON (its other members are ignored). */
export interface PreprocessTransform {
  input: { width: number; height: number };
  crop: { x0: number; y0: number; x1: number; y1: number };
  lr_flip: boolean;
  square: number;
}

/**
 * The pipeline's transform from the JSON answer's members, checked for consistency (the crop box
 * inside the input, the square holding the crop): a 422 naming `transform` otherwise.
 * @example mammoTransform({ input: { width: 10, height: 20 }, crop: { x0: 0, y0: 1, x1: 10, y1: 19 }, lr_flip: false, square: 18 })
 */
export function mammoTransform(t: PreprocessTransform): MammoTransform {
  const { input: { width, height }, crop, square } = t;
  const { x0, y0, x1, y1 } = crop;
  const bad = (why: string) =>
    new InvalidInputError(`transform: ${why}; send the JSON /mammo/preprocess answered`, {
      field: "transform",
    });
  if (!(x0 >= 0 && y0 >= 0 && x1 > x0 && y1 > y0 && x1 <= width && y1 <= height)) {
    throw bad(`the crop box ${JSON.stringify(crop)} is not inside the ${width}x${height} input`);
  }
  if (square < Math.max(x1 - x0, y1 - y0)) {
    throw bad(`the square ${square} cannot hold the ${x1 - x0}x${y1 - y0} crop`);
  }
  return { width, height, crop: { x0, y0, x1, y1 }, lrFlip: t.lr_flip, square };
}

/**
 * The 0/1 `mask` (square: the preprocessed square, or any square size a model ran at) on the
 * original mammogram's grid, `t.width` x `t.height`: exact at the square's size; from another
 * size, each original pixel takes the nearest mask pixel (a label never blends), so edges move by
 * up to half a mask pixel's footprint, square / mask side original pixels.
 * @example mapMaskBack(mammoTransform(answer), { width: 512, height: 512, data: predicted })
 */
export function mapMaskBack(t: MammoTransform, mask: Mask): Uint8Array {
  if (mask.width !== mask.height) {
    throw new InvalidInputError(
      `the mask is ${mask.width}x${mask.height}: it must be square, the preprocessed ${t.square}x${t.square} or a model's square input`,
      { field: "mask" },
    );
  }
  const steps: Geometric[] = [...mammoGeometry(t)];
  if (mask.width !== t.square) {
    steps.push({
      step: "resize",
      kind: "resize",
      from: [t.square, t.square],
      to: [mask.width, mask.height],
    });
  }
  return mapBack(steps, mask, "nearest").data;
}
