/**
 * The one Hono helper between a request and lib/pipelines' step runner: the run's `check` is the
 * request's time budget (a 503 naming the step it stopped after), and the run's record becomes
 * Server-Timing (one metric per step) and the JSON answer's `timings_ms`.
 */
import type { Context } from "hono";
import { setMetric } from "hono/timing";
import { Steps } from "../pipelines/steps.ts";
import { checkBudget } from "./limits.ts";

/**
 * Options for a pipeline run in this request: the budget checked between steps, and whether to
 * keep intermediates.
 * @example const r = mammoPreprocess(img, params, stepOptions(c, { keep: q.steps }))
 */
export function stepOptions(
  c: Context,
  options: { keep?: boolean } = {},
): { check: (step: string) => void; keep: boolean } {
  return { check: (step) => checkBudget(c, step), keep: options.keep ?? false };
}

/**
 * Puts a run's time per step into Server-Timing and returns it rounded for the JSON answer.
 * @example return c.json({ ...answer, timings_ms: reportSteps(c, r.timings) })
 */
export function reportSteps(c: Context, timings: Record<string, number>): Record<string, number> {
  const rounded: Record<string, number> = {};
  for (const [name, ms] of Object.entries(timings)) {
    setMetric(c, name, ms);
    rounded[name] = Math.round(ms * 100) / 100;
  }
  return rounded;
}

/**
 * Runs `body` on a fresh run with this request's budget, and reports its steps to Server-Timing
 * when it ends, whether it answers or throws (a step that failed or ran past the budget is still
 * named in Server-Timing).
 * @example return runSteps(c, async (run) => c.json(run.step("parse", () => parse(bytes))))
 */
export async function runSteps<T>(c: Context, body: (run: Steps) => T | Promise<T>): Promise<T> {
  const run = new Steps(stepOptions(c));
  try {
    return await body(run);
  } finally {
    reportSteps(c, run.timings);
  }
}
