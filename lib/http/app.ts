/**
 * The app every function is served by: request id on every answer, Server-Timing, optional CORS,
 * API-key auth, body limit, 415 for undocumented body types, 405 with Allow, GET /health,
 * problem+json errors (see ./contract.ts). A function defines only its routes and mounts them here.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { timing } from "hono/timing";
import { apiKeyAuth } from "./auth.ts";
import { documentedBodyType, notFoundOr405, requestIdOnEveryAnswer } from "./contract.ts";
import { DEFAULT_BODY_LIMIT, limitBody } from "./body.ts";
import { DEFAULT_TIME_BUDGET_MS, timeBudget } from "./limits.ts";
import { type AppEnv, env, envInt } from "./env.ts";
import { DOCUMENT_SERVERS, openApiRoutes } from "./openapi.ts";
import { notFound, onError } from "./problem.ts";

/** Response headers a cross-origin caller may read when CORS is on. */
export const EXPOSED_HEADERS = [
  "Server-Timing",
  "X-Request-Id",
  "X-Image-Width",
  "X-Image-Height",
  "X-Image-Channels",
  "X-Image-Dtype",
  "X-Window-Center",
  "X-Window-Width",
  "X-Window-Source",
  "X-Warning",
  "X-Model",
  "X-Model-Version",
  "X-Backend",
  "X-Cxr-Probability",
  "X-Cxr-Label",
  "X-Mammo-Lr-Flip",
  "X-Mammo-Square",
  "X-Job",
  "Location",
  "Content-Disposition",
  "Retry-After",
] as const;

export { type AppEnv, env, envInt } from "./env.ts";

/** Options for {@link createApp}. */
export interface AppOptions {
  /** Body limits in bytes for paths that take more than MEDIMG_BODY_LIMIT (e.g. streamed CSV). */
  bodyLimits?: Record<string, number>;
  /** Title of the function's OpenAPI document at /openapi.json. */
  title?: string;
  /** More facts for GET /health than `{status: "ok"}` (the dev server adds memory, tensors). */
  health?: () => Record<string, unknown>;
}

/** The version every function reports in its OpenAPI document. */
export const API_VERSION = "0.1.0";

/**
 * A Hono app with the shared conventions; mount a function's routes with `.route("/", routes)`.
 * @example createApp().route("/", rleRoutes)
 */
export function createApp(options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const defaultLimit = envInt("MEDIMG_BODY_LIMIT", DEFAULT_BODY_LIMIT);
  const limits = options.bodyLimits ?? {};
  const app = openApiRoutes();
  app.use(requestIdOnEveryAnswer());
  app.use(requestId());
  app.use(timeBudget(() => envInt("MEDIMG_TIME_BUDGET_MS", DEFAULT_TIME_BUDGET_MS)));
  app.use(timing({ crossOrigin: true }));
  const origins = env("MEDIMG_CORS_ORIGINS");
  if (origins) {
    app.use(cors({
      origin: origins === "*" ? "*" : origins.split(",").map((s) => s.trim()),
      // Every header an answer may carry that a browser script would read (the OpenAPI document
      // lists them per route); tests/http/app_test.ts checks the two stay in step.
      exposeHeaders: [...EXPOSED_HEADERS],
    }));
  }
  app.use(apiKeyAuth(() => env("MEDIMG_API_KEY")));
  app.use(limitBody((c) => limits[c.req.path] ?? defaultLimit));
  app.use(documentedBodyType(app));
  app.onError(onError);
  app.notFound(notFoundOr405(app, notFound));
  // Platform health checks, on every function started alone and on the dev server.
  app.get("/health", (c) => c.json({ status: "ok", ...options.health?.() }));
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "medimg-edge",
      version: API_VERSION,
      description:
        "Medical-image preprocessing and segmentation as small HTTP functions. Errors are application/problem+json (RFC 9457).",
    },
    servers: DOCUMENT_SERVERS,
  });
  return app;
}

/**
 * Serves an app on PORT (default 8000) and lets in-flight requests finish on SIGTERM/SIGINT.
 * @example if (import.meta.main) serve(app)
 */
export function serve(app: Hono<AppEnv>): Deno.HttpServer {
  const port = envInt("PORT", 8000);
  const server = Deno.serve(
    { port, onListen: ({ port }) => console.log(`listening on :${port}`) },
    app.fetch,
  );
  try {
    Deno.addSignalListener("SIGUSR2", releaseMemory);
  } catch {
    // no signals here
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    try {
      Deno.addSignalListener(signal, () => server.shutdown());
    } catch {
      // Platforms without signals (edge isolates) stop the isolate themselves.
    }
  }
  return server;
}

/**
 * What SIGUSR2 does: give memory back to the system, so that the fuzz and load benchmarks (or an
 * operator) can tell memory still in use from memory merely kept. Started with
 * `--v8-flags=--expose-gc`, a full last-resort collection (V8 also drops the heap pages it keeps
 * for reuse); with `--allow-ffi`, glibc's malloc_trim(0), which returns the free pages inside
 * malloc's arenas (plain `free` only shrinks the top of the main one). Each part is skipped
 * where it is not available (no flag, no permission, no glibc).
 */
export function releaseMemory(): void {
  const gc = (globalThis as { gc?: (o?: unknown) => void }).gc;
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  mallocTrim ??= openMallocTrim();
  mallocTrim();
}

let mallocTrim: (() => void) | undefined;

function openMallocTrim(): () => void {
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return () => {};
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return () => {};
  }
}
