/**
 * The API contract, checked against the dev server's own /openapi.json (issue 15, points 1-4 and
 * 15). Every test walks the document, so a route or parameter added later is covered without
 * touching this file.
 */
import { assert, assertEquals } from "@std/assert";
import { app as main } from "../../functions/main.ts";
import { app as cxr } from "../../functions/cxr.ts";
import { app as dicom } from "../../functions/dicom.ts";
import { app as mammo } from "../../functions/mammo.ts";
import { app as rle } from "../../functions/rle.ts";
import { app as series } from "../../functions/series.ts";
import { app as slice } from "../../functions/slice.ts";
import { app as volume, createVolumeRoutes, type VolumeResult } from "../../functions/volume.ts";
import { createApp } from "../../lib/http/app.ts";
import { flagQuery } from "../../lib/http/query.ts";
import { JobQueue } from "../../lib/jobs/mod.ts";

type Schema = {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
};
type Param = { name: string; in: string; schema: Schema };
type Op = {
  parameters?: Param[];
  requestBody?: { content: Record<string, unknown> };
};
type Doc = { paths: Record<string, Record<string, Op>> };

const doc: Doc = await (await main.request("/openapi.json")).json();
const METHODS = ["get", "post", "put", "delete", "patch"];

/** Every documented operation: method, path (OpenAPI form), a concrete URL path, the operation. */
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([m]) => METHODS.includes(m))
    .map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      url: path.replaceAll(/\{\w+\}/g, "x"),
      op,
    }))
);

/** A request with the operation's first documented body type (the body is not read first). */
function init(method: string, op: Op, type?: string): RequestInit {
  const types = Object.keys(op.requestBody?.content ?? {});
  const t = type ?? types[0];
  return t === undefined ? { method } : { method, headers: { "content-type": t }, body: "x" };
}

async function expectProblem(res: Response, status: number, what: string) {
  const text = await res.text();
  assertEquals(res.status, status, `${what}: ${text}`);
  assertEquals(res.headers.get("content-type"), "application/problem+json", what);
  assert(res.headers.get("x-request-id"), `${what}: no X-Request-Id`);
  return JSON.parse(text);
}

/** Values outside what a parameter's schema documents, with what each one breaks. */
function undocumented(s: Schema): [string, string][] {
  const out: [string, string][] = [];
  if (s.enum) out.push(["undocumented-value", `outside the enum ${s.enum.join("|")}`]);
  if (s.type === "boolean") out.push(["yes", "not 1/0/true/false"], ["", "bare presence"]);
  const step = s.type === "integer" ? 1 : 0.5;
  if (s.minimum !== undefined) out.push([String(s.minimum - step), `under ${s.minimum}`]);
  if (s.maximum !== undefined) out.push([String(s.maximum + step), `over ${s.maximum}`]);
  if (s.exclusiveMaximum !== undefined) {
    out.push([String(s.exclusiveMaximum), `not under ${s.exclusiveMaximum}`]);
  }
  return out;
}

Deno.test("every enum, boolean and bounded query parameter refuses an undocumented value: 400 naming it", async () => {
  const seen: string[] = [];
  for (const { method, path, url, op } of operations) {
    for (const p of op.parameters ?? []) {
      if (p.in !== "query") continue;
      for (const [value, why] of undocumented(p.schema)) {
        const what = `${method} ${path}?${p.name}=${value} (${why})`;
        const res = await main.request(
          `${url}?${p.name}=${encodeURIComponent(value)}`,
          init(method, op),
        );
        const body = await expectProblem(res, 400, what);
        assertEquals(body.field, p.name, what);
        assert(body.detail.startsWith(p.name), `${what}: ${body.detail}`);
        // The answer says what is allowed.
        if (p.schema.enum && p.schema.type !== "boolean") {
          for (const v of p.schema.enum) assert(body.detail.includes(v), `${what}: ${body.detail}`);
        }
        if (p.schema.type === "boolean") {
          assert(body.detail.includes("true or false (or 1 or 0)"), `${what}: ${body.detail}`);
        }
        for (const bound of [p.schema.minimum, p.schema.maximum, p.schema.exclusiveMaximum]) {
          if (bound !== undefined) {
            assert(body.detail.includes(String(bound)), `${what}: ${body.detail}`);
          }
        }
        seen.push(`${method} ${path} ${p.name}`);
      }
    }
  }
  // The walk reached the parameters the issue names, and many more.
  for (
    const must of [
      "POST /dicom/info deidentify",
      "POST /dicom/info phi",
      "POST /segment/slice threshold",
      "POST /segment/slice overlay",
      "POST /segment/slice fit",
      "POST /mammo/preprocess kernel",
      "POST /segment/volume overlap",
      "GET /rle/decode width",
      "GET /segment/volume/jobs/{id} format",
    ]
  ) {
    assert(seen.includes(must), `${must} was not checked`);
  }
  assert(new Set(seen).size >= 50, `only ${new Set(seen).size} parameters checked`);
});

Deno.test("the issue's own examples: deidentify=yes and threshold=1.5 are 400s naming them", async () => {
  const info = await expectProblem(
    await main.request("/dicom/info?deidentify=yes", {
      method: "POST",
      headers: { "content-type": "application/dicom" },
      body: new Uint8Array(200),
    }),
    400,
    "deidentify=yes",
  );
  assertEquals(info.field, "deidentify");
  assertEquals(info.detail, 'deidentify must be true or false (or 1 or 0), got "yes"');
  const slice = await expectProblem(
    await main.request("/segment/slice?model=ct-liver&threshold=1.5", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: "x",
    }),
    400,
    "threshold=1.5",
  );
  assertEquals(slice.field, "threshold");
  assertEquals(slice.detail, 'threshold must be a number in [0, 1], got "1.5"');
});

Deno.test("booleans: one set, 1/0/true/false, documented as a boolean on every route", () => {
  const flag = flagQuery("x");
  for (const [v, want] of [["1", true], ["true", true], ["0", false], ["false", false]] as const) {
    assertEquals(flag.parse(v), want, v);
  }
  assertEquals(flag.parse(undefined), undefined);
  for (const bad of ["", "yes", "on", "2", "TRUE "]) assert(!flag.safeParse(bad).success, bad);
  let booleans = 0;
  for (const { op } of operations) {
    for (const p of op.parameters ?? []) {
      if (p.schema.type !== "boolean") continue;
      booleans++;
      assert(
        (p as { description?: string }).description?.includes("1 or true: on; 0 or false: off"),
        p.name,
      );
    }
  }
  // phi, deidentify, steps, lr_flip, probs, overlay, heatmap, wait
  assert(booleans >= 8, `${booleans} booleans`);
  // No 0/1 string enums are left beside them.
  for (const { path, op } of operations) {
    for (const p of op.parameters ?? []) {
      const e = p.schema.enum?.join(",");
      assert(
        e !== "0,1" && e !== "true,false",
        `${path} ${p.name} is a boolean written as an enum`,
      );
    }
  }
});

Deno.test("a documented path with a method it lacks: 405 problem with Allow listing its methods", async () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    const documented = Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) =>
      m.toUpperCase()
    );
    const want = [...documented, ...(documented.includes("GET") ? ["HEAD"] : [])].sort();
    const url = path.replaceAll(/\{\w+\}/g, "x");
    for (const wrong of METHODS.map((m) => m.toUpperCase()).filter((m) => !want.includes(m))) {
      const res = await main.request(url, { method: wrong });
      const body = await expectProblem(res, 405, `${wrong} ${path}`);
      assertEquals(res.headers.get("allow"), want.join(", "), `${wrong} ${path}`);
      assert(body.detail.includes(wrong), body.detail);
    }
  }
  // The example, and an undocumented route (platform health checks).
  const enc = await main.request("/rle/encode");
  assertEquals([enc.status, enc.headers.get("allow")], [405, "POST"]);
  await enc.body?.cancel();
  const health = await main.request("/health", { method: "POST" });
  assertEquals([health.status, health.headers.get("allow")], [405, "GET, HEAD"]);
  await health.body?.cancel();
  // An unknown path stays a 404.
  await expectProblem(await main.request("/rle/nope"), 404, "GET /rle/nope");
});

Deno.test("a body of a media type the route does not document: 415 naming the documented ones", async () => {
  let routes = 0;
  for (const { method, path, url, op } of operations) {
    const types = Object.keys(op.requestBody?.content ?? {});
    if (types.length === 0) continue;
    routes++;
    const what = `${method} ${path} with application/x-undocumented`;
    const body = await expectProblem(
      await main.request(url, init(method, op, "application/x-undocumented")),
      415,
      what,
    );
    assertEquals(body.field, "content-type", what);
    for (const t of types) assert(body.detail.includes(t), `${what}: ${body.detail}`);
  }
  assert(routes >= 9, `${routes} routes with a body`);
  // The example.
  const plain = await expectProblem(
    await main.request("/segment/slice?model=ct-liver", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    }),
    415,
    "text/plain to /segment/slice",
  );
  assert(plain.detail.includes("image/png"), plain.detail);
});

Deno.test("X-Request-Id on every answer: each route, errors, 404, 405, 415, NDJSON and SSE streams", async () => {
  for (const { method, path, url, op } of operations) {
    // A documented body type is never refused as a media type.
    const res = await main.request(url, init(method, op));
    assert(res.headers.get("x-request-id"), `${method} ${path} (${res.status})`);
    assert(res.status !== 415, `${method} ${path}: a documented type refused`);
    await res.body?.cancel();
  }
  for (const path of ["/health", "/openapi.json", "/docs", "/", "/nope"]) {
    const res = await main.request(path);
    assert(res.headers.get("x-request-id"), path);
    await res.body?.cancel();
  }
  // /rle/batch streams NDJSON from a Response made by the handler.
  const batch = await main.request("/rle/batch?width=2&height=2", {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: "ImageId,EncodedPixels\na,1 2\n",
  });
  assertEquals(batch.status, 200);
  assertEquals(batch.headers.get("content-type"), "application/x-ndjson");
  assert(batch.headers.get("x-request-id"), "/rle/batch");
  assertEquals(JSON.parse((await batch.text()).trim()).ImageId, "a");
  // A volume job's Server-Sent Events.
  const queue = new JobQueue<VolumeResult>();
  const app = createApp().route("/", createVolumeRoutes({ queue }));
  const job = queue.submit({
    bytes: 1,
    run: () =>
      Promise.resolve({
        nifti: new Uint8Array(4),
        summary: { backend: { name: "test" } },
        timings: {},
      }),
    meta: { model: "test", shape: [1, 1, 1] },
  });
  await queue.settled(job.id);
  const events = await app.request(`/segment/volume/jobs/${job.id}`);
  assertEquals(events.status, 200);
  assert(events.headers.get("content-type")?.startsWith("text/event-stream"));
  assert(events.headers.get("x-request-id"), "SSE");
  assert((await events.text()).includes("event: result"));
  // A request id the caller sent is the one answered.
  const own = await main.request("/nope", { headers: { "x-request-id": "abc-123" } });
  assertEquals(own.headers.get("x-request-id"), "abc-123");
  await own.body?.cancel();
});

Deno.test("GET /health on every function's app, the dev server's with its memory and tensors", async () => {
  for (const [name, app] of Object.entries({ cxr, dicom, mammo, rle, series, slice, volume })) {
    const res = await app.request("/health");
    assertEquals(res.status, 200, name);
    assertEquals((await res.json()).status, "ok", name);
    assert(res.headers.get("x-request-id"), name);
  }
  const health = await (await main.request("/health")).json();
  assertEquals(health.status, "ok");
  assertEquals(health.functions, ["rle", "dicom", "mammo", "slice", "cxr", "volume", "series"]);
  assert(typeof health.memory_mb.rss === "number");
  assert("tfjs" in health);
});

Deno.test("body fields that mirror query parameters follow the same declaration", async () => {
  const form = new FormData();
  form.append("image", new File([new Uint8Array(10)], "film.png"));
  form.append("view", "LL");
  const view = await expectProblem(
    await main.request("/cxr/classify", { method: "POST", body: form }),
    400,
    "cxr form view=LL",
  );
  assertEquals([view.field, view.detail], [
    "view",
    'view must be PA or AP (case ignored), got "LL"',
  ]);
  const sex = await expectProblem(
    await main.request("/cxr/classify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image: "AAAA", sex: "x" }),
    }),
    400,
    "cxr JSON sex=x",
  );
  assertEquals(sex.field, "sex");
  const flip = new FormData();
  flip.append("mask", new File([new Uint8Array(10)], "roi.png"));
  flip.append("lr_flip", "yes");
  const mask = await expectProblem(
    await main.request("/mammo/mask", { method: "POST", body: flip }),
    400,
    "mammo form lr_flip=yes",
  );
  assertEquals(mask.field, "lr_flip");
  assert(mask.detail.includes("true or false (or 1 or 0)"), mask.detail);
});
