import { assert, assertEquals } from "@std/assert";
import { app as main } from "../../functions/main.ts";
import { app as rle } from "../../functions/rle.ts";

const UNDOCUMENTED = /^\/(health|openapi\.json|docs(\/.*)?|page\/.*|\*)?$/;

Deno.test("/openapi.json is OpenAPI 3.1 and documents every route the dev server has", async () => {
  const res = await main.request("/openapi.json");
  assertEquals(res.status, 200);
  const doc = await res.json();
  assertEquals(doc.openapi, "3.1.0");
  assertEquals(doc.info.title, "medimg-edge");
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`)
    ),
  );
  const served = main.routes
    .filter((r) => r.method !== "ALL" && !UNDOCUMENTED.test(r.path))
    .map((r) => `${r.method} ${r.path}`);
  for (const r of served) assert(documented.has(r), `${r} is served but not in /openapi.json`);
  for (const d of documented) assert(served.includes(d), `${d} is documented but not served`);
  for (const path of ["/rle/decode", "/dicom/render", "/mammo/preprocess"]) {
    assert(path in doc.paths, path);
  }
  // Every operation documents its success and its problem+json errors.
  type Op = { responses: Record<string, { content?: Record<string, unknown> }> };
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Op>>)) {
    for (const [method, op] of Object.entries(ops)) {
      assert(op.responses["200"] || op.responses["202"], `${method} ${path}: no success answer`);
      assert(
        op.responses["400"]?.content?.["application/problem+json"],
        `${method} ${path}: no problem+json 400`,
      );
    }
  }
});

Deno.test("a query parameter that fails its schema is the same problem+json 400, naming it", async () => {
  const res = await main.request("/rle/decode?rle=1%202&width=abc&height=4");
  assertEquals(res.status, 400);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals(body.detail, 'width must be an integer, got "abc"');
  assertEquals(body.field, "width");
  assertEquals(body.type, "urn:medimg-edge:problem:bad-input");
  assert(body.request_id);
  const render = await main.request("/dicom/render?center=x", {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: new Uint8Array(10),
  });
  assertEquals(render.status, 400);
  assertEquals((await render.json()).detail, 'center must be a number, got "x"');
});

Deno.test("each function alone documents just its own routes", async () => {
  const doc = await (await rle.request("/openapi.json")).json();
  assertEquals(Object.keys(doc.paths).sort(), ["/rle/batch", "/rle/decode", "/rle/encode"]);
});

Deno.test("/docs is a Swagger UI over /openapi.json, its assets served locally", async () => {
  const page = await main.request("/docs");
  assertEquals(page.status, 200);
  const html = await page.text();
  assert(html.includes('src="/docs/swagger-ui-bundle.js"'));
  const init = await (await main.request("/docs/init.js")).text();
  assert(init.includes('url: "/openapi.json"'));
  const bundle = await main.request("/docs/swagger-ui-bundle.js");
  assertEquals(bundle.status, 200);
  assertEquals(bundle.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert((await bundle.arrayBuffer()).byteLength > 100_000);
  assertEquals((await main.request("/docs/../../deno.json")).status, 404);
});
