/** Stage timings for Server-Timing, over hono's timing middleware. */
import type { Context } from "hono";
import { endTime, startTime } from "hono/timing";

/**
 * Runs `fn` and records its duration as the Server-Timing metric `name`.
 * @example const mask = timed(c, "decode", () => runsToMask(runs, w, h, "column"))
 */
export function timed<T>(c: Context, name: string, fn: () => T): T {
  startTime(c, name);
  try {
    return fn();
  } finally {
    endTime(c, name);
  }
}

/** As {@link timed} for async work. */
export async function timedAsync<T>(c: Context, name: string, fn: () => Promise<T>): Promise<T> {
  startTime(c, name);
  try {
    return await fn();
  } finally {
    endTime(c, name);
  }
}
