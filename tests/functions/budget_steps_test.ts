/**
 * The mammo and cxr pipelines stop between their steps when the request's time budget runs out:
 * a run whose check throws after step k runs no later step, and through an app the 503 problem
 * names the step it stopped after (lib/http/steps.ts' stepOptions is the real budget check).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { Hono } from "hono";
import { CXR_MODEL } from "../../functions/cxr.ts";
import { decodeImage } from "../../lib/decode/mod.ts";
import { UnavailableError } from "../../lib/errors.ts";
import { type AppEnv, createApp, stepOptions } from "../../lib/http/mod.ts";
import { loadModel } from "../../lib/models/load.ts";
import { modelsRoot } from "../../lib/models/registry.ts";
import { classifyCxr, cxrPreprocess } from "../../lib/pipelines/cxr.ts";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";
import { dataFile } from "../_data.ts";

const MAMMO_STEPS = ["crop", "normalise", "artefacts", "flip", "clahe", "pad"];
const CXR_STEPS = ["features", "grey8", "clahe", "resample", "resize", "scale", "model"];

/** A check that records each step and throws after `last`. */
function stopAfter(last: string) {
  const seen: string[] = [];
  const check = (step: string) => {
    seen.push(step);
    if (step === last) throw new UnavailableError(`stopped at stage ${step}`, { stage: step });
  };
  return { seen, check };
}

/** A grey 16-bit test image with a bright "breast" on the right. */
function mammogram(width = 300, height = 400) {
  const data = new Uint16Array(width * height);
  for (let y = 60; y < 340; y++) {
    for (let x = 150; x < width; x++) data[y * width + x] = 20000 + x * 20 + y * 5;
  }
  return { width, height, channels: 1 as const, data };
}

Deno.test("mammo: a check that throws after step k stops the run there, no later step runs", () => {
  for (const [k, last] of MAMMO_STEPS.entries()) {
    const { seen, check } = stopAfter(last);
    assertThrows(
      () => mammoPreprocess(mammogram(), {}, { check, keep: true }),
      UnavailableError,
      `stage ${last}`,
    );
    assertEquals(seen, MAMMO_STEPS.slice(0, k + 1));
  }
  // Without a stop every step is checked once, in order.
  const all: string[] = [];
  mammoPreprocess(mammogram(), {}, { check: (s) => all.push(s) });
  assertEquals(all, MAMMO_STEPS);
});

Deno.test("cxr preprocessing: a check that throws after step k stops the run there", () => {
  const steps = CXR_STEPS.slice(1, 6);
  for (const [k, last] of steps.entries()) {
    const { seen, check } = stopAfter(last);
    assertThrows(
      () => cxrPreprocess(mammogram(), [0.2, 0.2], {}, { check }),
      UnavailableError,
      `stage ${last}`,
    );
    assertEquals(seen, steps.slice(0, k + 1));
  }
});

const shipped = await Deno.stat(`${modelsRoot()}/${CXR_MODEL}/card.json`).then(
  () => true,
  () => false,
);
const film = dataFile("rsna-pneumonia/00436515-870c-4b36-a041-de91049b9ab4.dcm");

Deno.test({
  name: "cxr classification: stopped after clahe, the model never runs; every step is checked",
  ignore: !shipped || !film,
  async fn() {
    const loaded = await loadModel(CXR_MODEL);
    const decoded = await decodeImage(await Deno.readFile(film!));
    let predicted = 0;
    const model = loaded.model as unknown as { predict: (...a: unknown[]) => unknown };
    const predict = model.predict.bind(model);
    model.predict = (...a: unknown[]) => (predicted++, predict(...a));
    try {
      const { seen, check } = stopAfter("clahe");
      assertThrows(() => classifyCxr(loaded, decoded, {}, { check }), UnavailableError, "clahe");
      assertEquals(seen, ["features", "grey8", "clahe"]);
      assertEquals(predicted, 0);
      const all: string[] = [];
      const r = classifyCxr(loaded, decoded, {}, { check: (s) => all.push(s) });
      assertEquals(all, CXR_STEPS);
      assertEquals(predicted, 1);
      assertEquals(Object.keys(r.timings), CXR_STEPS);
    } finally {
      model.predict = predict;
    }
  },
});

/** An app whose route runs mammo with the request's budget, the budget spent after `spendAfter`. */
function budgetApp(spendAfter: string, seen: string[]) {
  return createApp().route(
    "/",
    new Hono<AppEnv>().post("/mammo", (c) => {
      const run = stepOptions(c);
      mammoPreprocess(mammogram(), {}, {
        check: (step) => {
          seen.push(step);
          if (step === spendAfter) {
            const end = performance.now() + 600;
            while (performance.now() < end) { /* the budget runs out during this step */ }
          }
          run.check(step);
        },
      });
      return c.text("done");
    }),
  );
}

Deno.test("through an app: the budget running out in a step is a 503 naming it; later steps never run", async () => {
  Deno.env.set("MEDIMG_TIME_BUDGET_MS", "500");
  try {
    const seen: string[] = [];
    const res = await budgetApp("artefacts", seen).request("/mammo", { method: "POST" });
    const body = await res.json();
    assertEquals(res.status, 503);
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    assert(body.detail.includes("(at stage artefacts)"), body.detail);
    assertEquals(seen, ["crop", "normalise", "artefacts"]);
  } finally {
    Deno.env.delete("MEDIMG_TIME_BUDGET_MS");
  }
});
