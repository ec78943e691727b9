/**
 * What every model route shares: inference is CPU-bound, so at most `MEDIMG_<NAME>_CONCURRENCY`
 * requests (default 1) run at once per isolate, `MEDIMG_<NAME>_QUEUE` more wait (default 8), the
 * rest get 503 with Retry-After; and the loaded models stay alive until the answer is made
 * (holdModels: the wasm heap is trimmed only when no request holds them). Lives in functions/
 * because lib/http never loads tfjs.
 */
import type { MiddlewareHandler } from "hono";
import { concurrencyLimit, envInt } from "../lib/http/mod.ts";
import { holdModels } from "../lib/models/load.ts";

/**
 * The guard of a model route, by the name its environment variables use.
 * @example routes.use("/segment/*", ...modelGuard("SLICE"))
 */
export function modelGuard(name: string): MiddlewareHandler[] {
  return [
    concurrencyLimit({
      max: envInt(`MEDIMG_${name}_CONCURRENCY`, 1),
      queue: envInt(`MEDIMG_${name}_QUEUE`, 8),
      retryAfter: 2,
    }),
    (_, next) => holdModels(next),
  ];
}
