import { assertEquals } from "@std/assert";
import { dilate, erode, morphologyClose, morphologyOpen } from "../../lib/image/morphology.ts";
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
