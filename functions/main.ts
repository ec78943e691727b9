/**
 * `deno task dev`: every function on one server (PORT, default 8000), with GET /health, the
 * OpenAPI document at /openapi.json and its reference UI at /docs.
 */
import { docsRoutes } from "../lib/http/docs.ts";
import { createApp, serve } from "../lib/http/mod.ts";
import { cxrRoutes } from "./cxr.ts";
import { dicomRoutes } from "./dicom.ts";
import { mammoRoutes } from "./mammo.ts";
import { pageRoutes } from "./page.ts";
import { rleBodyLimits, rleRoutes } from "./rle.ts";
import { sliceRoutes } from "./slice.ts";
import { volumeBodyLimits, volumeRoutes } from "./volume.ts";

/** All functions mounted together. */
export const app = createApp({ bodyLimits: { ...rleBodyLimits, ...volumeBodyLimits } })
  .get("/health", (c) => c.json({ status: "ok", functions: ["rle", "dicom", "mammo"] }))
  .route("/", rleRoutes)
  .route("/", dicomRoutes)
  .route("/", mammoRoutes)
  .route("/", sliceRoutes)
  .route("/", cxrRoutes)
  .route("/", volumeRoutes)
  .route("/", docsRoutes)
  .route("/", pageRoutes);

if (import.meta.main) serve(app);
