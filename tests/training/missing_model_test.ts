/**
 * The 404 for a preset model no one has trained yet (ct-liver, cxr-pneumothorax) names the one
 * command that makes it from the user's own data, with the models root filled in; other missing
 * models keep the plain answer.
 */
import { assert, assertEquals } from "@std/assert";
import { TRAIN_COMMANDS } from "../../lib/models/recipes.ts";

const root = await Deno.makeTempDir({ prefix: "no-models-" });
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/slice.ts");

async function missing(name: string): Promise<string> {
  const res = await app.request(`/segment/slice?model=${name}`, {
    method: "POST",
    body: new Uint8Array([1, 2, 3]),
  });
  const body = await res.json();
  assertEquals(res.status, 404, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  return String(body.detail);
}

Deno.test("404 for a missing ct-liver model names deno task train:ct-liver and the models root", async () => {
  const detail = await missing("ct-liver");
  assert(
    detail.includes(
      `\`deno task train:ct-liver --data <folder of 3D-IRCADb-style patients, or its .tar.gz> --out ${root}/ct-liver\``,
    ),
    detail,
  );
  assert(detail.includes('README "Bring your own data"'), detail);
  assert(detail.includes("models/README.md"), detail); // converting a Keras .h5 still works
});

Deno.test("404 for a missing cxr-pneumothorax model names deno task train:cxr-pneumothorax", async () => {
  const detail = await missing("cxr-pneumothorax");
  assert(
    detail.includes(
      `\`deno task train:cxr-pneumothorax --data <folder of SIIM DICOMs> --csv <train-rle.csv> --out ${root}/cxr-pneumothorax\``,
    ),
    detail,
  );
});

Deno.test("404 for another missing model names no training command", async () => {
  const detail = await missing("no-such-model");
  assert(!detail.includes("deno task train:"), detail);
  assert(detail.includes("models/README.md"), detail);
});

Deno.test("404 from the project's own models/ names it as models/, the path the task runs from", async () => {
  const { findModel } = await import("../../lib/models/registry.ts");
  const projectModels = new URL("../../models", import.meta.url).pathname;
  try {
    Deno.statSync(`${projectModels}/ct-liver/card.json`);
    console.log("skipping: a ct-liver model is installed in models/");
    return;
  } catch { /* not installed: the usual case */ }
  const err = await findModel("ct-liver", projectModels).catch((e) => e as Error);
  assert(err instanceof Error);
  assert(err.message.includes("--out models/ct-liver`"), err.message);
});

Deno.test("every training command names a task deno.json has", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)))
    .tasks;
  for (const cmd of Object.values(TRAIN_COMMANDS)) {
    const task = /^deno task (\S+) /.exec(cmd)![1];
    assert(tasks[task], `deno.json has no task ${task}`);
  }
  await Deno.remove(root, { recursive: true });
});
