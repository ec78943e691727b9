import { assert, assertEquals } from "@std/assert";
import { createApp } from "../../lib/http/mod.ts";
import { forwardRoutes } from "../../lib/http/forward.ts";

/** A stand-in origin: echoes what it received; /segment/volume/job/events streams slowly. */
function fakeOrigin(): { server: Deno.HttpServer; url: string } {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname.endsWith("/events")) {
      let n = 0;
      const body = new ReadableStream({
        async pull(ctl) {
          if (n === 3) return ctl.close();
          await new Promise((r) => setTimeout(r, 40));
          ctl.enqueue(new TextEncoder().encode(`data: ${n++}\n\n`));
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    const bytes = new Uint8Array(await req.arrayBuffer());
    return Response.json({
      method: req.method,
      path: url.pathname,
      search: url.search,
      authorization: req.headers.get("authorization"),
      apiKey: req.headers.get("x-api-key"),
      length: bytes.length,
      sum: bytes.reduce((a, b) => a + b, 0),
    }, { status: 202, headers: { location: "/segment/volume/abc" } });
  });
  return { server, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("forwardRoutes: method, path, query, body and status pass through; the origin key replaces the caller's", async () => {
  const { server, url } = fakeOrigin();
  try {
    const app = createApp().route("/", forwardRoutes(url, ["/segment/volume"], "origin-key"));
    const body = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const res = await app.request("/segment/volume?wait=1", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x", "x-api-key": "edge-key" },
      body,
    });
    assertEquals(res.status, 202);
    assertEquals(res.headers.get("location"), "/segment/volume/abc");
    const seen = await res.json();
    assertEquals(seen, {
      method: "POST",
      path: "/segment/volume",
      search: "?wait=1",
      authorization: "Bearer origin-key",
      apiKey: null,
      length: 100_000,
      sum: body.reduce((a, b) => a + b, 0),
    });
    const get = await (await app.request("/segment/volume/abc/result?format=json")).json();
    assertEquals([get.method, get.path, get.search], [
      "GET",
      "/segment/volume/abc/result",
      "?format=json",
    ]);
    assertEquals((await app.request("/rle/decode")).status, 404);
  } finally {
    await server.shutdown();
  }
});

Deno.test("forwardRoutes: Server-Sent Events stream through, each event as the origin sends it", async () => {
  const { server, url } = fakeOrigin();
  try {
    const app = createApp().route("/", forwardRoutes(url, ["/segment/volume"]));
    const res = await app.request("/segment/volume/abc/events");
    assertEquals(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    const t0 = performance.now();
    const first = await reader.read();
    const firstAt = performance.now() - t0;
    assertEquals(new TextDecoder().decode(first.value), "data: 0\n\n");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += new TextDecoder().decode(r.value);
    }
    assertEquals(rest, "data: 1\n\ndata: 2\n\n");
    const endAt = performance.now() - t0;
    // Two more events follow 40 ms apart: had the proxy buffered, all would arrive together.
    assert(endAt - firstAt >= 60, `first event at ${firstAt} ms, end at ${endAt} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("forwardRoutes: an unreachable origin is a 503 problem with Retry-After", async () => {
  const app = createApp().route("/", forwardRoutes("http://127.0.0.1:9", ["/segment/volume"]));
  const res = await app.request("/segment/volume", { method: "POST", body: "x" });
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("retry-after"), "10");
  assert(
    (await res.json()).detail.startsWith(
      "the GPU origin at http://127.0.0.1:9 could not be reached",
    ),
  );
});

Deno.test("the dev server with MEDIMG_ORIGIN_URL forwards volume jobs and says so in /health", async () => {
  const { server: origin, url } = fakeOrigin();
  const port = 18_600 + Math.floor(Math.random() * 90);
  const root = new URL("../../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "functions/main.ts"],
    cwd: root,
    env: { PORT: String(port), MEDIMG_ORIGIN_URL: url, MEDIMG_ORIGIN_API_KEY: "gpu-key" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let health: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && !health; i++) {
      try {
        health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assertEquals(health?.origin, url);
    assertEquals(health?.tfjs, null);
    const res = await fetch(`http://127.0.0.1:${port}/segment/volume?wait=1`, {
      method: "POST",
      body: "four niftis",
    });
    assertEquals(res.status, 202);
    const seen = await res.json();
    assertEquals([seen.path, seen.authorization, seen.length], [
      "/segment/volume",
      "Bearer gpu-key",
      11,
    ]);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await origin.shutdown();
  }
});
