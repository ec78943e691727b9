/**
 * The two things a 2D model exchanges with the code around it, float32 row-major HWC:
 * `ModelInput` (what a preprocessing preset makes and a model takes) and `ProbabilityMap` (what a
 * segmentation model answers, one channel per class). lib/models knows only this tensor-in /
 * tensor-out contract; the presets that make inputs live in lib/pipelines.
 */

/** A preprocessed image, float32 HWC, ready to be a model's input. */
export interface ModelInput {
  tensor: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** A model's answer per pixel, float32 HWC, one channel per output class. */
export interface ProbabilityMap {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * One grey channel as a model input: each sample / `divideBy`, float32 (the 2D presets' last step).
 * @example greyTensor(2, 1, Uint8Array.of(0, 255)).tensor // Float32Array [0, 1]
 */
export function greyTensor(
  width: number,
  height: number,
  data: ArrayLike<number>,
  divideBy = 255,
): ModelInput {
  const tensor = new Float32Array(width * height);
  for (let i = 0; i < tensor.length; i++) tensor[i] = data[i] / divideBy;
  return { tensor, width, height, channels: 1 };
}
