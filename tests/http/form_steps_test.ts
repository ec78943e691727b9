import { assert, assertEquals } from "@std/assert";
import { Hono } from "hono";
import { BadInputError } from "../../lib/errors.ts";
import { type AppEnv, createApp, readForm, runSteps } from "../../lib/http/mod.ts";

function form(parts: Record<string, string | Blob | (string | Blob)[]>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(parts)) for (const x of [v].flat()) f.append(k, x);
  return f;
}

const app = createApp().route(
  "/",
  new Hono<AppEnv>()
    .post("/slice", async (c) => {
      const r = await readForm(c, {
        files: ["image", "mask"],
        required: ["image"],
        fields: ["rle"],
      });
      return c.json({
        image: r.files.image!.length,
        mask: r.files.mask?.length,
        rle: r.fields.rle,
      });
    })
    .post("/masks", async (c) => {
      const r = await readForm(c, { repeated: "mask", fields: ["lr_flip"], fileAsText: true });
      return c.json({ masks: r.repeated.length, flip: r.fields.lr_flip });
    })
    .post("/volume", async (c) => {
      const r = await readForm(c, { files: ["t1", "seg"], onlyFiles: true, skipText: true });
      return c.json(Object.keys(r.files));
    })
    .get("/fails", (c) =>
      runSteps(c, (run) => {
        run.step("ok", () => 1);
        run.step("boom", () => {
          throw new BadInputError("boom");
        });
        return c.text("never");
      })),
);

async function detail(path: string, body: FormData | string): Promise<[number, string]> {
  const res = await app.request(path, { method: "POST", body });
  const j = await res.json();
  return [res.status, j.detail ?? JSON.stringify(j)];
}

Deno.test("readForm: files as bytes, text fields as strings", async () => {
  const res = await app.request("/slice", {
    method: "POST",
    body: form({ image: new Blob([new Uint8Array(3)]), rle: "1 2" }),
  });
  assertEquals(await res.json(), { image: 3, rle: "1 2" });
});

Deno.test("readForm: the messages the four forms answered with (400)", async () => {
  assertEquals(await detail("/slice", form({ rle: "1 2" })), [400, "the form has no image field"]);
  assertEquals(await detail("/slice", form({ image: "text" })), [400, "image must be a file"]);
  assertEquals(await detail("/masks", form({ mask: "x" })), [
    400,
    "each mask field must be a file",
  ]);
  assertEquals(
    await detail("/volume", form({ t2: new Blob(["x"]) })),
    [400, 'unexpected file field "t2": the form takes t1, seg'],
  );
  assertEquals(await detail("/volume", form({ t1: "text", seg: new Blob(["x"]) })), [
    200,
    '["seg"]',
  ]);
  assertEquals(
    await detail("/masks", form({ mask: new Blob(["x"]), lr_flip: new Blob(["1"]) })),
    [200, '{"masks":1,"flip":"[object File]"}'],
  );
  const [status, text] = await detail("/slice", "not a form");
  assertEquals(status, 400);
  assert(text.startsWith("multipart body could not be read"), text);
});

Deno.test("runSteps: the steps run before a throw still reach Server-Timing", async () => {
  const res = await app.request("/fails");
  assertEquals(res.status, 400);
  const timing = res.headers.get("server-timing") ?? "";
  assert(timing.includes("ok;") && timing.includes("boom;"), timing);
});

Deno.test("runSteps: a step that fails past the budget answers its own error, as timed did", async () => {
  const slow = createApp().route(
    "/",
    new Hono<AppEnv>().get("/late", (c) =>
      runSteps(c, (run) =>
        run.step("late", () => {
          const end = performance.now() + 30;
          while (performance.now() < end) { /* past the budget */ }
          throw new BadInputError("its own error");
        }))),
  );
  Deno.env.set("MEDIMG_TIME_BUDGET_MS", "5");
  try {
    const res = await slow.request("/late");
    assertEquals([res.status, (await res.json()).detail], [400, "its own error"]);
  } finally {
    Deno.env.delete("MEDIMG_TIME_BUDGET_MS");
  }
});
