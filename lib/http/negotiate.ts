/**
 * Answer format: `?format=` wins, else the Accept header (q-values honoured), else the route's
 * first offer. Formats are short names mapped to media types.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { BadInputError } from "../errors.ts";

/** Short format names and their media types. */
export const MEDIA_TYPES = {
  png: "image/png",
  json: "application/json",
  raw: "application/octet-stream",
  ndjson: "application/x-ndjson",
  text: "text/plain",
  seg: "application/dicom",
} as const;

/** One of the format names. */
export type Format = keyof typeof MEDIA_TYPES;

function parseAccept(header: string): { type: string; q: number }[] {
  return header.split(",").map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qp ? Number(qp.slice(2)) : 1;
    return { type: type.trim(), q: Number.isFinite(q) ? q : 0 };
  }).filter((a) => a.type !== "" && a.q > 0);
}

function matches(range: string, type: string): boolean {
  if (range === "*/*" || range === type) return true;
  return range.endsWith("/*") && type.startsWith(range.slice(0, -1));
}

/**
 * Picks the answer format among `offers` (first = default).
 * @example negotiate(c, ["png", "json", "raw"]) // "png" for Accept: *\/*
 */
export function negotiate<F extends Format>(c: Context, offers: readonly F[]): F {
  const asked = c.req.query("format");
  if (asked !== undefined) {
    if ((offers as readonly string[]).includes(asked)) return asked as F;
    throw new BadInputError(
      `format must be one of ${offers.join(", ")}, got ${JSON.stringify(asked)}`,
      { field: "format" },
    );
  }
  const header = c.req.header("accept");
  if (!header) return offers[0];
  const ranges = parseAccept(header);
  let best: F | undefined, bestQ = 0;
  for (const offer of offers) {
    for (const r of ranges) {
      // Prefer the route's own order among equal q-values; an exact type beats a wildcard.
      const q = matches(r.type, MEDIA_TYPES[offer])
        ? r.q + (r.type === MEDIA_TYPES[offer] ? 1e-3 : 0)
        : 0;
      if (q > bestQ) [best, bestQ] = [offer, q];
    }
  }
  if (best === undefined) {
    throw new HTTPException(406, {
      message: `none of the accepted types (${header}) can be produced; offered: ${
        offers.map((o) => MEDIA_TYPES[o]).join(", ")
      } (or ?format=${offers.join("|")})`,
    });
  }
  return best;
}
