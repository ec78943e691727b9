import { assert, assertEquals, assertThrows } from "@std/assert";
import { nearestIndex, resize } from "../../lib/image/resize.ts";
import { decodePng } from "../../lib/image/png.ts";
import { InvalidInputError, UnsupportedError } from "../../lib/errors.ts";
import type { Image } from "../../lib/image/image.ts";
import { dataFile } from "../_data.ts";
import { firstDifference, inputImage, ops, samples, sha256 } from "./_ops_reference.ts";

const grey = (width: number, height: number, values: number[]): Image<Uint8Array> => ({
  width,
  height,
  channels: 1,
  data: Uint8Array.from(values),
});

Deno.test("bilinear 2x2 -> 4x4 by hand: pixel centres at 1/4 and 3/4, edges replicated", () => {
  // Columns weigh the two pixels (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1); rows likewise.
  const out = resize(grey(2, 2, [0, 80, 160, 240]), 4, 4, "bilinear");
  assertEquals(Array.from(out.data), [
    ...[0, 20, 60, 80],
    ...[40, 60, 100, 120],
    ...[120, 140, 180, 200],
    ...[160, 180, 220, 240],
  ]);
  assertEquals([out.width, out.height, out.channels], [4, 4, 1]);
});

Deno.test("nearest: floor(x * src / dst), and the index table that maps a resized mask back", () => {
  assertEquals(Array.from(resize(grey(2, 2, [0, 80, 160, 240]), 4, 4, "nearest").data), [
    ...[0, 0, 80, 80],
    ...[0, 0, 80, 80],
    ...[160, 160, 240, 240],
    ...[160, 160, 240, 240],
  ]);
  const row = grey(12, 1, Array.from({ length: 12 }, (_, i) => i));
  assertEquals(Array.from(resize(row, 3, 1, "nearest").data), [0, 4, 8]);
  assertEquals(Array.from(nearestIndex(4, 3)), [0, 1, 2]); // floor(2 * 4/3) = 2
  const back = nearestIndex(256, 1024); // a 256x256 mask onto the 1024x1024 original
  assertEquals([back[0], back[3], back[4], back[1023]], [0, 0, 1, 255]);
});

Deno.test("bicubic 8 -> 4 by hand: weights (-3/32, 19/32, 19/32, -3/32) ring, 8-bit saturates", () => {
  const step = [0, 0, 0, 0, 32, 32, 32, 32];
  const f = resize(
    { width: 8, height: 1, channels: 1, data: Float32Array.from(step) },
    4,
    1,
    "bicubic",
  );
  assertEquals(Array.from(f.data), [0, -3, 35, 32]);
  assertEquals(Array.from(resize(grey(8, 1, step), 4, 1, "bicubic").data), [0, 0, 35, 32]);
});

Deno.test("bilinear halving is OpenCV's 2x2 area mean, rounded (sum + 2) >> 2", () => {
  assertEquals(Array.from(resize(grey(2, 2, [1, 2, 3, 4]), 1, 1).data), [3]); // 2.5 -> 3
  // Aligned grey rows go four bytes at a time; an unaligned view takes the plain loop: same pixels.
  const bytes = Uint8Array.from({ length: 1 + 8 * 4 }, (_, i) => (i * 37) % 256);
  const aligned = { width: 8, height: 4, channels: 1 as const, data: bytes.slice(1) };
  const unaligned = { ...aligned, data: bytes.subarray(1) };
  const half = resize(aligned, 4, 2).data;
  assertEquals(resize(unaligned, 4, 2).data, half);
  const d = aligned.data;
  assertEquals(half[5], (d[18] + d[19] + d[26] + d[27] + 2) >> 2); // row 1, column 1
});

Deno.test("resize equals OpenCV 4.6 cv2.resize on 8/16-bit, int16, float32, grey and RGB fixtures", () => {
  let n = 0;
  for (const c of ops.resize) {
    const img = inputImage(c);
    for (const o of c.outputs) {
      const got = resize(img, o.width, o.height, o.interpolation);
      const name =
        `${c.dtype} x${c.channels} ${c.width}x${c.height} -> ${o.width}x${o.height} ${o.interpolation}`;
      assertEquals(got.data.constructor, img.data.constructor, name);
      assertEquals(firstDifference(got.data, samples(o.data, c.dtype)), null, name);
      n++;
    }
  }
  assert(n >= 300, `only ${n} cases`);
});

Deno.test("resize equals OpenCV on real images (DRIVE RGB, CBIS-DDSM 8- and 16-bit), by digest", async (t) => {
  const cases = ops.real.filter((r: { equalizeHist?: boolean }) => !r.equalizeHist);
  const files = new Map<string, Image>();
  for (const r of cases) {
    const [file, x257] = r.file.split(" ");
    const path = dataFile(file);
    if (!path) return;
    if (!files.has(r.file)) {
      const png = decodePng(await Deno.readFile(path));
      let data: Uint8Array | Uint16Array = png.data;
      if (x257) data = Uint16Array.from(data, (v) => v * 257);
      files.set(r.file, {
        width: png.width,
        height: png.height,
        channels: png.channels as 1 | 3,
        data,
      });
    }
    const name = `${r.file} -> ${r.width}x${r.height} ${r.interpolation}`;
    await t.step(name, async () => {
      const out = resize(files.get(r.file)!, r.width, r.height, r.interpolation);
      assertEquals(await sha256(out.data), r.sha256);
    });
  }
});

Deno.test("resize: same size copies, spacing follows the scale, bad sizes and types are typed errors", () => {
  const img = { ...grey(2, 2, [1, 2, 3, 4]), spacing: [0.5, 0.25] as [number, number] };
  const same = resize(img, 2, 2, "bicubic");
  assertEquals(same.data, img.data);
  assert(same.data !== img.data);
  assertEquals(resize(img, 4, 1, "nearest").spacing, [1, 0.125]);
  assertThrows(() => resize(img, 0, 2), InvalidInputError);
  assertThrows(() => resize(img, 2.5, 2), InvalidInputError);
  const ints = { width: 2, height: 2, channels: 1 as const, data: new Int32Array(4) };
  assertThrows(() => resize(ints, 3, 3, "bilinear"), UnsupportedError);
  assertEquals(resize(ints, 3, 3, "nearest").data.length, 9);
});
