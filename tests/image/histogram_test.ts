import { assertEquals, assertThrows } from "@std/assert";
import { equalizeHist, histogram } from "../../lib/image/histogram.ts";
import { decodePng } from "../../lib/image/png.ts";
import { UnsupportedError } from "../../lib/errors.ts";
import { dataFile } from "../_data.ts";
import { firstDifference, ops, samples, sha256 } from "./_ops_reference.ts";

const grey = (width: number, values: number[]) => ({
  width,
  height: values.length / width,
  channels: 1 as const,
  data: Uint8Array.from(values),
});

Deno.test("equalizeHist by hand: lowest level to 0, cdf * 255 / (n - count(lowest)), ties to even", () => {
  // scale 255 / 2 = 127.5: one pixel above the lowest -> 127.5 -> 128 (even)
  assertEquals(Array.from(equalizeHist(grey(2, [10, 10, 20, 30])).data), [0, 0, 128, 255]);
  // scale 255 / 6 = 42.5: 42.5 -> 42 (even), not 43
  assertEquals(Array.from(equalizeHist(grey(7, [5, 6, 7, 7, 7, 7, 7])).data), [
    0,
    42,
    255,
    255,
    255,
    255,
    255,
  ]);
  // a flat image keeps its level
  assertEquals(Array.from(equalizeHist(grey(3, [9, 9, 9])).data), [9, 9, 9]);
});

Deno.test("histogram counts every sample, 256 or 65536 bins", () => {
  const h = histogram(grey(2, [0, 3, 3, 255]));
  assertEquals([h.length, h[0], h[3], h[255], h[1]], [256, 1, 2, 1, 0]);
  const h16 = histogram({ width: 2, height: 1, channels: 1, data: Uint16Array.of(65535, 65535) });
  assertEquals([h16.length, h16[65535]], [65536, 2]);
});

Deno.test("equalizeHist equals OpenCV 4.6 on uniform, skewed, narrow, flat and two-level images", () => {
  for (const c of ops.equalizeHist) {
    const img = {
      width: c.width,
      height: c.height,
      channels: 1 as const,
      data: samples(c.input, "uint8") as Uint8Array,
    };
    assertEquals(
      firstDifference(equalizeHist(img).data, samples(c.output, "uint8")),
      null,
      `${c.width}x${c.height}`,
    );
  }
});

Deno.test("equalizeHist equals OpenCV on a real CBIS-DDSM mammogram, by digest", async () => {
  const r = ops.real.find((r: { equalizeHist?: boolean }) => r.equalizeHist);
  const path = dataFile(r.file);
  if (!path) return;
  const png = decodePng(await Deno.readFile(path));
  const img = {
    width: png.width,
    height: png.height,
    channels: 1 as const,
    data: png.data as Uint8Array,
  };
  assertEquals(await sha256(equalizeHist(img).data), r.sha256);
});

Deno.test("equalizeHist refuses 16-bit and colour images, as OpenCV", () => {
  const u16 = { width: 1, height: 1, channels: 1 as const, data: new Uint16Array(1) };
  assertThrows(() => equalizeHist(u16 as never), UnsupportedError);
  assertThrows(
    () => equalizeHist({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }),
    UnsupportedError,
  );
});
