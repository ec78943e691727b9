import { assertEquals, assertThrows } from "@std/assert";
import { decode } from "fast-png";
import { BadInputError, LimitExceededError } from "../../lib/errors.ts";
import { decodePng, encodeImagePng, encodeMaskPng, maskFromPng } from "../../lib/image/png.ts";

Deno.test("encodeMaskPng: 8-bit 0/255 and 1-bit 0/1, odd widths padded per row, CRCs valid", async () => {
  const w = 11, h = 3;
  const mask = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
  for (const bits of [8, 1] as const) {
    const png = await encodeMaskPng(mask, w, h, bits);
    const d = decode(png, { checkCrc: true });
    assertEquals([d.width, d.height, d.depth, d.channels], [w, h, bits, 1]);
    assertEquals(
      Array.from(decodePng(png).data),
      Array.from(mask, (v) => (bits === 8 ? v * 255 : v)),
    );
  }
});

Deno.test("encodeImagePng: 16-bit samples big-endian, 8-bit as given", async () => {
  const d16 = Uint16Array.of(0, 1, 256, 65535, 4660, 43981);
  const png16 = decode(await encodeImagePng(d16, 3, 2), { checkCrc: true });
  assertEquals([png16.depth, Array.from(png16.data)], [16, Array.from(d16)]);
  const d8 = Uint8Array.of(0, 17, 255, 128);
  assertEquals(
    Array.from(decode(await encodeImagePng(d8, 2, 2), { checkCrc: true }).data),
    Array.from(d8),
  );
});

Deno.test("encodeImagePng: RGB 8-bit interleaved", async () => {
  const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9);
  const d = decode(await encodeImagePng(rgb, 2, 2, 3), { checkCrc: true });
  assertEquals([d.channels, Array.from(d.data)], [3, Array.from(rgb)]);
});

Deno.test("decodePng refuses what is not a PNG, and a huge declared size before allocating", async () => {
  assertThrows(
    () => decodePng(new TextEncoder().encode("GIF89a........................")),
    BadInputError,
    "no PNG signature",
  );
  const png = await encodeMaskPng(new Uint8Array(4), 2, 2, 8);
  assertThrows(() => decodePng(png.slice(0, 20)), BadInputError, "truncated before its header");
  assertThrows(
    () => decodePng(png, 3),
    LimitExceededError,
    "2x2 = 4 pixels is over the limit of 3",
  );
});

Deno.test("maskFromPng: any non-zero colour sample is mask; alpha ignored", () => {
  const rgba = {
    width: 2,
    height: 1,
    channels: 4,
    depth: 8,
    data: Uint8Array.of(0, 0, 0, 255, 0, 0, 3, 0),
  };
  assertEquals(Array.from(maskFromPng(rgba)), [0, 1]);
  const ga = { width: 2, height: 1, channels: 2, depth: 8, data: Uint8Array.of(0, 255, 9, 0) };
  assertEquals(Array.from(maskFromPng(ga)), [0, 1]);
});
