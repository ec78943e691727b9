import { assert, assertEquals, assertThrows } from "@std/assert";
import { mapBack, Steps } from "../../lib/pipelines/steps.ts";

Deno.test("Steps times each step, checks between steps and stops where check throws", () => {
  const seen: string[] = [];
  const run = new Steps({
    check: (s) => {
      seen.push(s);
      if (s === "b") throw new Error(`stopped after ${s}`);
    },
  });
  assertEquals(run.step("a", () => 1), 1);
  assertThrows(() => run.step("b", () => 2), Error, "stopped after b");
  assertEquals(seen, ["a", "b"]);
  assertEquals(Object.keys(run.timings), ["a", "b"]);
  assert(Object.values(run.timings).every((ms) => ms >= 0));
});

Deno.test("Steps keeps intermediates only when asked, and never builds them otherwise", () => {
  let built = 0;
  const off = new Steps<number>();
  off.keep("x", () => ++built);
  assertEquals([off.kept.length, built], [0, 0]);
  const on = new Steps<number>({ keep: true });
  on.keep("x", () => ++built);
  assertEquals(on.kept, [{ name: "x", image: 1 }]);
});

Deno.test("mapBack undoes crop, flip, pad and resize in reverse order", () => {
  // 5x4 input; crop columns 1..4, rows 1..3 -> 3x2; flip x; pad into 3x3 at (0,0); resize to 6x6.
  const w = 5, h = 4;
  const input = Uint8Array.from({ length: w * h }, (_, i) => i + 1);
  const box = { x0: 1, y0: 1, x1: 4, y1: 3 };
  const run = new Steps();
  run.geometric({ step: "crop", kind: "crop", from: [w, h], box });
  run.geometric({ step: "flip", kind: "flip", axis: "x", size: [3, 2] });
  run.geometric({ step: "pad", kind: "pad", from: [3, 2], to: [3, 3], at: [0, 0] });
  run.geometric({ step: "resize", kind: "resize", from: [3, 3], to: [6, 6] });
  // Forward by hand: crop, flip, pad, nearest x2.
  const cropped = [7, 8, 9, 12, 13, 14];
  const flipped = [9, 8, 7, 14, 13, 12];
  const padded = [...flipped, 0, 0, 0];
  const big = new Uint8Array(36);
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 6; x++) big[y * 6 + x] = padded[(y >> 1) * 3 + (x >> 1)];
  }
  const back = mapBack(run.geometry, { width: 6, height: 6, data: big });
  assertEquals([back.width, back.height], [w, h]);
  const expected = new Uint8Array(w * h);
  for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) expected[y * w + x] = input[y * w + x];
  assertEquals(back.data, expected);
  assertEquals(cropped.length, 6);
  // A result of the wrong size names the step it cannot undo.
  assertThrows(
    () => mapBack(run.geometry, { width: 5, height: 6, data: new Uint8Array(30) }),
    Error,
    "step resize made 6x6",
  );
});
