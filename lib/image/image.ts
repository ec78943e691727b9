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

/** A 2D image. */
export interface Image<T extends Pixels = Pixels> {
  width: number;
  height: number;
  channels: 1 | 3;
  data: T;
  spacing?: [number, number];
}

/** A new array of the same type as `like` with `n` elements. */
export function sameType<T extends Pixels>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}
