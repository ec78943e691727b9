/**
 * Per-image summaries of a whole RLE CSV (SIIM `train-rle.csv`: `ImageId, EncodedPixels`, with or
 * without the header, a BOM, CRLF), read as a stream with csv-parse. Several rows of one ImageId are
 * merged by union, as the seed's `encoded_pixels_list`. In the default grouping ("all") the CSV text
 * is never held, only each image's runs packed as delta varints (2-3 bytes a run on SIIM, about a
 * third of the text), because rows of one image can be thousands of lines apart (906 such images in
 * the SIIM CSV); "contiguous" keeps one image at a time and emits each as soon as its rows end, for
 * CSVs grouped by image.
 */
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { BadInputError, MedimgError, PayloadTooLargeError } from "../errors.ts";
import { type Dialect, parseRle } from "./mod.ts";
import { type MaskSummary, mergeRuns, type Order, summarizeRuns } from "./runs.ts";

/** One output line. */
export interface ImageSummary {
  ImageId: string;
  rows: number;
  has_mask: boolean;
  area: number;
  bbox: MaskSummary["bbox"];
  errors: string[];
}

/** How rows are grouped into images. */
export type Grouping = "all" | "contiguous";

/** Options of {@link summarizeCsv}. */
export interface BatchOptions {
  width: number;
  height: number;
  dialect: Dialect;
  order: Order;
  grouping: Grouping;
  /** Largest state kept in "all" grouping, in bytes (runs + ids); over it -> PayloadTooLargeError. */
  stateLimit: number;
}

interface Group {
  id: string;
  rows: number;
  /** One packed run list per row (see packRuns). */
  runs: Uint8Array[];
  errors: string[];
}

/** Runs as LEB128 varints of (gap from the previous run's end, length): starts are sorted per row. */
export function packRuns(runs: Uint32Array): Uint8Array {
  const out = new Uint8Array(runs.length * 5);
  let p = 0, end = 0;
  for (let i = 0; i < runs.length; i++) {
    let v = i % 2 === 0 ? runs[i] - end : runs[i];
    if (i % 2 === 1) end = runs[i - 1] + runs[i];
    while (v >= 0x80) {
      out[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[p++] = v;
  }
  return out.slice(0, p);
}

/** Inverse of {@link packRuns}. */
export function unpackRuns(packed: Uint8Array): Uint32Array {
  const values: number[] = [];
  let v = 0, shift = 0, end = 0;
  for (const b of packed) {
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b & 0x80) continue;
    if (values.length % 2 === 0) values.push(end + v);
    else {
      values.push(v);
      end = values[values.length - 2] + v;
    }
    v = 0;
    shift = 0;
  }
  return Uint32Array.from(values);
}

function finish(g: Group, o: BatchOptions): ImageSummary {
  const s = summarizeRuns(mergeRuns(g.runs.map(unpackRuns)), o.width, o.height, o.order);
  return {
    ImageId: g.id,
    rows: g.rows,
    has_mask: s.area > 0,
    area: s.area,
    bbox: s.bbox,
    errors: g.errors,
  };
}

/**
 * Streams summaries, one per ImageId in order of first appearance.
 * @example for await (const line of summarizeCsv(body, opts)) console.log(line)
 */
export async function* summarizeCsv(
  body: ReadableStream<Uint8Array>,
  o: BatchOptions,
): AsyncGenerator<ImageSummary> {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    info: true,
  });
  const source = Readable.fromWeb(body as import("node:stream/web").ReadableStream);
  source.on("error", (err) => parser.destroy(err));
  source.pipe(parser);

  const groups = new Map<string, Group>();
  let current: Group | undefined;
  let state = 0;
  let first = true;
  try {
    for await (
      const { record, info } of parser as AsyncIterable<
        { record: string[]; info: { lines: number } }
      >
    ) {
      const line = info.lines;
      const [id = "", rle] = record;
      if (first) {
        first = false;
        if (id.toLowerCase() === "imageid") continue;
      }
      if (o.grouping === "contiguous" && current && current.id !== id) {
        yield finish(current, o);
        current = undefined;
      }
      let g = o.grouping === "all" ? groups.get(id) : current;
      if (!g) {
        g = { id, rows: 0, runs: [], errors: [] };
        if (o.grouping === "all") groups.set(id, g);
        else current = g;
        state += 64 + 2 * id.length;
      }
      g.rows++;
      if (id === "") g.errors.push(`line ${line}: empty ImageId`);
      if (rle === undefined) {
        g.errors.push(`line ${line}: no EncodedPixels column`);
        continue;
      }
      try {
        const runs = parseRle(rle, o.dialect, o.width, o.height, `line ${line}`);
        if (runs.length > 0) {
          // Kaggle and COCO rows may list runs out of order; packing needs them sorted.
          const packed = packRuns(o.dialect === "siim" ? runs : mergeRuns([runs]));
          g.runs.push(packed);
          state += packed.byteLength;
        }
      } catch (err) {
        if (!(err instanceof MedimgError)) throw err;
        g.errors.push(err.message);
      }
      if (o.grouping === "all" && state > o.stateLimit) {
        throw new PayloadTooLargeError(
          `the CSV's masks need more than ${o.stateLimit} bytes to merge across the whole file; ` +
            "send it grouped by ImageId with grouping=contiguous, or in parts",
          { limit: o.stateLimit },
        );
      }
    }
  } catch (err) {
    if (err instanceof MedimgError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof MedimgError) throw cause;
    throw new BadInputError(`CSV could not be read: ${(err as Error).message}`);
  }
  if (current) yield finish(current, o);
  for (const g of groups.values()) yield finish(g, o);
}
