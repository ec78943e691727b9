/** lib/image/measure.ts and lib/image/overlay.ts: the one area/bbox, Dice/IoU and mask overlay. */
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { diceScore, measureMask, overlapScores } from "../../lib/image/measure.ts";
import { overlayMask } from "../../lib/image/overlay.ts";

Deno.test("measureMask: area, mm² from [row, column] spacing, inclusive bbox; null for empty", () => {
  // 4 x 3, pixels at (1, 0), (2, 2)
  const m = Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0);
  assertEquals(measureMask(m, 4, 3, [0.5, 2]), {
    area: 2,
    mm2: 2,
    bbox: { x: 1, y: 0, width: 2, height: 3 },
  });
  assertEquals(measureMask(new Uint8Array(12), 4, 3), { area: 0, mm2: null, bbox: null });
});

Deno.test("diceScore: the one formula; overlapScores and the seed's eps form agree with it", () => {
  assertAlmostEquals(diceScore(1, 2, 1), 2 / 3, 1e-15);
  assertEquals(diceScore(0, 0, 0), 1);
  assertEquals(diceScore(0, 0, 0, 1e-5), 1);
  assertEquals(diceScore(3, 4, 5, 1e-5), (2 * 3 + 1e-5) / (4 + 5 + 1e-5));
  const a = Uint8Array.of(1, 1, 0, 1), b = Uint8Array.of(1, 0, 1, 1);
  assertEquals(overlapScores(a, b).dice, diceScore(2, 3, 3));
});

Deno.test("overlayMask: min..max to 0..255, the mask half way to red; RGB keeps its colours", () => {
  assertEquals(
    overlayMask({ data: Float32Array.of(0, 1), channels: 1 }, Uint8Array.of(1, 0)),
    Uint8Array.of(128, 0, 0, 255, 255, 255),
  );
  assertEquals(
    overlayMask({ data: Uint8Array.of(0, 10, 20, 20, 10, 0), channels: 3 }, Uint8Array.of(0, 1)),
    Uint8Array.of(0, 128, 255, 255, 64, 0),
  );
});
