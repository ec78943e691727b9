import { assertEquals } from "@std/assert";
import {
  addReach,
  dilate,
  dilateRuns,
  erode,
  fromRuns,
  morphologyClose,
  morphologyOpen,
  rectReach,
  toRuns,
} from "../../lib/image/morphology.ts";
import { largestComponentFilled } from "../../lib/image/components.ts";
import { bytes, reference } from "./_reference.ts";

Deno.test("erode/dilate by hand: a 3x3 square and a 3x1 kernel", () => {
  const m = { width: 5, height: 5, data: new Uint8Array(25) };
  for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) m.data[y * 5 + x] = 1;
  assertEquals(Array.from(erode(m, 3).data).reduce((a, b) => a + b), 1); // only the centre survives
  assertEquals(Array.from(dilate(m, 3).data).reduce((a, b) => a + b), 25); // grows to the border
  assertEquals(Array.from(erode(m, 3, 1).data.subarray(10, 15)), [0, 0, 1, 0, 0]);
  // Border pixels are neutral: a full mask never erodes at the image edge.
  assertEquals(
    Array.from(erode({ width: 3, height: 2, data: new Uint8Array(6).fill(1) }, 5).data),
    [1, 1, 1, 1, 1, 1],
  );
});

Deno.test("rectangle morphology equals OpenCV 4.6 (erode, dilate, open, close; odd, even, 1-wide kernels)", () => {
  for (const c of reference.morphology) {
    const m = { width: c.width, height: c.height, data: bytes(c.input) };
    const name = `${c.width}x${c.height} k${c.kx}x${c.ky}`;
    assertEquals(erode(m, c.kx, c.ky).data, bytes(c.erode), `erode ${name}`);
    assertEquals(dilate(m, c.kx, c.ky).data, bytes(c.dilate), `dilate ${name}`);
    assertEquals(morphologyOpen(m, c.kx, c.ky).data, bytes(c.open), `open ${name}`);
    assertEquals(morphologyClose(m, c.kx, c.ky).data, bytes(c.close), `close ${name}`);
  }
});

Deno.test("largestComponentFilled equals OpenCV's largest external contour, filled (ring with a hole included)", () => {
  for (const c of reference.largest_filled) {
    const m = { width: c.width, height: c.height, data: bytes(c.input) };
    assertEquals(largestComponentFilled(m).data, bytes(c.output), `${c.width}x${c.height}`);
  }
  const empty = { width: 4, height: 3, data: new Uint8Array(12) };
  assertEquals(largestComponentFilled(empty).data, new Uint8Array(12));
});

/** Pixel by pixel, from the definition: the window [x - before, x + after] clipped to the image. */
function bruteForce(
  m: { width: number; height: number; data: Uint8Array },
  kx: number,
  ky: number,
  isErode: boolean,
) {
  const { width: w, height: h, data } = m;
  const rx = rectReach(kx), ry = rectReach(ky);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let all = true, any = false;
      for (let yy = Math.max(0, y - ry.before); yy <= Math.min(h - 1, y + ry.after); yy++) {
        for (let xx = Math.max(0, x - rx.before); xx <= Math.min(w - 1, x + rx.after); xx++) {
          if (data[yy * w + xx]) any = true;
          else all = false;
        }
      }
      out[y * w + x] = (isErode ? all : any) ? 1 : 0;
    }
  }
  return out;
}

Deno.test("run-based erode/dilate equal the definition on random masks, small and smaller than the kernel", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let trial = 0; trial < 60; trial++) {
    const w = 1 + Math.floor(rand() * 40), h = 1 + Math.floor(rand() * 40);
    const density = rand();
    const m = {
      width: w,
      height: h,
      data: Uint8Array.from({ length: w * h }, () => (rand() < density ? 1 : 0)),
    };
    const kx = 1 + Math.floor(rand() * 12), ky = 1 + Math.floor(rand() * 12);
    const name = `${w}x${h} density ${density.toFixed(2)} k ${kx}x${ky}`;
    assertEquals(erode(m, kx, ky).data, bruteForce(m, kx, ky, true), `erode ${name}`);
    assertEquals(dilate(m, kx, ky).data, bruteForce(m, kx, ky, false), `dilate ${name}`);
    // Two dilations in turn are one with the summed reach (used by the mammo pipeline).
    const twice = dilate(dilate(m, kx, ky), kx, ky).data;
    const once = fromRuns(
      dilateRuns(
        toRuns(m),
        addReach(rectReach(kx), rectReach(kx)),
        addReach(rectReach(ky), rectReach(ky)),
      ),
    ).data;
    assertEquals(once, twice, `dilate twice ${name}`);
  }
});
