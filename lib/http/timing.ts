/** Stage timings for Server-Timing, over hono's timing middleware. */
import type { Context } from "hono";
import { endTime, startTime } from "hono/timing";
import { checkBudget } from "./limits.ts";

/**
 * Runs `fn` and records its duration as the Server-Timing metric `name`; then stops the request
 * (503) if it has run past its time budget.
 * @example const mask = timed(c, "decode", () => runsToMask(runs, w, h, "column"))
 */
export function timed<T>(c: Context, name: string, fn: () => T): T {
  startTime(c, name);
  let result: T;
  try {
    result = fn();
  } finally {
    endTime(c, name);
  }
  checkBudget(c, name);
  return result;
}

/** As {@link timed} for async work. */
export async function timedAsync<T>(c: Context, name: string, fn: () => Promise<T>): Promise<T> {
  startTime(c, name);
  let result: T;
  try {
    result = await fn();
  } finally {
    endTime(c, name);
  }
  checkBudget(c, name);
  return result;
}
