/**
 * `deno task dev`: every function on one server (PORT, default 8000), with GET /health, the
 * OpenAPI document at /openapi.json and its reference UI at /docs.
 */
import { docsRoutes } from "../lib/http/docs.ts";
import { forwardRoutes } from "../lib/http/forward.ts";
import { createApp, env, serve } from "../lib/http/mod.ts";
import { tensorStats } from "../lib/models/backend.ts";
import { cxrRoutes } from "./cxr.ts";
import { dicomRoutes } from "./dicom.ts";
import { mammoRoutes } from "./mammo.ts";
import { pageRoutes } from "./page.ts";
import { rleBodyLimits, rleRoutes } from "./rle.ts";
import { seriesBodyLimits, seriesRoutes } from "./series.ts";
import { sliceRoutes } from "./slice.ts";
import { volumeBodyLimits, volumeRoutes } from "./volume.ts";
import { shutdownPool, useAllCores } from "../lib/models/pool.ts";

const origin = env("MEDIMG_ORIGIN_URL");

/** The process's memory in MB: resident, and V8's heap in use (what a leak would grow). */
function memoryMb(): Record<string, number> {
  const m = Deno.memoryUsage();
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  return {
    rss: mb(m.rss),
    heap_used: mb(m.heapUsed),
    heap_total: mb(m.heapTotal),
    external: mb(m.external),
  };
}

/** All functions mounted together. */
export const app = createApp({
  bodyLimits: { ...rleBodyLimits, ...volumeBodyLimits, ...seriesBodyLimits },
  // GET /health (createApp's) with more facts here.
  health: () => ({
    functions: ["rle", "dicom", "mammo", "slice", "cxr", "volume", "series"],
    // Live tfjs tensors (null before any model ran): flat under load, or something leaks.
    tfjs: tensorStats(),
    memory_mb: memoryMb(),
    ...(origin ? { origin } : {}),
  }),
})
  .route("/", rleRoutes)
  .route("/", dicomRoutes)
  .route("/", mammoRoutes)
  .route("/", sliceRoutes)
  .route("/", seriesRoutes)
  .route("/", cxrRoutes)
  // With a GPU origin configured, volume jobs go there instead of running here.
  .route(
    "/",
    origin
      ? forwardRoutes(origin, ["/segment/volume"], env("MEDIMG_ORIGIN_API_KEY"))
      : volumeRoutes,
  )
  .route("/", docsRoutes)
  .route("/", pageRoutes);

if (import.meta.main) {
  // a self-hosted origin: model passes over every core unless MEDIMG_WORKERS says otherwise
  useAllCores();
  serve(app).finished.then(shutdownPool);
}
