/**
 * The model runtime: backend set-up, model cards, the registry of installed models, loading,
 * inference (resize, pad, tiles; tensor in, tensor out: presets are lib/pipelines/presets.ts) and
 * the project's U-Net. See each module.
 */
export {
  activeBackend,
  BackendError,
  type BackendInfo,
  type BackendName,
  BACKENDS,
  setupBackend,
} from "./backend.ts";
export {
  type CardInput,
  decodeFloat32,
  encodeFloat32,
  imageInput,
  type ModelCard,
  ModelCardError,
  parseCard,
  type StoredTensor,
} from "./card.ts";
export { accelerate, useFastConcat } from "./fast.ts";
export { fileHandler } from "./io.ts";
export {
  DEFAULT_WASM_HEAP_MAX_MB,
  holdModels,
  type LoadedModel,
  loadModel,
  type LoadOptions,
  unloadModels,
} from "./load.ts";
export {
  findModel,
  HOW_TO_ADD,
  type InstalledModel,
  listModels,
  ModelNotFoundError,
  modelsRoot,
} from "./registry.ts";
export {
  argmax,
  checkSegmentationInput,
  type Fit,
  type InferencePlan,
  inferFitted,
  type InferOptions,
  planInference,
  resizeInput,
  segmentImage,
  thresholdProbs,
  toMask,
} from "./infer.ts";
export type { ModelInput, ProbabilityMap } from "./tensor.ts";
export { blendWeights, tiledInference, tileStarts } from "./tiling.ts";
export { checkReplay, makeReplay, type ReplayResult } from "./replay.ts";
export { buildUnet, unetFlops, type UnetOptions } from "./unet.ts";
