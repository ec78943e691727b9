import { assert, assertEquals } from "@std/assert";
import { Hono } from "hono";
import { app as main } from "../../functions/main.ts";
import { createApp, negotiate } from "../../lib/http/mod.ts";
import { safeEqual } from "../../lib/http/auth.ts";
import { type AppEnv, EXPOSED_HEADERS } from "../../lib/http/app.ts";

function withEnv(vars: Record<string, string>, fn: () => Promise<void>) {
  return async () => {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    try {
      await fn();
    } finally {
      for (const k of Object.keys(vars)) Deno.env.delete(k);
    }
  };
}

Deno.test("GET /health answers ok with a request id and Server-Timing", async () => {
  const res = await main.request("/health");
  assertEquals(res.status, 200);
  assertEquals((await res.json()).status, "ok");
  assert(res.headers.get("x-request-id"));
  assert(res.headers.get("server-timing")?.startsWith("total;dur="));
});

Deno.test("an unknown route is a 404 problem naming the path", async () => {
  const res = await main.request("/nope", { method: "POST" });
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals([body.title, body.detail, body.instance], [
    "Not Found",
    "no route for POST /nope",
    "/nope",
  ]);
  assertEquals(body.request_id, res.headers.get("x-request-id"));
});

Deno.test("an unexpected error is an opaque 500 problem: nothing of the error reaches the caller", async () => {
  const app = createApp().route(
    "/",
    new Hono<AppEnv>().get("/boom", () => {
      throw new Error("PatientName=DOE^JOHN secret path /etc/x");
    }),
  );
  const original = console.error;
  console.error = () => {};
  try {
    const res = await app.request("/boom");
    assertEquals(res.status, 500);
    const text = await res.text();
    assert(!text.includes("DOE") && !text.includes("/etc/x"), text);
    assertEquals(
      JSON.parse(text).detail,
      "internal error; the request id identifies it in the server log",
    );
  } finally {
    console.error = original;
  }
});

Deno.test(
  "MEDIMG_API_KEY set: 401 without or with a wrong key, 200 with Bearer or x-api-key, /health and the static documents open",
  withEnv({ MEDIMG_API_KEY: "s3cret" }, async () => {
    const path = "/rle/decode?rle=0%201&width=2&height=2&format=json";
    const none = await main.request(path);
    assertEquals(none.status, 401);
    assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="medimg-edge"');
    assert((await none.json()).detail.includes("an API key is required"));
    assertEquals(
      (await main.request(path, { headers: { authorization: "Bearer wrong" } })).status,
      401,
    );
    assertEquals((await main.request(path, { headers: { "x-api-key": "s3cre" } })).status, 401);
    assertEquals(
      (await main.request(path, { headers: { authorization: "Bearer s3cret" } })).status,
      200,
    );
    assertEquals((await main.request(path, { headers: { "x-api-key": "s3cret" } })).status, 200);
    assertEquals((await main.request("/health")).status, 200);
    // The static documents hold no data and stay open; every route that reads input does not.
    for (const open of ["/", "/openapi.json", "/docs", "/docs/init.js"]) {
      assertEquals((await main.request(open)).status, 200, open);
    }
    assertEquals((await main.request("/dicom/info", { method: "POST", body: "x" })).status, 401);
    assertEquals((await main.request("/", { method: "POST", body: "x" })).status, 401);
    assertEquals((await main.request("/docs/../rle/decode")).status, 401);
  }),
);

Deno.test("MEDIMG_API_KEY unset: open", async () => {
  assertEquals(
    (await main.request("/rle/decode?rle=0%201&width=2&height=2&format=json")).status,
    200,
  );
});

Deno.test("safeEqual compares keys of any length", async () => {
  assert(await safeEqual("abc", "abc"));
  assert(!(await safeEqual("abc", "abd")));
  assert(!(await safeEqual("abc", "abcd")));
});

Deno.test(
  "MEDIMG_CORS_ORIGINS turns CORS on for the listed origins",
  withEnv({ MEDIMG_CORS_ORIGINS: "https://viewer.example" }, async () => {
    const app = createApp().route("/", new Hono<AppEnv>().get("/x", (c) => c.text("x")));
    const res = await app.request("/x", { headers: { origin: "https://viewer.example" } });
    assertEquals(res.headers.get("access-control-allow-origin"), "https://viewer.example");
    assert(res.headers.get("access-control-expose-headers")?.includes("Server-Timing"));
  }),
);

Deno.test("CORS exposes every response header the OpenAPI document lists", async () => {
  const doc = await (await main.request("/openapi.json")).json();
  const documented = new Set<string>();
  for (const ops of Object.values(doc.paths) as Record<string, { responses?: object }>[]) {
    for (const op of Object.values(ops)) {
      for (const answer of Object.values(op.responses ?? {}) as { headers?: object }[]) {
        for (const h of Object.keys(answer.headers ?? {})) documented.add(h.toLowerCase());
      }
    }
  }
  const exposed = new Set(EXPOSED_HEADERS.map((h) => h.toLowerCase()));
  // WWW-Authenticate is for the 401 a browser handles itself; the rest a script may read.
  const missing = [...documented].filter((h) => !exposed.has(h) && h !== "www-authenticate");
  assertEquals(missing, []);
  assert(documented.has("x-image-channels") && documented.has("x-mammo-lr-flip"));
});

Deno.test(
  "a body over MEDIMG_BODY_LIMIT is a 413 problem, from Content-Length or while streaming",
  withEnv({ MEDIMG_BODY_LIMIT: "100" }, async () => {
    const app = createApp().route(
      "/",
      new Hono<AppEnv>().post(
        "/x",
        async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)),
      ),
    );
    const big = await app.request("/x", { method: "POST", body: "x".repeat(101) });
    assertEquals(big.status, 413);
    assertEquals((await big.json()).detail, "request body is over the limit of 100 bytes");
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(30));
        c.close();
      },
    });
    const streamed = await app.request(
      "/x",
      { method: "POST", body: stream, duplex: "half" } as RequestInit,
    );
    assertEquals(streamed.status, 413);
    assertEquals((await app.request("/x", { method: "POST", body: "x".repeat(100) })).status, 200);
  }),
);

Deno.test("negotiate: ?format wins, then Accept with q-values, exact types over wildcards, else the first offer", async () => {
  const app = new Hono().get("/n", (c) => c.text(negotiate(c, ["png", "json", "raw"] as const)));
  const ask = async (accept?: string, q = "") =>
    await (await app.request(`/n${q}`, { headers: accept ? { accept } : {} })).text();
  assertEquals(await ask(), "png");
  assertEquals(await ask("*/*"), "png");
  assertEquals(await ask("application/json"), "json");
  assertEquals(await ask("image/png;q=0.5, application/json"), "json");
  assertEquals(await ask("application/*, image/png;q=0.1"), "json");
  assertEquals(await ask("application/octet-stream, */*;q=0.8"), "raw");
  assertEquals(await ask("image/png", "?format=raw"), "raw");
});

async function startAlone(file: string, port: number, deno = Deno.execPath()) {
  const child = new Deno.Command(deno, {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", file],
    // The shipped models, whatever another test module set MEDIMG_MODELS_DIR to in this process.
    env: {
      PORT: String(port),
      MEDIMG_MODELS_DIR: new URL("../../models/", import.meta.url).pathname,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${file} exited before listening`);
    out += value;
  }
  reader.releaseLock();
  return child;
}

/** Each function alone: its routes and no other's in /openapi.json, and one call answered. */
const ALONE: [string, string[], string, RequestInit, number][] = [
  [
    "rle",
    ["/rle/batch", "/rle/decode", "/rle/encode"],
    "/rle/decode?rle=1%201&width=2&height=2&format=json",
    {},
    200,
  ],
  ["dicom", ["/dicom/info", "/dicom/render"], "/dicom/info", {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: "not a DICOM file at all",
  }, 400],
  ["mammo", ["/mammo/mapback", "/mammo/mask", "/mammo/preprocess"], "/mammo/preprocess?bits=12", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: new Uint8Array(10),
  }, 400],
  ["slice", ["/models", "/segment/slice"], "/models", {}, 200],
  [
    "series",
    [
      "/segment/series",
      "/segment/series/jobs/{id}",
      "/segment/series/jobs/{id}/result",
    ],
    "/segment/series",
    {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    },
    415,
  ],
  ["cxr", ["/cxr/classify"], "/cxr/classify", {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: "x",
  }, 400],
  [
    "volume",
    [
      "/segment/volume",
      "/segment/volume/jobs/{id}",
      "/segment/volume/jobs/{id}/result",
    ],
    "/segment/volume/jobs/nope",
    {},
    404,
  ],
];

/**
 * Deno Deploy runs Deno 2.5.x and stops an app with SIGINT (then SIGKILL 5 s later): where
 * MEDIMG_DENO_25 names a 2.5 binary (.ci/run installs one beside the main Deno), each function also
 * starts alone under it, answers, and exits cleanly on SIGINT.
 */
const DENO_25 = Deno.env.get("MEDIMG_DENO_25");
if (!DENO_25) {
  console.log(
    "skipping the run-alone tests under Deno 2.5: MEDIMG_DENO_25 is not set (.ci/run sets it)",
  );
}
const RUNTIMES: { deno: string; label: string; signal: Deno.Signal }[] = [
  { deno: Deno.execPath(), label: "deno", signal: "SIGTERM" },
  ...(DENO_25 ? [{ deno: DENO_25, label: "deno 2.5", signal: "SIGINT" as const }] : []),
];

if (DENO_25) {
  Deno.test("MEDIMG_DENO_25 is a Deno 2.5 binary", async () => {
    const out = await new Deno.Command(DENO_25, { args: ["--version"], stdout: "piped" }).output();
    const version = new TextDecoder().decode(out.stdout).split("\n")[0];
    assert(version.startsWith("deno 2.5."), version);
  });
}

for (const { deno, label, signal } of RUNTIMES) {
  for (const [name, paths, call, init, status] of ALONE) {
    Deno.test(`${label} run functions/${name}.ts serves just its routes and /health, and stops cleanly on ${signal}`, async () => {
      const port = 18000 + Math.floor(Math.random() * 1000);
      const file = new URL(`../../functions/${name}.ts`, import.meta.url).pathname;
      const child = await startAlone(file, port, deno);
      try {
        const doc = await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json();
        assertEquals(Object.keys(doc.paths).sort(), paths);
        const res = await fetch(`http://127.0.0.1:${port}${call}`, init);
        assertEquals(res.status, status, `${name}: ${call}`);
        // Read to the end: a response left half-read keeps its connection busy, and Deno 2.5's
        // graceful shutdown then waits minutes for it (2.9 does not).
        await res.arrayBuffer();
        // Platform health checks reach each function alone (issue 15, point 15).
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        assertEquals(health.status, 200, `${name}: /health`);
        assertEquals((await health.json()).status, "ok", `${name}: /health`);
        assert(health.headers.get("x-request-id"), `${name}: /health`);
      } finally {
        child.kill(signal);
        const st = await child.status;
        await child.stdout.cancel().catch(() => {});
        // serve() shuts down gracefully on both; Deno Deploy's SIGINT must be handled (exit 0),
        // not kill the process.
        assert(
          signal === "SIGINT" ? st.success : st.success || st.signal === signal,
          JSON.stringify(st),
        );
      }
    });
  }
}

Deno.test("deno run functions/main.ts serves every function and stops cleanly on SIGTERM", async () => {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const child = await startAlone(
    new URL("../../functions/main.ts", import.meta.url).pathname,
    port,
  );
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assertEquals(res.status, 200);
    const health = await res.json();
    assertEquals(health.functions, ["rle", "dicom", "mammo", "slice", "cxr", "volume", "series"]);
    const doc = await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json();
    for (const [, paths] of ALONE) for (const p of paths) assert(p in doc.paths, p);
  } finally {
    child.kill("SIGTERM");
    const st = await child.status;
    await child.stdout.cancel().catch(() => {});
    assert(st.success || st.signal === "SIGTERM", JSON.stringify(st));
  }
});

async function moduleGraph(file: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(`../../${file}`, import.meta.url).pathname],
    stdout: "piped",
  }).output();
  // Only `modules` is the file's graph; `npmPackages` lists every package of the lockfile.
  return JSON.parse(new TextDecoder().decode(out.stdout)).modules.map((m: { specifier: string }) =>
    m.specifier
  );
}

const HEAVY = /tfjs|tensorflow|dicom|cornerstone|openjpeg|charls|jpeg-lossless/i;

Deno.test("functions/rle.ts loads no tfjs and no DICOM codec (edge cold start)", async () => {
  const rle = await moduleGraph("functions/rle.ts");
  assert(rle.some((n) => n.includes("hono")), "the graph was read");
  assertEquals(rle.filter((n) => HEAVY.test(n)), []);
  // The check sees a DICOM import where there is one.
  assert((await moduleGraph("functions/dicom.ts")).some((n) => HEAVY.test(n)));
});
