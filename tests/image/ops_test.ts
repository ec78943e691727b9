import { assertEquals, assertThrows } from "@std/assert";
import { crop, flip, minMaxNormalize, pad, threshold } from "../../lib/image/ops.ts";
import { InvalidInputError, UnsupportedError } from "../../lib/errors.ts";
import { firstDifference, inputImage, ops, samples } from "./_ops_reference.ts";

const grey = (width: number, values: number[]) => ({
  width,
  height: values.length / width,
  channels: 1 as const,
  data: Uint8Array.from(values),
});
const rgb = (width: number, height: number, values: number[]) => ({
  width,
  height,
  channels: 3 as const,
  data: Uint8Array.from(values),
});

Deno.test("crop by hand: columns [x0, x1), rows [y0, y1), channels kept together", () => {
  const img = grey(4, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const c = crop(img, { x0: 1, y0: 1, x1: 3, y1: 3 });
  assertEquals([c.width, c.height, Array.from(c.data)], [2, 2, [5, 6, 9, 10]]);
  const col = crop(rgb(2, 1, [1, 2, 3, 4, 5, 6]), { x0: 1, y0: 0, x1: 2, y1: 1 });
  assertEquals(Array.from(col.data), [4, 5, 6]);
  assertThrows(() => crop(img, { x0: 2, y0: 0, x1: 2, y1: 1 }), InvalidInputError);
  assertThrows(() => crop(img, { x0: 0, y0: 0, x1: 5, y1: 1 }), InvalidInputError);
});

Deno.test("flip by hand: horizontal mirrors pixels (not channels), vertical rows, both", () => {
  const img = grey(3, [1, 2, 3, 4, 5, 6]);
  assertEquals(Array.from(flip(img, "horizontal").data), [3, 2, 1, 6, 5, 4]);
  assertEquals(Array.from(flip(img, "vertical").data), [4, 5, 6, 1, 2, 3]);
  assertEquals(Array.from(flip(img, "both").data), [6, 5, 4, 3, 2, 1]);
  assertEquals(Array.from(flip(rgb(2, 1, [1, 2, 3, 4, 5, 6]), "horizontal").data), [
    4,
    5,
    6,
    1,
    2,
    3,
  ]);
});

Deno.test("flip equals cv2.flip with codes 1, 0 and -1", () => {
  for (const c of ops.flip) {
    const img = inputImage(c);
    for (
      const [axis, code] of [["horizontal", "code1"], ["vertical", "code0"], [
        "both",
        "code-1",
      ]] as const
    ) {
      assertEquals(
        firstDifference(flip(img, axis).data, samples(c[code], c.dtype)),
        null,
        `${c.dtype} ${axis}`,
      );
    }
  }
});

Deno.test("pad by hand: constant border, value per channel, saturated to the sample type", () => {
  const p = pad(grey(1, [9, 8]), { top: 1, bottom: 0, left: 1, right: 1 }, 7);
  assertEquals([p.width, p.height, Array.from(p.data)], [3, 3, [7, 7, 7, 7, 9, 7, 7, 8, 7]]);
  assertEquals(Array.from(pad(grey(1, [1]), { top: 0, bottom: 0, left: 0, right: 1 }, 300).data), [
    1,
    255,
  ]);
  assertEquals(Array.from(pad(grey(1, [1]), { top: 0, bottom: 0, left: 0, right: 1 }, 2.5).data), [
    1,
    2,
  ]);
  const c = pad(rgb(1, 1, [1, 2, 3]), { top: 0, bottom: 0, left: 1, right: 0 }, [4, 5, 6]);
  assertEquals(Array.from(c.data), [4, 5, 6, 1, 2, 3]);
  assertThrows(
    () => pad(grey(1, [1]), { top: -1, bottom: 0, left: 0, right: 0 }),
    InvalidInputError,
  );
});

Deno.test("pad equals cv2.copyMakeBorder BORDER_CONSTANT (8/16-bit, int16, float32, colour)", () => {
  for (const c of ops.pad) {
    const out = pad(inputImage(c), c, c.value);
    const name = `${c.dtype} x${c.channels} value ${c.value}`;
    assertEquals(
      [out.width, out.height],
      [c.width + c.left + c.right, c.height + c.top + c.bottom],
      name,
    );
    assertEquals(firstDifference(out.data, samples(c.output, c.dtype)), null, name);
  }
});

Deno.test("minMaxNormalize by hand: min -> alpha, max -> beta, flat -> alpha, rounding ties to even", () => {
  assertEquals(Array.from(minMaxNormalize(grey(3, [0, 10, 20])).data), [0, 0.5, 1]);
  // OpenCV's float32 scale (0.05 -> 0.0500000007) and fused multiply-add leave the minimum of
  // [10, 20, 30] at 2^-27, not 0: 10 * 0.0500000007 - 0.5 rounded once.
  assertEquals(Array.from(minMaxNormalize(grey(3, [10, 20, 30])).data), [2 ** -27, 0.5, 1]);
  // 0..4 onto 0..10: 0, 2.5, 5, 7.5, 10 -> uint8 0, 2, 5, 8, 10 (ties to even)
  assertEquals(Array.from(minMaxNormalize(grey(5, [0, 1, 2, 3, 4]), 0, 10, "uint8").data), [
    0,
    2,
    5,
    8,
    10,
  ]);
  assertEquals(Array.from(minMaxNormalize(grey(2, [5, 5]), 3, 9).data), [3, 3]);
  assertEquals(Array.from(minMaxNormalize(grey(2, [0, 1]), 1, 0).data), [0, 1]); // order of alpha, beta
});

Deno.test("minMaxNormalize equals cv2.normalize NORM_MINMAX into float32, uint8, uint16, int16", () => {
  for (const c of ops.normalize) {
    const out = minMaxNormalize(inputImage(c), c.alpha, c.beta, c.outDtype);
    const name = `${c.dtype} -> ${c.outDtype} [${c.alpha}, ${c.beta}]`;
    assertEquals(firstDifference(out.data, samples(c.output, c.outDtype)), null, name);
  }
});

Deno.test("threshold by hand: maxval where value > thresh; integer images floor thresh, round maxval", () => {
  assertEquals(Array.from(threshold(grey(4, [126, 127, 128, 255]), 127.5, 255).data), [
    0,
    0,
    255,
    255,
  ]);
  assertEquals(Array.from(threshold(grey(2, [0, 9]), -1, 300.4).data), [255, 255]);
  const f = {
    width: 3,
    height: 1,
    channels: 1 as const,
    data: Float32Array.of(0.1, 0.10000001, 0.2),
  };
  assertEquals(Array.from(threshold(f, 0.1, 1).data), [0, 1, 1]);
});

Deno.test("threshold equals cv2.threshold THRESH_BINARY (8/16-bit, int16, float32, colour)", () => {
  for (const c of ops.threshold) {
    const out = threshold(inputImage(c), c.thresh, c.maxval);
    const name = `${c.dtype} x${c.channels} thresh ${c.thresh} maxval ${c.maxval}`;
    assertEquals(firstDifference(out.data, samples(c.output, c.dtype)), null, name);
  }
});

Deno.test("ops refuse sample types OpenCV would not take here", () => {
  const ints = { width: 1, height: 1, channels: 1 as const, data: new Int32Array(1) };
  assertThrows(() => minMaxNormalize(ints), UnsupportedError);
  assertThrows(() => threshold(ints, 0, 1), UnsupportedError);
});
