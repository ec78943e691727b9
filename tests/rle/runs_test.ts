import { assertEquals, assertThrows } from "@std/assert";
import { BadInputError, InvalidInputError } from "../../lib/errors.ts";
import {
  maskToRuns,
  mergeRuns,
  parseTokens,
  runsToMask,
  summarizeRuns,
} from "../../lib/rle/runs.ts";

Deno.test("parseTokens reads integers across spaces, tabs and newlines", () => {
  assertEquals(parseTokens(" 1  22\t333\r\n4 ", "rle"), [1, 22, 333, 4]);
  assertEquals(parseTokens("", "rle"), []);
});

Deno.test("parseTokens names the bad token and its position", () => {
  assertThrows(() => parseTokens("1 2 x3 4", "rle"), BadInputError, "token 3 ('x3')");
  assertThrows(
    () => parseTokens("1 -2", "rle"),
    BadInputError,
    "token 2 ('-2') is not a non-negative integer",
  );
  assertThrows(() => parseTokens("1.5 2", "rle"), BadInputError, "token 1 ('1.5')");
});

Deno.test("runsToMask paints column-major runs down columns of a row-major mask", () => {
  // 3 wide, 2 high; column-major pixel k is (row k % 2, column k / 2).
  const mask = runsToMask([Uint32Array.of(1, 3)], 3, 2, "column");
  assertEquals(Array.from(mask), [0, 1, 0, 1, 1, 0]);
  assertEquals(Array.from(runsToMask([Uint32Array.of(1, 3)], 3, 2, "row", 255)), [
    0,
    255,
    255,
    255,
    0,
    0,
  ]);
});

Deno.test("runsToMask unions several lists", () => {
  const mask = runsToMask([Uint32Array.of(0, 1), Uint32Array.of(0, 2, 5, 1)], 3, 2, "row");
  assertEquals(Array.from(mask), [1, 1, 0, 0, 0, 1]);
});

Deno.test("maskToRuns is the inverse of runsToMask in both orders, including a run to the last pixel", () => {
  const mask = Uint8Array.of(1, 1, 0, 0, 1, 1);
  assertEquals(Array.from(maskToRuns(mask, 3, 2, "row")), [0, 2, 4, 2]);
  assertEquals(Array.from(maskToRuns(mask, 3, 2, "column")), [0, 1, 2, 2, 5, 1]);
  for (const order of ["row", "column"] as const) {
    assertEquals(runsToMask([maskToRuns(mask, 3, 2, order)], 3, 2, order), mask);
  }
  assertEquals(Array.from(maskToRuns(new Uint8Array(6), 3, 2, "column")), []);
});

Deno.test("mergeRuns sorts, merges overlapping and touching runs, drops empty ones", () => {
  assertEquals(Array.from(mergeRuns([Uint32Array.of(5, 2, 0, 3), Uint32Array.of(3, 2, 9, 0)])), [
    0,
    7,
  ]);
  assertEquals(Array.from(mergeRuns([Uint32Array.of(0, 2, 4, 2), Uint32Array.of(1, 1)])), [
    0,
    2,
    4,
    2,
  ]);
  assertEquals(Array.from(mergeRuns([])), []);
});

Deno.test("summarizeRuns gives the seed's bounding_box without making a mask", () => {
  // 4x4 column-major: run 5..6 is column 1 rows 1-2; run 14..17 wraps from column 3 row 2 -> past.
  const s = summarizeRuns(Uint32Array.of(5, 2), 4, 4, "column");
  assertEquals(s, { area: 2, bbox: { rmin: 1, rmax: 2, cmin: 1, cmax: 1 }, runs: 1 });
  const wrap = summarizeRuns(Uint32Array.of(3, 2), 4, 4, "column"); // (3,0) and (0,1)
  assertEquals(wrap.bbox, { rmin: 0, rmax: 3, cmin: 0, cmax: 1 });
  const row = summarizeRuns(Uint32Array.of(5, 2), 4, 4, "row");
  assertEquals(row.bbox, { rmin: 1, rmax: 1, cmin: 1, cmax: 2 });
  assertEquals(summarizeRuns(new Uint32Array(0), 4, 4, "column"), { area: 0, bbox: null, runs: 0 });
});

Deno.test("summarizeRuns agrees with a mask scan on random masks", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 200; t++) {
    const w = 1 + Math.floor(rand() * 9), h = 1 + Math.floor(rand() * 9);
    const p = rand();
    const mask = Uint8Array.from({ length: w * h }, () => (rand() < p * 0.5 ? 1 : 0));
    for (const order of ["row", "column"] as const) {
      const s = summarizeRuns(maskToRuns(mask, w, h, order), w, h, order);
      let area = 0, rmin = h, rmax = -1, cmin = w, cmax = -1;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (!mask[y * w + x]) continue;
          area++;
          rmin = Math.min(rmin, y), rmax = Math.max(rmax, y);
          cmin = Math.min(cmin, x), cmax = Math.max(cmax, x);
        }
      }
      assertEquals(s.area, area);
      assertEquals(s.bbox, area ? { rmin, rmax, cmin, cmax } : null);
    }
  }
});

Deno.test("errors are typed: malformed is BadInputError, out of range is InvalidInputError", () => {
  assertThrows(() => parseTokens("a", "rle"), BadInputError);
  assertEquals(new InvalidInputError("x").code, "invalid-input");
});

Deno.test("packRuns/unpackRuns round-trip runs with gaps and lengths of every varint width", async () => {
  const { packRuns, unpackRuns } = await import("../../lib/rle/batch.ts");
  const runs = Uint32Array.of(0, 1, 1, 127, 128, 128, 20000, 16384, 2 ** 28, 2 ** 31);
  const packed = packRuns(runs);
  assertEquals(unpackRuns(packed), runs);
  assertEquals(packRuns(Uint32Array.of(5, 3)).length, 2);
  assertEquals(unpackRuns(packRuns(new Uint32Array(0))).length, 0);
});
