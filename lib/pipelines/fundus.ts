/**
 * The `fundus-vessels` preprocessing preset (seed 004, DRIVE): green channel of the 8-bit RGB photo
 * (a grey photo is taken as it is) -> CLAHE (OpenCV createCLAHE semantics, lib/image/clahe.ts) ->
 * float32 / 255, one channel. Identical, value for value, to `preprocess()` in reference/fundus_preprocess.py,
 * the Python the shipped model was trained and evaluated with (tests/pipelines/fundus_test.ts checks
 * it on every DRIVE image).
 */
import { InvalidInputError } from "../errors.ts";
import { clahe } from "../image/clahe.ts";
import { minMaxTo8 } from "../image/grey8.ts";
import type { Image } from "../image/image.ts";
import { greyTensor, type ModelInput } from "../models/tensor.ts";

/** The preset's parameters (card.preprocess.params). */
export interface FundusParams {
  /** Which channel of an RGB photo: the green one, where vessels contrast most. */
  channel: "green";
  /** CLAHE clip limit (OpenCV meaning). */
  clipLimit: number;
  /** CLAHE tiles per side. */
  tiles: number;
}

/** The parameters the shipped model was trained with. */
export const FUNDUS_DEFAULTS: FundusParams = { channel: "green", clipLimit: 2.0, tiles: 8 };

function readParams(params: Record<string, unknown>): FundusParams {
  const p = { ...FUNDUS_DEFAULTS, ...params } as FundusParams;
  if (p.channel !== "green") {
    throw new InvalidInputError(`channel must be "green", got ${JSON.stringify(p.channel)}`, {
      field: "channel",
    });
  }
  if (typeof p.clipLimit !== "number" || !(p.clipLimit >= 0)) {
    throw new InvalidInputError(`clipLimit must be a number >= 0, got ${p.clipLimit}`, {
      field: "clipLimit",
    });
  }
  if (!Number.isInteger(p.tiles) || p.tiles < 1 || p.tiles > 64) {
    throw new InvalidInputError(`tiles must be an integer from 1 to 64, got ${p.tiles}`, {
      field: "tiles",
    });
  }
  return p;
}

/**
 * The 8-bit grey plane the network sees before CLAHE: the green samples of an RGB image, the
 * samples of a grey one. 8-bit data is taken as it is, 16-bit scaled by 255/65535 (rounded), any
 * other type stretched from its min..max to 0..255 (rounded).
 * @example greenPlane({ width: 1, height: 1, channels: 3, data: Uint8Array.of(9, 200, 7) }) // [200]
 */
export function greenPlane(input: Image): Uint8Array {
  const n = input.width * input.height;
  const step = input.channels === 3 ? 3 : 1;
  const at = input.channels === 3 ? 1 : 0;
  if (input.data.length < n * step) {
    throw new InvalidInputError(
      `image data holds ${input.data.length} samples, ${input.width}x${input.height}x` +
        `${input.channels} needs ${n * step}`,
    );
  }
  const src = input.data;
  const out = new Uint8Array(n);
  if (src instanceof Uint8Array) {
    for (let i = 0; i < n; i++) out[i] = src[i * step + at];
  } else if (src instanceof Uint16Array) {
    for (let i = 0; i < n; i++) out[i] = Math.round(src[i * step + at] / 257);
  } else {
    // The channel's samples (float64 holds every sample type exactly), min-max to 0-255.
    return minMaxTo8(Float64Array.from({ length: n }, (_, i) => src[i * step + at]));
  }
  return out;
}

/**
 * The preset: green channel -> CLAHE(clipLimit, tiles x tiles) -> / 255, as a 1-channel HWC tensor.
 * `meta` is not used (a photo has no pixel spacing or rescale that matters here).
 * @example
 * const { tensor } = fundusVessels(rgbImage, {}, { clipLimit: 2, tiles: 8 });
 */
export function fundusVessels(
  input: Image,
  _meta: Record<string, unknown> = {},
  params: Record<string, unknown> = {},
): ModelInput {
  const { clipLimit, tiles } = readParams(params);
  const { width, height } = input;
  const eq = clahe({ width, height, data: greenPlane(input) }, clipLimit, tiles).data;
  return greyTensor(width, height, eq);
}
