import { assert, assertEquals } from "@std/assert";
import { Hono } from "hono";
import { app as mammo } from "../../functions/mammo.ts";
import { type AppEnv, createApp, runSteps } from "../../lib/http/mod.ts";
import { concurrencyLimit, refuseOverBudget } from "../../lib/http/limits.ts";
import { dataFile } from "../_data.ts";

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* CPU work that no timer can interrupt */ }
}

async function withBudget<T>(ms: string, fn: () => T | Promise<T>): Promise<T> {
  Deno.env.set("MEDIMG_TIME_BUDGET_MS", ms);
  try {
    return await fn();
  } finally {
    Deno.env.delete("MEDIMG_TIME_BUDGET_MS");
  }
}

Deno.test("time budget: work past it stops at the next stage with 503 naming the stage", async () => {
  let reached = false;
  const app = createApp().route(
    "/",
    new Hono<AppEnv>().get("/slow", (c) =>
      runSteps(c, (run) => {
        run.step("first", () => busy(40));
        run.step("second", () => (reached = true));
        return c.text("done");
      })),
  );
  const res = await withBudget("20", () => app.request("/slow"));
  const body = await res.json();
  assertEquals(res.status, 503);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assert(body.detail.includes("time budget of 20 ms (at stage first)"), body.detail);
  assertEquals(reached, false);
  // Within the budget the same route answers.
  assertEquals((await withBudget("5000", () => app.request("/slow"))).status, 200);
});

Deno.test("time budget: work estimated past it is refused before it starts", async () => {
  let started = false;
  const app = createApp().route(
    "/",
    new Hono<AppEnv>().get("/big", (c) => {
      refuseOverBudget(c, 90_000, "64 tiles of inference");
      started = true;
      return c.text("done");
    }),
  );
  const res = await withBudget("1000", () => app.request("/big"));
  assertEquals(res.status, 503);
  const body = await res.json();
  assert(body.detail.startsWith("64 tiles of inference would take about 90000 ms"), body.detail);
  assertEquals(body.estimated_ms, 90000);
  assertEquals(started, false);
});

Deno.test("concurrency limit: max running, a bounded queue in order, then 503 with Retry-After", async () => {
  const gates: (() => void)[] = [];
  const order: number[] = [];
  const routes = new Hono<AppEnv>()
    .use("/model/*", concurrencyLimit({ max: 1, queue: 1, retryAfter: 2 }))
    .get("/model/:n", async (c) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      order.push(Number(c.req.param("n")));
      return c.text("ok");
    });
  const app = createApp().route("/", routes);
  const first = app.request("/model/1");
  const second = app.request("/model/2");
  await new Promise((r) => setTimeout(r, 10));
  const third = await app.request("/model/3");
  assertEquals(third.status, 503);
  assertEquals(third.headers.get("retry-after"), "2");
  assert((await third.json()).detail.startsWith("busy: 1 requests running and 1 waiting"));
  assertEquals(gates.length, 1, "the queued request must not start while the first runs");
  gates.shift()!();
  assertEquals((await first).status, 200);
  await new Promise((r) => setTimeout(r, 10));
  gates.shift()!();
  assertEquals((await second).status, 200);
  assertEquals(order, [1, 2]);
  // Slots are freed: the next request runs at once.
  const fourth = app.request("/model/4");
  await new Promise((r) => setTimeout(r, 10));
  gates.shift()!();
  assertEquals((await fourth).status, 200);
});

const mammogram = dataFile("ddsm-tissue-seg/images/B_3627_1.RIGHT_MLO.png");

Deno.test({
  name: "time budget on a real route: /mammo/preprocess with 1 ms left stops with 503",
  ignore: !mammogram,
  async fn() {
    const bytes = await Deno.readFile(mammogram!);
    const res = await withBudget("1", () =>
      mammo.request("/mammo/preprocess", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: bytes,
      }));
    assertEquals(res.status, 503);
    assert((await res.json()).detail.includes("time budget of 1 ms"));
  },
});
