/**
 * A reference UI for the OpenAPI document at /docs: Swagger UI from the pinned swagger-ui-dist
 * package, served from this server (no CDN, so it works offline and behind strict CSPs).
 */
import { Hono } from "hono";

const ASSETS: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medimg-edge API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

/**
 * Try-it-out is on from the start (every operation can be sent as documented, multipart forms
 * field by field), the API key entered under Authorize survives a reload, and operationIds show.
 */
const INIT = `SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#ui",
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: true,
  displayOperationId: true,
});`;

const cache = new Map<string, Uint8Array>();

async function asset(name: string): Promise<Uint8Array> {
  let bytes = cache.get(name);
  if (!bytes) {
    const url = import.meta.resolve(`swagger-ui-dist/${name}`);
    bytes = await Deno.readFile(new URL(url));
    cache.set(name, bytes);
  }
  return bytes;
}

/**
 * GET /docs (Swagger UI over /openapi.json) and its assets.
 * @example createApp().route("/", docsRoutes)
 */
export const docsRoutes = new Hono()
  .get("/docs", (c) => c.html(PAGE))
  .get(
    "/docs/init.js",
    (c) => c.body(INIT, 200, { "content-type": ASSETS["swagger-ui-bundle.js"] }),
  )
  .get("/docs/:asset", async (c) => {
    const name = c.req.param("asset");
    const type = ASSETS[name];
    if (!type) return c.notFound();
    return c.body(await asset(name) as Uint8Array<ArrayBuffer>, 200, {
      "content-type": type,
      "cache-control": "public, max-age=86400",
    });
  });
