import { assertEquals, assertThrows } from "@std/assert";
import { BadInputError, InvalidInputError } from "../../lib/errors.ts";
import {
  cocoCountsFromString,
  cocoCountsToRuns,
  cocoStringFromCounts,
  runsToCocoCounts,
} from "../../lib/rle/coco.ts";
import { formatKaggle, parseKaggle } from "../../lib/rle/kaggle.ts";
import { formatRle, maskToRuns, parseRle, parseRleUnion, runsToMask } from "../../lib/rle/mod.ts";
import { formatSiim, parseSiim } from "../../lib/rle/siim.ts";

Deno.test("siim: relative offsets from the end of the previous run", () => {
  assertEquals(Array.from(parseSiim("2 3 1 1", 100)), [2, 3, 6, 1]);
  assertEquals(formatSiim(Uint32Array.of(2, 3, 6, 1)), "2 3 1 1");
});

Deno.test("siim: -1 and ' -1' are an empty mask, written back as -1", () => {
  assertEquals(parseSiim("-1", 100).length, 0);
  assertEquals(parseSiim(" -1", 100).length, 0);
  assertEquals(formatSiim(new Uint32Array(0)), "-1");
});

Deno.test("siim: bad input names the problem", () => {
  assertThrows(() => parseSiim("1 2 3", 100), BadInputError, "odd number of tokens (3)");
  assertThrows(() => parseSiim("1 2 q 4", 100), BadInputError, "token 3 ('q')");
  assertThrows(
    () => parseSiim("90 5 3 4", 100),
    InvalidInputError,
    "run 2 (start 98, length 4) ends at pixel 102, past width*height = 100",
  );
  assertThrows(() => parseSiim("-2 4", 100), BadInputError, "token 1 ('-2')");
});

Deno.test("kaggle: 1-based absolute starts, hand-checked on a 3x3 column-major mask", () => {
  // Column 0 rows 1-2 and column 2 row 0: column-major pixels 1, 2 and 6 -> "2 2 7 1".
  const mask = Uint8Array.of(0, 0, 1, 1, 0, 0, 1, 0, 0);
  const runs = maskToRuns(mask, 3, 3, "column");
  assertEquals(formatKaggle(runs), "2 2 7 1");
  assertEquals(runsToMask([parseKaggle("2 2 7 1", 9)], 3, 3, "column"), mask);
  assertEquals(formatKaggle(new Uint32Array(0)), "");
  assertThrows(() => parseKaggle("0 2", 9), InvalidInputError, "kaggle starts are 1-based");
  assertThrows(() => parseKaggle("8 3", 9), InvalidInputError, "past width*height = 9");
});

// Vectors are pycocotools' own outputs as pinned by pytorchcocotools' test suite (25x25 masks
// with mask[a:b, c:d] = 1, and rleFrString/rleToString round trips).
function box(r0: number, r1: number, c0: number, c1: number, h = 25, w = 25): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = r0; y < r1; y++) for (let x = c0; x < c1; x++) m[y * w + x] = 1;
  return m;
}
const COCO_VECTORS: [string, Uint8Array][] = [
  ["05d00000000d?", box(0, 5, 0, 5)],
  ["R45d00000000b;", box(5, 10, 5, 10)],
  ["X`05d00000000", box(20, 25, 20, 25)],
  ["0ac0", box(0, 25, 0, 25)],
  ["R4:?00000000000000000e7", box(5, 15, 5, 15)],
  ["V<5d00000000^3", box(15, 20, 15, 20)],
];

Deno.test("coco: compressed strings equal pycocotools' for known masks, both ways", () => {
  for (const [expected, mask] of COCO_VECTORS) {
    const runs = maskToRuns(mask, 25, 25, "column");
    assertEquals(formatRle(runs, "coco", 25, 25), { size: [25, 25], counts: expected });
    assertEquals(
      runsToMask(
        [parseRle({ size: [25, 25], counts: expected }, "coco", 25, 25)],
        25,
        25,
        "column",
      ),
      mask,
    );
  }
});

Deno.test("coco: union of two touching squares equals pycocotools merge", () => {
  const runs = parseRleUnion(["R45d00000000b;", "V<5d00000000^3"], "coco", 25, 25);
  const both = box(5, 10, 5, 10);
  box(15, 20, 15, 20).forEach((v, i) => (both[i] |= v));
  assertEquals(runsToMask([runs], 25, 25, "column"), both);
  // pycocotools merge([box 5:10, box 10:15]) as pinned upstream:
  const merged = parseRleUnion(["R45d00000000b;"], "coco", 25, 25);
  const other = maskToRuns(box(10, 15, 10, 15), 25, 25, "column");
  const union = parseRleUnion(
    [formatRle(merged, "coco", 25, 25), formatRle(other, "coco", 25, 25)],
    "coco",
    25,
    25,
  );
  assertEquals(formatRle(union, "coco", 25, 25), {
    size: [25, 25],
    counts: "R45d0000000050K0000000`7",
  });
});

Deno.test("coco: a real 427x640 annotation string survives decode and re-encode unchanged", () => {
  const s = "\\`_3;j<6M3E_OjCd0T<:O1O2O001O00001O00001O001O0000O1K6J5J6A^C0g<N=O001O0O2Omk^4";
  const counts = cocoCountsFromString(s);
  assertEquals(counts.reduce((a, b) => a + b, 0), 427 * 640);
  assertEquals(cocoStringFromCounts(counts), s);
  const runs = cocoCountsToRuns(counts, 427 * 640);
  assertEquals(runsToCocoCounts(runs, 427 * 640), counts);
});

Deno.test("coco: uncompressed counts arrays and their errors", () => {
  assertEquals(Array.from(cocoCountsToRuns([2, 3, 1, 4], 10)), [2, 3, 6, 4]);
  assertEquals(runsToCocoCounts(Uint32Array.of(2, 3, 6, 4), 10), [2, 3, 1, 4]);
  assertEquals(runsToCocoCounts(new Uint32Array(0), 10), [10]);
  assertEquals(formatRle(Uint32Array.of(2, 3), "coco", 5, 2, "array"), {
    size: [2, 5],
    counts: [2, 3, 5],
  });
  assertThrows(
    () => cocoCountsToRuns([5, 7], 10),
    InvalidInputError,
    "counts sum past width*height = 10 at count 2",
  );
  assertThrows(() => cocoCountsToRuns([1, -1], 10), BadInputError, "count 2 (-1)");
  assertThrows(() => cocoCountsFromString("0a~"), BadInputError, "character 3 ('~')");
  assertThrows(() => cocoCountsFromString("0b"), BadInputError, "end inside a value");
  assertThrows(
    () => parseRle({ size: [3, 4], counts: [12] }, "coco", 3, 3),
    InvalidInputError,
    "does not match",
  );
});

Deno.test("row order reads pixels row by row", () => {
  const runs = parseRle("2 3", "kaggle", 3, 2);
  assertEquals(Array.from(runsToMask([runs], 3, 2, "row")), [0, 1, 1, 1, 0, 0]);
  assertEquals(Array.from(runsToMask([runs], 3, 2, "column")), [0, 1, 0, 1, 1, 0]);
});
