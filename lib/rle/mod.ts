/**
 * Run-length masks in the dialects this field uses (siim, kaggle, coco), parsed to one run form
 * and formatted back. Decode, encode and summaries for the rle function and anyone else.
 */
import { BadInputError, InvalidInputError } from "../errors.ts";
import {
  cocoCountsFromString,
  cocoCountsToRuns,
  cocoStringFromCounts,
  runsToCocoCounts,
} from "./coco.ts";
import { formatKaggle, parseKaggle } from "./kaggle.ts";
import { mergeRuns, type Order } from "./runs.ts";
import { formatSiim, parseSiim } from "./siim.ts";

export { maskToRuns, mergeRuns, runsToMask, summarizeRuns } from "./runs.ts";
export type { MaskSummary, Order } from "./runs.ts";

/** The RLE dialects we read and write. */
export const DIALECTS = ["siim", "kaggle", "coco"] as const;
/** One of {@link DIALECTS}. */
export type Dialect = typeof DIALECTS[number];

/** A COCO RLE object as pycocotools stores it. */
export interface CocoRle {
  size: [number, number];
  counts: number[] | string;
}

/** What a caller may send as one RLE: a string, a COCO counts array, or a COCO object. */
export type RleInput = string | number[] | CocoRle;

/** Default largest width or height accepted (MEDIMG_MAX_DIMENSION overrides it). */
export const DEFAULT_MAX_DIMENSION = 16384;

/**
 * Validates width and height: positive integers no larger than `max`.
 * @example checkSize(1024, 1024) // ok
 */
export function checkSize(width: number, height: number, max = DEFAULT_MAX_DIMENSION): void {
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidInputError(`${name} must be a positive integer, got ${v}`, { field: name });
    }
    if (v > max) {
      throw new InvalidInputError(`${name} ${v} is over the limit of ${max}`, {
        field: name,
        limit: max,
      });
    }
  }
}

function isCocoObject(v: unknown): v is CocoRle {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "counts" in v;
}

/**
 * Parses one RLE of the given dialect to absolute 0-based runs in scan order.
 * @example parseRle("2 3", "siim", 10, 10) // Uint32Array [2, 3]
 */
export function parseRle(
  rle: RleInput,
  dialect: Dialect,
  width: number,
  height: number,
  field = "rle",
): Uint32Array {
  const total = width * height;
  if (dialect === "coco") {
    let counts = rle;
    if (isCocoObject(rle)) {
      const [h, w] = rle.size ?? [];
      if (rle.size !== undefined && (h !== height || w !== width)) {
        throw new InvalidInputError(
          `${field}: COCO size [${h}, ${w}] does not match height ${height}, width ${width}`,
          { field },
        );
      }
      counts = rle.counts;
    }
    if (typeof counts === "string") {
      return cocoCountsToRuns(cocoCountsFromString(counts, field), total, field);
    }
    if (Array.isArray(counts)) return cocoCountsToRuns(counts, total, field);
    throw new BadInputError(`${field}: COCO counts must be an array of integers or a string`, {
      field,
    });
  }
  if (typeof rle !== "string") {
    throw new BadInputError(`${field}: a ${dialect} RLE must be a string`, { field });
  }
  return dialect === "siim" ? parseSiim(rle, total, field) : parseKaggle(rle, total, field);
}

/**
 * Parses and unions several RLEs of one image (the seed's `encoded_pixels_list`).
 * @example parseRleUnion(["2 3", "1 1"], "siim", 10, 10) // Uint32Array [1, 4]
 */
export function parseRleUnion(
  rles: RleInput[],
  dialect: Dialect,
  width: number,
  height: number,
): Uint32Array {
  const lists = rles.map((r, i) =>
    parseRle(r, dialect, width, height, rles.length > 1 ? `rle[${i}]` : "rle")
  );
  return mergeRuns(lists);
}

/** How COCO RLE is written: compressed string (pycocotools default) or counts array. */
export type CocoForm = "string" | "array";

/**
 * Formats merged runs in a dialect.
 * @example formatRle(Uint32Array.of(2, 3), "kaggle", 10, 10) // "3 3"
 */
export function formatRle(
  runs: Uint32Array,
  dialect: Dialect,
  width: number,
  height: number,
  cocoForm: CocoForm = "string",
): string | CocoRle {
  if (dialect === "siim") return formatSiim(runs);
  if (dialect === "kaggle") return formatKaggle(runs);
  const counts = runsToCocoCounts(runs, width * height);
  return {
    size: [height, width],
    counts: cocoForm === "array" ? counts : cocoStringFromCounts(counts),
  };
}

/** Parses an `order` parameter. */
export function parseOrder(v: string | undefined): Order {
  if (v === undefined || v === "" || v === "column" || v === "col") return "column";
  if (v === "row") return "row";
  throw new BadInputError(`order must be "column" or "row", got ${JSON.stringify(v)}`, {
    field: "order",
  });
}

/** Parses a `dialect` parameter. */
export function parseDialect(v: string | undefined): Dialect {
  if (v === undefined || v === "") return "siim";
  if ((DIALECTS as readonly string[]).includes(v)) return v as Dialect;
  throw new BadInputError(
    `dialect must be one of ${DIALECTS.join(", ")}, got ${JSON.stringify(v)}`,
    { field: "dialect" },
  );
}

/**
 * The RLEs a request sent as `rle`: one string, a list merged by union, or (coco) a counts array or
 * a {size, counts} object.
 * @example rleInputs(["1 2", "5 1"], "siim") // two RLEs, merged by parseRleUnion
 */
export function rleInputs(value: unknown, dialect: string): RleInput[] {
  if (value === undefined || value === null) {
    throw new BadInputError("rle is required", { field: "rle" });
  }
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) {
    // A COCO counts array is one RLE; any other array is a list of RLEs merged by union.
    if (dialect === "coco" && value.every((v) => typeof v === "number")) return [value as number[]];
    if (value.length === 0) throw new BadInputError("rle is an empty list", { field: "rle" });
    return value as RleInput[];
  }
  if (dialect === "coco" && typeof value === "object") return [value as RleInput];
  throw new BadInputError("rle must be a string or a list of strings", { field: "rle" });
}
