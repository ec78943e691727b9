/**
 * Kaggle-style RLE: pairs `start length` with absolute 1-based starts, column-major by default
 * (the `rle_encode`/`rle_decode` of most Kaggle segmentation contests). An empty mask is "".
 */
import { InvalidInputError } from "../errors.ts";
import { parseTokens, requireInside, requirePairs } from "./runs.ts";

/**
 * Parses Kaggle RLE to absolute 0-based runs (in the order given; unsorted runs are allowed).
 * @example parseKaggle("1 3 10 2", 100) // Uint32Array [0, 3, 9, 2]
 */
export function parseKaggle(text: string, total: number, field = "rle"): Uint32Array {
  const t = parseTokens(text, field);
  requirePairs(t, field);
  const runs = new Uint32Array(t.length);
  for (let i = 0; i < t.length; i += 2) {
    if (t[i] === 0) {
      throw new InvalidInputError(
        `${field}: run ${i / 2 + 1} starts at 0, but kaggle starts are 1-based`,
        { field, run: i / 2 + 1 },
      );
    }
    requireInside(t[i] - 1, t[i + 1], total, field, i / 2 + 1);
    runs[i] = t[i] - 1;
    runs[i + 1] = t[i + 1];
  }
  return runs;
}

/**
 * Formats merged runs as Kaggle RLE.
 * @example formatKaggle(Uint32Array.of(0, 3, 9, 2)) // "1 3 10 2"
 */
export function formatKaggle(runs: Uint32Array): string {
  const parts: number[] = [];
  for (let i = 0; i < runs.length; i += 2) parts.push(runs[i] + 1, runs[i + 1]);
  return parts.join(" ");
}
