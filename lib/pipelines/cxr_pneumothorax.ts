/**
 * The `cxr-pneumothorax` preprocessing preset (seed 001, SIIM-ACR): the grey radiograph as it is
 * stored (8-bit, 0..255: the seed's DataGenerator feeds `pixel_array` resized to 256 x 256 without
 * scaling; the model's first layers normalise), as one float32 channel. Resizing to the model's
 * 256 x 256 input and back is the runtime's (lib/models/infer.ts), as cv2.resize was the seed's.
 */
import { InvalidInputError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { greyTensor, type ModelInput } from "../models/tensor.ts";

/**
 * The preset: grey samples / `params.divide_by` (default 1, as the seed).
 * @example cxrPneumothorax(grey8, {}, {}).tensor // the samples as float32
 */
export function cxrPneumothorax(
  input: Image,
  _meta: Record<string, unknown> = {},
  params: Record<string, unknown> = {},
): ModelInput {
  if (input.channels !== 1) {
    throw new InvalidInputError(
      "cxr-pneumothorax takes a grey radiograph; the image has 3 channels",
    );
  }
  const divideBy = params.divide_by === undefined ? 1 : Number(params.divide_by);
  if (!(divideBy > 0)) throw new InvalidInputError("divide_by must be a number > 0");
  return greyTensor(input.width, input.height, input.data, divideBy);
}
