/**
 * Query parameters: declared once in zod, in the route's `request.query`, and validated by that same
 * declaration before the handler runs (the handler reads the result with {@link validQuery}).
 *
 * The status rule for parameters:
 * - **400** when a value breaks the route's published contract: not of the declared type, outside
 *   a declared enum or the boolean set, outside a declared minimum/maximum, a parameter repeated
 *   that is not a list. The document says what is allowed, and the problem's `field` names it.
 * - **422** when every value follows the contract but cannot be applied to this input or this
 *   deployment: a frame past the last one, runs past the image, a size over a MEDIMG_* limit, a
 *   tile overlap not smaller than the tile, a model of the wrong kind.
 *
 * Booleans take one set on every route: `1` or `true` is on, `0` or `false` is off, absent is the
 * route's default. Anything else, a bare `?overlay` (empty value) included, is a 400.
 */
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";

/** The values every boolean query parameter (and multipart boolean field) accepts. */
export const FLAG_VALUES = ["1", "0", "true", "false"] as const;

/** What a boolean parameter's documentation says about its values. */
const FLAG_TEXT = "1 or true: on; 0 or false: off";

/**
 * A boolean query parameter (1/0/true/false), documented as a boolean; `absent` says what leaving
 * it out means.
 * @example flagQuery("on: add the overlay") // "?overlay=true" -> true
 */
export function flagQuery(description: string, absent = "absent: off") {
  return z.stringbool({ truthy: ["1", "true"], falsy: ["0", "false"] }).optional().openapi({
    type: "boolean",
    description:
      `${description} (${FLAG_TEXT}; ${absent}; the bare name without a value is refused)`,
  });
}

/**
 * A boolean from a form field or JSON member, by the same rule as {@link flagQuery} (JSON may also
 * say true/false as a boolean).
 */
export const FLAG_VALUE = z.union([
  z.boolean(),
  z.stringbool({ truthy: ["1", "true"], falsy: ["0", "false"] }),
]);

/**
 * One of a few values, case and surrounding space ignored (DICOM code strings such as PA/AP), kept
 * as sent; documented as an enum. Anything else is a 400 naming `name` and the values.
 * @example caselessEnum("view", ["PA", "AP"], "ViewPosition") // "?view=pa" passes as "pa"
 */
export function caselessEnum(name: string, values: readonly string[], description: string) {
  const allowed = new Set(values.map((v) => v.toUpperCase()));
  const list = values.length === 2 ? values.join(" or ") : `one of ${values.join(", ")}`;
  return z.string()
    .refine((v) => allowed.has(v.trim().toUpperCase()), {
      error: (i) => `${name} must be ${list} (case ignored), got ${JSON.stringify(i.input)}`,
    })
    .optional()
    .openapi({ enum: [...values], description: `${description} (case ignored)` });
}

/** Bounds of a number parameter; `exclusiveMax` makes `max` itself out of range. */
export interface Range {
  min?: number;
  max?: number;
  exclusiveMax?: boolean;
}

function rangeText(r: Range, integer: boolean): string {
  const { min, max } = r;
  if (integer && min !== undefined && max !== undefined && !r.exclusiveMax) {
    return `an integer from ${min} to ${max}`;
  }
  const kind = integer ? "an integer" : "a number";
  if (min !== undefined && max !== undefined) {
    return `${kind} in [${min}, ${max}${r.exclusiveMax ? ")" : "]"}`;
  }
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} ${r.exclusiveMax ? "<" : "<="} ${max}`;
  return kind;
}

/**
 * A number (or integer) query parameter with its documented range; its output is a number. A value
 * that is no number, or one outside the range, is a 400 naming `name` and the range.
 * @example numberIn("threshold", "probability threshold", { min: 0, max: 1 }, 0.5)
 */
export function numberIn(
  name: string,
  description: string,
  range: Range = {},
  example?: number,
  integer = false,
) {
  const shape = integer ? /^\s*-?\d+\s*$/ : /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
  const what = rangeText(range, integer);
  const out = (v: string) => `${name} must be ${what}, got ${JSON.stringify(v)}`;
  const inRange = (n: number) =>
    (range.min === undefined || n >= range.min) &&
    (range.max === undefined || (range.exclusiveMax ? n < range.max : n <= range.max));
  const kind = integer ? "an integer" : "a number";
  const wellFormed = (v: string) =>
    shape.test(v) && Number.isFinite(Number(v)) && (!integer || Number.isSafeInteger(Number(v)));
  return z.string()
    .refine((v) => wellFormed(v) && inRange(Number(v)), {
      error: (i) => {
        const v = i.input as string;
        return wellFormed(v) ? out(v) : `${name} must be ${kind}, got ${JSON.stringify(v)}`;
      },
    })
    .transform(Number)
    .optional()
    .openapi({
      type: integer ? "integer" : "number",
      description,
      ...(range.min === undefined ? {} : { minimum: range.min }),
      ...(range.max === undefined
        ? {}
        : range.exclusiveMax
        ? { exclusiveMaximum: range.max }
        : { maximum: range.max }),
      ...(example === undefined ? {} : { example }),
    });
}

/** An integer query parameter with its documented range; see {@link numberIn}. */
export function intIn(name: string, description: string, range: Range = {}, example?: number) {
  return numberIn(name, description, range, example, true);
}

/** The value at `path` of the input that failed (to quote it back). */
function inputAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * One zod issue as a sentence that names the parameter and says what is allowed: a message the
 * schema wrote itself (it starts with the name) is kept; enum and boolean failures list the values.
 */
export function issueText(issue: z.core.$ZodIssue, input?: unknown): string {
  const field = issue.path.map(String).join(".");
  const got = inputAt(input, issue.path);
  const gotText = got === undefined ? "" : `, got ${JSON.stringify(got)}`;
  if (issue.code === "invalid_value") {
    const values = issue.values.map(String);
    const isFlag = values.length === FLAG_VALUES.length &&
      FLAG_VALUES.every((v) => values.includes(v));
    const allowed = isFlag
      ? "true or false (or 1 or 0)"
      : values.length === 2
      ? values.map((v) => (/^-?\d+$/.test(v) ? v : JSON.stringify(v))).join(" or ")
      : `one of ${values.join(", ")}`;
    return `${field || "value"} must be ${allowed}${gotText}`;
  }
  if (issue.code === "invalid_type" && Array.isArray(got)) {
    return `${field} must be given once, got ${got.length} values`;
  }
  if (!field || issue.message.startsWith(field)) return issue.message;
  return `${field}: ${issue.message}${issue.code === "invalid_type" ? gotText : ""}`;
}

/** The detail and field of a failed parse: every issue, the first one's path as the field. */
export function zodProblem(error: z.ZodError, input?: unknown): { detail: string; field?: string } {
  const detail = error.issues.map((i) => issueText(i, input)).join("; ");
  const field = error.issues[0]?.path.map(String).join(".") || undefined;
  return { detail, field };
}

/**
 * The request's query as its route declared and validated it (the single typed accessor handlers
 * use; `schema` only types the answer).
 * @example const q = validQuery(c, SliceQuery); q.threshold // number | undefined
 */
export function validQuery<S extends z.ZodType>(c: Context, _schema: S): z.output<S> {
  return (c.req as unknown as { valid(target: "query"): z.output<S> }).valid("query");
}
