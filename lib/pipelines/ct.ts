/**
 * The `ct-liver` preprocessing preset (seed 003, 3D-IRCADb): Hounsfield units -> window (width 500,
 * centre 150: `(HU - (150 - 250)) / 500` clipped to [0, 1], x 255, truncated to uint8 as numpy's
 * astype) -> CLAHE clip 2, 8 x 8 tiles (OpenCV createCLAHE semantics, lib/image/clahe.ts) -> / 255,
 * one float32 channel.
 */
import { InvalidInputError } from "../errors.ts";
import { clahe } from "../image/clahe.ts";
import type { Image } from "../image/image.ts";
import { greyTensor, type ModelInput } from "../models/tensor.ts";

/** The preset's parameters (card.preprocess.params), with the seed's values. */
export interface CtLiverParams {
  windowWidth: number;
  windowCenter: number;
  clipLimit: number;
  tiles: number;
}

/** Seed 003's values. */
export const CT_LIVER_DEFAULTS: CtLiverParams = {
  windowWidth: 500,
  windowCenter: 150,
  clipLimit: 2,
  tiles: 8,
};

function readParams(params: Record<string, unknown>): CtLiverParams {
  const p = { ...CT_LIVER_DEFAULTS };
  for (const key of Object.keys(CT_LIVER_DEFAULTS) as (keyof CtLiverParams)[]) {
    if (params[key] === undefined) continue;
    const v = Number(params[key]);
    if (!Number.isFinite(v)) {
      throw new InvalidInputError(`${key} must be a number, got ${JSON.stringify(params[key])}`, {
        field: key,
      });
    }
    p[key] = v;
  }
  if (!(p.windowWidth > 0)) throw new InvalidInputError("windowWidth must be > 0");
  if (!(p.clipLimit >= 0)) throw new InvalidInputError("clipLimit must be >= 0");
  if (!Number.isInteger(p.tiles) || p.tiles < 1 || p.tiles > 64) {
    throw new InvalidInputError("tiles must be an integer from 1 to 64", { field: "tiles" });
  }
  return p;
}

/**
 * Window HU values into uint8 as the seed: `trunc(clip((HU - (centre - width/2)) / width, 0, 1) * 255)`.
 * @example ctWindow(Float32Array.of(-100, 150, 400), 500, 150) // Uint8Array [0, 127, 255]
 */
export function ctWindow(hu: ArrayLike<number>, width: number, center: number): Uint8Array {
  const lo = center - width / 2;
  const out = new Uint8Array(hu.length);
  for (let i = 0; i < hu.length; i++) {
    const v = (hu[i] - lo) / width;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.trunc(v * 255);
  }
  return out;
}

/**
 * The preset. A DICOM CT slice arrives in HU (lib/dicom applies RescaleSlope/Intercept); so does any
 * image of a signed or float type. An 8-bit image is taken as already windowed (a PNG export of the
 * windowed slice) and goes straight to CLAHE. RGB is a 422.
 * @example const { tensor } = ctLiver(dicomImage, {}, {}); // 512 x 512 x 1 in [0, 1]
 */
export function ctLiver(
  input: Image,
  _meta: Record<string, unknown> = {},
  params: Record<string, unknown> = {},
): ModelInput {
  if (input.channels !== 1) {
    throw new InvalidInputError("ct-liver takes a grey CT slice; the image has 3 channels");
  }
  const p = readParams(params);
  const { width, height } = input;
  const windowed = input.data instanceof Uint8Array
    ? input.data
    : ctWindow(input.data, p.windowWidth, p.windowCenter);
  const eq = clahe({ width, height, data: windowed }, p.clipLimit, p.tiles).data;
  return greyTensor(width, height, eq);
}
