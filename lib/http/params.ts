/**
 * Parameters from JSON bodies (and a model card's preprocess params, which vary by model) with
 * errors that name the parameter. Query parameters are declared and validated in zod instead (see
 * ./query.ts). Values may arrive as text or as numbers: both are accepted.
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
