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

type Schema = {
  type?: string;
  format?: string;
  items?: Schema;
  enum?: string[];
  properties?: Record<string, Schema>;
  required?: string[];
  $ref?: string;
};
type Media = { schema?: Schema; encoding?: Record<string, { contentType?: string }> };
type Answer = { headers?: Record<string, unknown>; content?: Record<string, Media> };
type Operation = {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; schema?: { example?: unknown } }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Answer>;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, Record<string, string>> };
  servers?: { url: string }[];
};

const doc: Doc = await (await main.request("/openapi.json")).json();
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ path, method, op }))
);

Deno.test("every operation has a unique, stable operationId", () => {
  const ids = operations.map(({ op }) => op.operationId);
  for (const [i, id] of ids.entries()) {
    const { method, path } = operations[i];
    assert(id && /^[a-z][A-Za-z0-9]+$/.test(id), `${method} ${path}: operationId ${id}`);
  }
  assertEquals(new Set(ids).size, ids.length, `duplicate operationIds: ${ids}`);
  const byRoute = Object.fromEntries(operations.map(({ method, path, op }) => [
    `${method} ${path}`,
    op.operationId,
  ]));
  // Clients generate method names from these: they do not change.
  assertEquals(byRoute["get /rle/decode"], "rleDecode");
  assertEquals(byRoute["post /segment/slice"], "segmentSlice");
  assertEquals(byRoute["get /segment/volume/jobs/{id}/result"], "getVolumeJobResult");
});

Deno.test("the API key is a declared security scheme that every data route needs, as auth.ts does", async () => {
  assertEquals(doc.components.securitySchemes, {
    bearerAuth: {
      type: "http",
      scheme: "bearer",
      description: "Authorization: Bearer <key>, the key being MEDIMG_API_KEY (when it is set)",
    },
    apiKeyHeader: {
      type: "apiKey",
      in: "header",
      name: "x-api-key",
      description: "x-api-key: <key>, the same key as for Bearer",
    },
  });
  assertEquals(doc.servers?.[0].url, "/");
  const before = Deno.env.get("MEDIMG_API_KEY");
  Deno.env.set("MEDIMG_API_KEY", "s3cret");
  try {
    for (const { method, path, op } of operations) {
      assertEquals(op.security, [{ bearerAuth: [] }, { apiKeyHeader: [] }], `${method} ${path}`);
      const url = path.replaceAll(/\{\w+\}/g, "no-such-id");
      const send = (headers: Record<string, string>) =>
        main.request(url, { method: method.toUpperCase(), headers });
      const without = await send({});
      assertEquals(without.status, 401, `${method} ${path} without a key`);
      await without.body?.cancel();
      const keys: Record<string, string>[] = [
        { "x-api-key": "s3cret" },
        { authorization: "Bearer s3cret" },
      ];
      for (const key of keys) {
        const res = await send(key);
        assert(res.status !== 401, `${method} ${path} with ${Object.keys(key)[0]}: 401`);
        await res.body?.cancel();
      }
    }
    // What the document leaves out stays open.
    for (const path of ["/health", "/openapi.json", "/docs"]) {
      const res = await main.request(path);
      assertEquals(res.status, 200, path);
      await res.body?.cancel();
    }
  } finally {
    if (before === undefined) Deno.env.delete("MEDIMG_API_KEY");
    else Deno.env.set("MEDIMG_API_KEY", before);
  }
});

/** The multipart/form-data schema of an operation's body, with its binary alternatives. */
function form(
  path: string,
): { parts: Record<string, Schema>; required: string[]; types: string[] } {
  const content = doc.paths[path].post.requestBody!.content;
  const schema = content["multipart/form-data"]?.schema;
  assert(schema?.properties, `${path}: no multipart fields`);
  return { parts: schema.properties, required: schema.required ?? [], types: Object.keys(content) };
}

const isFile = (s: Schema) => s.type === "string" && s.format === "binary";

Deno.test("multipart bodies name their fields, so Swagger UI's Try-it-out can send each", () => {
  const slice = form("/segment/slice");
  for (const f of ["image", "mask", "fov"]) assert(isFile(slice.parts[f]), `slice ${f}`);
  assertEquals(slice.parts.dialect.enum, ["siim", "kaggle", "coco"]);
  assertEquals(slice.required, ["image"]);
  for (const t of ["application/dicom", "image/png", "image/jpeg", "image/tiff"]) {
    assert(slice.types.includes(t), `slice takes ${t} bytes too`);
  }
  const volume = form("/segment/volume");
  // each modality one NIfTI or a DICOM series (repeated parts), or all four as one 4D `image`
  assertEquals(volume.required, []);
  for (const f of ["flair", "t1", "t1ce", "t2"]) assert(isFile(volume.parts[f].items!), f);
  for (const f of ["image", "seg"]) assert(isFile(volume.parts[f]), f);
  const mammo = form("/mammo/mask");
  assertEquals(mammo.parts.mask.type, "array");
  assert(isFile(mammo.parts.mask.items!), "mammo masks are files");
  assertEquals(mammo.parts.lr_flip.enum, ["1", "0", "true", "false"]); // the one boolean set
  assert(mammo.types.includes("application/json"));
  const cxr = form("/cxr/classify");
  assert(isFile(cxr.parts.image));
  for (const f of ["age", "sex", "view", "spacing"]) assertEquals(cxr.parts[f].type, "string", f);
  assert(cxr.types.includes("application/dicom") && cxr.types.includes("application/json"));
  // No multipart body is one opaque binary, anywhere.
  for (const { method, path, op } of operations) {
    const schema = op.requestBody?.content["multipart/form-data"]?.schema;
    if (!schema) continue;
    const parts = Object.values(schema.properties ?? {});
    assert(parts.some((p) => isFile(p) || isFile(p.items ?? {})), `${method} ${path}`);
  }
});

Deno.test("every 200 JSON answer is typed, and answers document the headers they carry", () => {
  for (const { method, path, op } of operations) {
    for (const [status, answer] of Object.entries(op.responses)) {
      const where = `${method} ${path} ${status}`;
      for (const h of ["X-Request-Id", "Server-Timing"]) {
        assert(answer.headers?.[h], `${where} ${h}`);
      }
      const json = answer.content?.["application/json"]?.schema;
      if (status.startsWith("2") && json) {
        assert(json.$ref || json.properties, `${where}: JSON answer without a schema`);
      }
      if (answer.content?.["application/octet-stream"]) {
        for (const h of ["X-Image-Width", "X-Image-Height", "X-Image-Dtype"]) {
          assert(answer.headers?.[h], `${where}: raw answer without ${h}`);
        }
      }
    }
  }
  for (const path of ["/segment/slice", "/cxr/classify"]) {
    const headers = doc.paths[path].post.responses["200"].headers ?? {};
    assert(headers["X-Model"] && headers["X-Model-Version"], path);
  }
  const mammo = doc.paths["/mammo/preprocess"].post.responses["200"].headers ?? {};
  assert(mammo["X-Mammo-Lr-Flip"] && mammo["X-Mammo-Square"]);
});

Deno.test("the documentation's example models are installed ones", async () => {
  const installed = new Set<string>();
  for await (const e of Deno.readDir(new URL("../../models/", import.meta.url))) {
    if (e.isDirectory) installed.add(e.name);
  }
  const examples = operations.flatMap(({ path, op }) =>
    (op.parameters ?? []).filter((p) => p.name === "model" && p.schema?.example !== undefined)
      .map((p) => [path, p.schema!.example] as const)
  );
  assertEquals(Object.fromEntries(examples), {
    "/segment/slice": "fundus-vessels",
    "/segment/volume": "brats-demo",
  });
  for (const [path, model] of examples) {
    assert(installed.has(String(model)), `${path}: example model ${model} is not in models/`);
  }
});
