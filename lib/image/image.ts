/**
 * The one 2D image type: row-major, channels interleaved, one typed array, optional [row, column]
 * pixel spacing in mm. Functions take images and return new ones; nothing here knows HTTP.
 */

/** Sample arrays an image may hold. */
export type Pixels =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array;

/**
 * Sample arrays of OpenCV's usual depths (CV_8U, CV_16U, CV_16S, CV_32F): what resizing, padding
 * and type conversion take and give.
 */
export type SamplePixels = Uint8Array | Uint16Array | Int16Array | Float32Array;

/**
 * One plane of samples, row-major, with no channel count: what single-channel operations (CLAHE,
 * morphology, connected components) take, so that a grey {@link Image} and a bare
 * `{ width, height, data }` both fit. Not a second image type: an `Image` is a plane with channels.
 */
export interface Plane<T extends Pixels = Pixels> {
  width: number;
  height: number;
  data: T;
}

/**
 * A binary mask: a byte plane of 0 and 1 (a mask body of any format, 0/255 PNGs included, becomes
 * one through lib/decode's `maskFromBytes`: any non-zero sample is 1).
 */
export type Mask = Plane<Uint8Array>;

/** A 2D image: a plane of `channels` interleaved samples per pixel. */
export interface Image<T extends Pixels = Pixels> extends Plane<T> {
  channels: 1 | 3;
  spacing?: [number, number];
}

/** The array type of each sample type, by numpy name. */
const ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
} as const;

/** Sample types an image may hold, by numpy name. */
export type PixelType = keyof typeof ARRAYS;

/**
 * A new zeroed array of `n` samples of `type`.
 * @example newPixels("int16", 4) // Int16Array(4)
 */
export function newPixels(type: PixelType, n: number): Pixels {
  return new ARRAYS[type](n);
}

/** A new array of the same type as `like` with `n` elements. */
export function sameType<T extends Pixels>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}

/**
 * Planar colour samples (RR..GG..BB..) to interleaved (RGBRGB...).
 * @example interleavePlanes(Uint8Array.of(1, 2, 3, 4, 5, 6), 2) // [1, 3, 5, 2, 4, 6]
 */
export function interleavePlanes<T extends Pixels>(planar: T, pixels: number): T {
  const out = sameType(planar, planar.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i];
    out[3 * i + 1] = planar[pixels + i];
    out[3 * i + 2] = planar[2 * pixels + i];
  }
  return out;
}
