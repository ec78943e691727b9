/**
 * GIF (87a/89a) to the one image type, by omggif (the GIF codec pdf.js and others build on): the
 * first frame, composited as its Graphic Control says; grey when every pixel's palette colour is
 * grey (DRIVE's masks), else RGB. Transparent pixels are black.
 */
import { BadInputError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { checkPixels } from "../image/png.ts";

interface GifReader {
  width: number;
  height: number;
  numFrames(): number;
  decodeAndBlitFrameRGBA(frame: number, pixels: Uint8Array): void;
}

/**
 * Decodes the first frame of a GIF.
 * @example const { width, channels } = await decodeGif(await Deno.readFile("01_manual1.gif"));
 */
export async function decodeGif(bytes: Uint8Array, maxPixels = Infinity): Promise<Image> {
  const { GifReader } = (await import("omggif")) as unknown as {
    GifReader: new (b: Uint8Array) => GifReader;
  };
  let reader: GifReader;
  try {
    reader = new GifReader(bytes);
  } catch (err) {
    throw new BadInputError(`GIF could not be read: ${(err as Error).message}`);
  }
  const { width, height } = reader;
  if (!(width > 0 && height > 0)) throw new BadInputError("GIF declares no image size");
  checkPixels(width, height, maxPixels);
  if (reader.numFrames() < 1) throw new BadInputError("GIF has no image");
  const n = width * height;
  const rgba = new Uint8Array(n * 4);
  try {
    reader.decodeAndBlitFrameRGBA(0, rgba);
  } catch (err) {
    throw new BadInputError(`GIF pixels could not be decoded: ${(err as Error).message}`);
  }
  let grey = true;
  for (let p = 0; p < rgba.length && grey; p += 4) {
    grey = rgba[p] === rgba[p + 1] && rgba[p] === rgba[p + 2];
  }
  if (grey) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = rgba[4 * i];
    return { width, height, channels: 1, data };
  }
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i], data[3 * i + 1] = rgba[4 * i + 1], data[3 * i + 2] = rgba[4 * i + 2];
  }
  return { width, height, channels: 3, data };
}
