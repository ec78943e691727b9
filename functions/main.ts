/**
 * `deno task dev`: every function on one server (PORT, default 8000), with GET /health.
 */
import { createApp, serve } from "../lib/http/mod.ts";
import { dicomRoutes } from "./dicom.ts";
import { mammoRoutes } from "./mammo.ts";
import { rleBodyLimits, rleRoutes } from "./rle.ts";

/** All functions mounted together. */
export const app = createApp({ bodyLimits: { ...rleBodyLimits } })
  .get("/health", (c) => c.json({ status: "ok", functions: ["rle", "dicom", "mammo"] }))
  .route("/", rleRoutes)
  .route("/", dicomRoutes)
  .route("/", mammoRoutes);

if (import.meta.main) serve(app);
