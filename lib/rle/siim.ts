/**
 * SIIM-ACR pneumothorax RLE: pairs `offset length` where each offset counts from the end of the
 * previous run (the first from pixel 0); `-1` (also ` -1`) is an empty mask. Matches the seed's
 * `rle2mask` and the competition's `mask2rle` (mask_functions.py).
 */
import { parseTokens, requireInside, requirePairs } from "./runs.ts";

/**
 * Parses a SIIM RLE string to absolute runs.
 * @example parseSiim("2 3 1 1", 100) // Uint32Array [2, 3, 6, 1]
 */
export function parseSiim(text: string, total: number, field = "rle"): Uint32Array {
  if (text.trim() === "-1") return new Uint32Array(0);
  const t = parseTokens(text, field);
  requirePairs(t, field);
  const runs = new Uint32Array(t.length);
  let pos = 0;
  for (let i = 0; i < t.length; i += 2) {
    const start = pos + t[i];
    requireInside(start, t[i + 1], total, field, i / 2 + 1);
    runs[i] = start;
    runs[i + 1] = t[i + 1];
    pos = start + t[i + 1];
  }
  return runs;
}

/**
 * Formats merged runs as SIIM RLE; an empty mask is `-1`.
 * @example formatSiim(Uint32Array.of(2, 3, 6, 1)) // "2 3 1 1"
 */
export function formatSiim(runs: Uint32Array): string {
  if (runs.length === 0) return "-1";
  const parts: number[] = [];
  let pos = 0;
  for (let i = 0; i < runs.length; i += 2) {
    parts.push(runs[i] - pos, runs[i + 1]);
    pos = runs[i] + runs[i + 1];
  }
  return parts.join(" ");
}
