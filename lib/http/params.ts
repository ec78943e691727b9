/**
 * Request parameters from query or JSON with errors that name the parameter. Values from a query
 * string arrive as text; from JSON as numbers: both are accepted.
 */
import { BadInputError } from "../errors.ts";

/**
 * An integer parameter; `undefined` gives `fallback` (or a 400 when there is none).
 * @example intParam("1024", "width") // 1024
 */
export function intParam(value: unknown, name: string, fallback?: number): number {
  if (value === undefined || value === null || value === "") {
    if (fallback !== undefined) return fallback;
    throw new BadInputError(`${name} is required`, { field: name });
  }
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && /^\s*-?\d+\s*$/.test(value)
    ? Number(value)
    : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new BadInputError(`${name} must be an integer, got ${JSON.stringify(value)}`, {
      field: name,
    });
  }
  return n;
}

/** A string parameter or undefined; anything else is a 400. */
export function stringParam(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new BadInputError(`${name} must be a string, got ${JSON.stringify(value)}`, {
      field: name,
    });
  }
  return value;
}
