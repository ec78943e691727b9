/**
 * COCO RLE as pycocotools writes it: `counts` alternate background and foreground run lengths,
 * starting with background, column-major over an image of `size` [height, width]; either an array
 * (uncompressed, iscrowd annotations) or the compressed string of `rleToString` in maskApi.c
 * (LEB128-like, 5 bits per char from '0', counts after the second stored as deltas).
 */
import { BadInputError, InvalidInputError } from "../errors.ts";

/**
 * Counts (array) to absolute runs. Counts summing to less than the image leave the rest empty.
 * @example cocoCountsToRuns([2, 3, 1, 4], 10) // Uint32Array [2, 3, 6, 4]
 */
export function cocoCountsToRuns(counts: number[], total: number, field = "rle"): Uint32Array {
  const out: number[] = [];
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!Number.isSafeInteger(c) || c < 0) {
      throw new BadInputError(
        `${field}: count ${i + 1} (${JSON.stringify(c)}) is not a non-negative integer`,
        { field, token: i + 1 },
      );
    }
    if (pos + c > total) {
      throw new InvalidInputError(
        `${field}: counts sum past width*height = ${total} at count ${i + 1}`,
        { field, token: i + 1 },
      );
    }
    if (i % 2 === 1 && c > 0) out.push(pos, c);
    pos += c;
  }
  return Uint32Array.from(out);
}

/**
 * Merged runs to counts that cover the whole image (what pycocotools' encode gives).
 * @example runsToCocoCounts(Uint32Array.of(2, 3, 6, 4), 10) // [2, 3, 1, 4]
 */
export function runsToCocoCounts(runs: Uint32Array, total: number): number[] {
  const counts: number[] = [];
  let pos = 0;
  for (let i = 0; i < runs.length; i += 2) {
    counts.push(runs[i] - pos, runs[i + 1]);
    pos = runs[i] + runs[i + 1];
  }
  if (pos < total || counts.length === 0) counts.push(total - pos);
  return counts;
}

/**
 * Compressed COCO string from counts (pycocotools `rleToString`).
 * @example cocoStringFromCounts([2, 3, 1, 4]) // "23144"? see tests for checked vectors
 */
export function cocoStringFromCounts(counts: number[]): string {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x = Math.floor(x / 32); // arithmetic shift that stays exact past 2^31
      more = (c & 0x10) ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/**
 * Counts from a compressed COCO string (pycocotools `rleFrString`).
 * @example cocoCountsFromString("52203") // see tests
 */
export function cocoCountsFromString(s: string, field = "rle"): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) {
        throw new BadInputError(`${field}: compressed COCO counts end inside a value`, { field });
      }
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) {
        throw new BadInputError(
          `${field}: character ${p + 1} ('${s[p]}') is not a COCO RLE character ('0' to 'o')`,
          { field, token: p + 1 },
        );
      }
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10)) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}
