/**
 * The two environments a function sees: Hono's context variables every route can use (`AppEnv`,
 * set by lib/http/app.ts's middleware) and the process environment where the platform allows it.
 * Kept apart from app.ts so that the modules app.ts builds on (openapi.ts, forward.ts) can name
 * `AppEnv` without importing app.ts back.
 */
import type { RequestIdVariables } from "hono/request-id";
import type { TimingVariables } from "hono/timing";
import type { BudgetVariables } from "./limits.ts";

/** Context variables every route can use. */
export type AppEnv = { Variables: RequestIdVariables & TimingVariables & BudgetVariables };

/**
 * Reads an environment variable where the platform allows it (undefined otherwise).
 * @example const key = env("MEDIMG_API_KEY")
 */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * A positive integer from the environment, or `fallback`.
 * @example const limit = envInt("MEDIMG_BODY_LIMIT", DEFAULT_BODY_LIMIT)
 */
export function envInt(name: string, fallback: number): number {
  const v = Number(env(name));
  return Number.isInteger(v) && v > 0 ? v : fallback;
}
