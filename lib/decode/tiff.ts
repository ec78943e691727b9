/**
 * TIFF to the one image type, by utif (Photopea's TIFF codec): the first image, 8/16-bit grey or
 * RGB, chunky, any compression utif reads (none, LZW, PackBits, Deflate, JPEG); WhiteIsZero is
 * inverted so that bright means high; alpha dropped.
 */
import { BadInputError, UnsupportedError } from "../errors.ts";
import type { Image } from "../image/image.ts";
import { checkPixels } from "../image/png.ts";
import { dropAlpha } from "./_alpha.ts";

function tag(ifd: Record<string, unknown>, t: number): number[] | undefined {
  const v = ifd[`t${t}`];
  return Array.isArray(v) ? v as number[] : undefined;
}

/**
 * Decodes the first image of a TIFF.
 * @example const { width } = await decodeTiff(await Deno.readFile("01_test.tif"));
 */
export async function decodeTiff(bytes: Uint8Array, maxPixels = Infinity): Promise<Image> {
  const { default: UTIF } = await import("utif");
  let ifds: ReturnType<typeof UTIF.decode>;
  try {
    ifds = UTIF.decode(bytes);
  } catch (err) {
    throw new BadInputError(`TIFF could not be read: ${(err as Error).message}`);
  }
  const ifd = ifds[0] as unknown as Record<string, unknown>;
  if (!ifd) throw new BadInputError("TIFF has no image");
  const width = tag(ifd, 256)?.[0] ?? 0, height = tag(ifd, 257)?.[0] ?? 0;
  if (!(width > 0 && height > 0)) throw new BadInputError("TIFF declares no image size");
  checkPixels(width, height, maxPixels);
  const bits = tag(ifd, 258) ?? [1];
  const spp = tag(ifd, 277)?.[0] ?? 1;
  const photometric = tag(ifd, 262)?.[0] ?? 1;
  if ((tag(ifd, 284)?.[0] ?? 1) !== 1 && spp > 1) {
    throw new UnsupportedError("planar TIFF (PlanarConfiguration 2): send chunky RGB or PNG");
  }
  if (!bits.every((b) => b === bits[0]) || (bits[0] !== 8 && bits[0] !== 16)) {
    throw new UnsupportedError(`TIFF of ${bits.join("/")} bits per sample: send 8 or 16-bit`);
  }
  if (photometric > 2) {
    throw new UnsupportedError(`TIFF photometric interpretation ${photometric}: send grey or RGB`);
  }
  try {
    UTIF.decodeImage(bytes, ifds[0]);
  } catch (err) {
    throw new BadInputError(`TIFF pixels could not be decoded: ${(err as Error).message}`);
  }
  const raw = (ifd as { data?: Uint8Array }).data;
  const n = width * height;
  if (!raw || raw.length < n * spp * (bits[0] / 8)) {
    throw new BadInputError("TIFF pixel data is shorter than its header says");
  }
  let data: Uint8Array | Uint16Array;
  if (bits[0] === 8) data = raw.slice(0, n * spp);
  else {
    const le = (ifd as { isLE?: boolean }).isLE !== false;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    data = new Uint16Array(n * spp);
    for (let i = 0; i < data.length; i++) data[i] = view.getUint16(2 * i, le);
  }
  if (photometric === 0) {
    const max = bits[0] === 8 ? 255 : 65535; // WhiteIsZero: invert so that bright means high
    for (let i = 0; i < data.length; i++) data[i] = max - data[i];
  }
  if (spp === 1 || spp === 3) return { width, height, channels: spp, data };
  if (spp === 2 || spp === 4) {
    const to = spp === 2 ? 1 : 3;
    return { width, height, channels: to, data: dropAlpha(data, n, spp, to) };
  }
  throw new UnsupportedError(`TIFF with ${spp} samples per pixel: send grey or RGB`);
}
