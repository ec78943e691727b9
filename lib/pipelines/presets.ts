/**
 * Preprocessing presets by name, as a model card's `preprocess.preset` names them. Each preset lives
 * in lib/pipelines/ and is imported on first use, so a function pulls in only the pipelines its
 * models need. `scale` is the built-in default for cards without a preset. The registry sits here,
 * above lib/models, which knows only the tensor it is given (lib/models/tensor.ts `ModelInput`).
 */
import { InvalidInputError } from "../errors.ts";
import type { DecodedMeta } from "../decode/types.ts";
import type { Image } from "../image/image.ts";
import { ModelCardError } from "../models/card.ts";
import type { ModelInput } from "../models/tensor.ts";

/** A preset: (decoded image, its metadata, card params with request overrides) -> tensor. */
export type Preset = (
  input: Image,
  meta: DecodedMeta,
  params: Record<string, unknown>,
) => ModelInput;

/** Every preset name and how to get it. */
export const PRESETS: Record<string, () => Promise<Preset>> = {
  "scale": () => Promise.resolve(scalePreset),
  "ct-liver": async () => (await import("./ct.ts")).ctLiver,
  "fundus-vessels": async () => (await import("./fundus.ts")).fundusVessels,
  "cxr-pneumothorax": async () => (await import("./cxr_pneumothorax.ts")).cxrPneumothorax,
};

/**
 * The preset called `name`; ModelCardError when no preset has that name.
 * @example const preset = await getPreset("ct-liver"); preset(image, meta, {})
 */
export async function getPreset(name: string): Promise<Preset> {
  const get = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!get) {
    throw new ModelCardError(
      `preprocess preset ${JSON.stringify(name)} is unknown; presets: ${
        Object.keys(PRESETS).join(", ")
      }`,
    );
  }
  return await get();
}

/** Full scale of an integer sample type (floats are taken as they are). */
function fullScale(data: Image["data"]): number {
  if (
    data instanceof Uint8Array || data instanceof Uint8ClampedArray || data instanceof Int8Array
  ) {
    return 255;
  }
  if (data instanceof Uint16Array || data instanceof Int16Array) return 65535;
  if (data instanceof Uint32Array || data instanceof Int32Array) return 4294967295;
  return 1;
}

/**
 * The default preset: samples / full scale of their type (255 for 8-bit, 65535 for 16-bit; floats
 * as they are, or / `params.divide_by` when given), in the channel order `params.channels`
 * ("grey", "rgb" or "green" = the green plane of an RGB image). A grey image for an "rgb" model is
 * repeated into three channels; an RGB image for a "grey" model is a 422 (which plane, or which
 * mix, is the model's to say, in its card).
 * @example scalePreset(png8, {}, { channels: "grey" }).tensor // samples / 255
 */
export function scalePreset(
  input: Image,
  _meta: DecodedMeta,
  params: Record<string, unknown>,
): ModelInput {
  const order = (params.channels ?? "grey") as string;
  const divideBy = params.divide_by === undefined
    ? fullScale(input.data)
    : Number(params.divide_by);
  if (!(divideBy > 0)) throw new InvalidInputError("divide_by must be a number > 0");
  const { width, height, data } = input;
  const n = width * height;
  const src = input.channels;
  if (order === "grey" && src !== 1) {
    throw new InvalidInputError(
      "this model takes grey images and the image has 3 (RGB) channels; send a grey image",
      { channels: src },
    );
  }
  const out = order === "rgb" ? 3 : 1;
  const tensor = new Float32Array(n * out);
  const k = 1 / divideBy;
  if (order === "green" && src === 3) {
    for (let i = 0; i < n; i++) tensor[i] = data[3 * i + 1] * k;
  } else if (out === 3 && src === 1) {
    for (let i = 0; i < n; i++) tensor[3 * i] = tensor[3 * i + 1] = tensor[3 * i + 2] = data[i] * k;
  } else {
    for (let i = 0; i < n * out; i++) tensor[i] = data[i] * k;
  }
  return { tensor, width, height, channels: out };
}
