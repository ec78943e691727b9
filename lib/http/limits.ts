/**
 * Per-request time budget and bounded concurrency. Work here is synchronous CPU (decoders, image
 * operations, wasm inference), which an AbortSignal timer cannot interrupt, so the budget is a
 * deadline checked between stages (every step of a run, lib/http/steps.ts, checks it) and before work whose cost can
 * be estimated. Model routes bound how many requests run at once and how many wait; past that they
 * answer 503 with Retry-After rather than queueing without end.
 */
import type { Context, MiddlewareHandler } from "hono";
import { UnavailableError } from "../errors.ts";

/** Context variables set by {@link timeBudget}. */
export type BudgetVariables = { budgetStart: number; budgetMs: number };

/** Default per-request time budget in ms (MEDIMG_TIME_BUDGET_MS overrides it). */
export const DEFAULT_TIME_BUDGET_MS = 30_000;

/**
 * Starts each request's time budget of `ms()` milliseconds.
 * @example app.use(timeBudget(() => envInt("MEDIMG_TIME_BUDGET_MS", DEFAULT_TIME_BUDGET_MS)))
 */
export function timeBudget(ms: () => number): MiddlewareHandler {
  return async (c, next) => {
    c.set("budgetStart", performance.now());
    c.set("budgetMs", ms());
    await next();
  };
}

/** Milliseconds left of the request's budget (Infinity without the middleware). */
export function remainingBudget(c: Context): number {
  const start = c.get("budgetStart") as number | undefined;
  const ms = c.get("budgetMs") as number | undefined;
  return start === undefined || ms === undefined ? Infinity : start + ms - performance.now();
}

/**
 * Throws a 503 when the request has used up its budget; `stage` names where it stopped.
 * @example checkBudget(c, "clahe")
 */
export function checkBudget(c: Context, stage: string): void {
  if (remainingBudget(c) >= 0) return;
  throw new UnavailableError(
    `the request ran past its time budget of ${
      c.get("budgetMs")
    } ms (at stage ${stage}) and was stopped; send a smaller input or use the origin deployment`,
    { stage, budget_ms: c.get("budgetMs") as number },
  );
}

/**
 * Refuses, before starting, work estimated to take longer than the budget left.
 * @example refuseOverBudget(c, tiles * msPerTile, `${tiles} tiles of inference`)
 */
export function refuseOverBudget(c: Context, estimatedMs: number, what: string): void {
  const left = remainingBudget(c);
  if (estimatedMs <= left) return;
  throw new UnavailableError(
    `${what} would take about ${Math.round(estimatedMs)} ms, over the ${
      Math.max(0, Math.round(left))
    } ms left of this request's time budget; send a smaller input or use the origin deployment`,
    { estimated_ms: Math.round(estimatedMs), budget_ms: c.get("budgetMs") as number },
  );
}

/** Options for {@link concurrencyLimit}. */
export interface ConcurrencyOptions {
  /** Requests running at once. */
  max: number;
  /** Requests waiting for a slot; one more gets 503. */
  queue: number;
  /** Seconds to put in Retry-After. */
  retryAfter: number;
}

/**
 * At most `max` requests through at once, `queue` more waiting in arrival order, the rest 503
 * with Retry-After.
 * @example routes.use("/segment/*", concurrencyLimit({ max: 1, queue: 8, retryAfter: 2 }))
 */
export function concurrencyLimit(options: ConcurrencyOptions): MiddlewareHandler {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (_c, next) => {
    if (running >= options.max) {
      if (waiting.length >= options.queue) {
        throw new UnavailableError(
          `busy: ${running} requests running and ${waiting.length} waiting (limits ${options.max} and ${options.queue}); retry after ${options.retryAfter} s`,
          { retry_after: options.retryAfter },
        );
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else running++;
    try {
      await next();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const wake = waiting.shift();
      if (wake) wake();
      else running--;
    }
  };
}
