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

/**
 * A finite number parameter, or undefined when absent; anything else (an empty string, text) is a
 * 400 naming it.
 * @example numberParam("0.5", "threshold") // 0.5
 */
export function numberParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new BadInputError(`${name} must be a number, got ${JSON.stringify(value)}`, {
      field: name,
    });
  }
  return n;
}

/**
 * An on/off parameter: absent, "0" or "false" is off; "1", "true" or present without a value is on;
 * anything else is a 400 naming it.
 * @example flagParam("1", "overlay") // true
 */
export function flagParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "0" || value === "false") return false;
  if (value === "1" || value === "true" || value === "") return true;
  throw new BadInputError(`${name} must be 0 or 1, got ${JSON.stringify(value)}`, { field: name });
}
