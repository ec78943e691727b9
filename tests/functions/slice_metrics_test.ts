/**
 * POST /segment/slice with a ground truth answers seed 004's metrics beside dice/IoU: the shipped
 * fundus-vessels model on a real DRIVE test photo, its manual mask and field of view sent; the
 * answer's metrics equal reference/metrics_reference.py (numpy, scipy's rankdata) on the route's
 * own float32 probabilities (format=raw) and mask (the answer's RLE) to 1e-6.
 */
import { assert, assertEquals } from "@std/assert";
import { maskFromBytes } from "../../lib/decode/mod.ts";
import { overlapScores } from "../../lib/image/measure.ts";
import { parseRle, runsToMask } from "../../lib/rle/mod.ts";
import { dataFile } from "../_data.ts";
import { assertClose, metricsPythonMissing, metricsReference } from "../_metrics_reference.ts";

Deno.env.set("MEDIMG_MODELS_DIR", new URL("../../models/", import.meta.url).pathname);
const { app } = await import("../../functions/slice.ts");

const files = ["images/01_test.png", "1st_manual/01_manual1.png", "mask/01_test_mask.png"]
  .map((f) => dataFile(`drive/png/test/${f}`));
const pythonMissing = await metricsPythonMissing();
if (pythonMissing) console.log(`skipping the Python parity of the slice metrics: ${pythonMissing}`);

Deno.test({
  name:
    "POST /segment/slice: fundus-vessels on DRIVE 01 with truth and FOV answers the metrics numpy computes",
  ignore: files.some((f) => !f) || pythonMissing !== null,
  async fn() {
    const [photo, manual, fovFile] = files.map((f) => Deno.readFileSync(f!));
    const ask = async (query: string, withTruth: boolean) => {
      const form = new FormData();
      form.append("image", new Blob([photo]), "01_test.png");
      if (withTruth) {
        form.append("mask", new Blob([manual]), "01_manual1.png");
        form.append("fov", new Blob([fovFile]), "01_test_mask.png");
      }
      const res = await app.request(`/segment/slice?model=fundus-vessels${query}`, {
        method: "POST",
        body: form,
      });
      assertEquals(res.status, 200, await res.clone().text());
      return res;
    };
    const j = await (await ask("&format=json", true)).json();
    const raw = new Uint8Array(await (await ask("&format=raw&probs=1", false)).arrayBuffer());
    const probs = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const { width, height } = j.input;
    assertEquals(probs.length, width * height);
    const truth = (await maskFromBytes(manual)).mask, fov = (await maskFromBytes(fovFile)).mask;
    const { dialect, order, value } = j.rle;
    const mask = runsToMask([parseRle(value, dialect, width, height)], width, height, order);

    const ref = await metricsReference("slice", [probs, truth, fov, mask], []);
    assertClose(j.metrics, ref, 1e-6, "metrics");
    // the same counts as dice/IoU (inside the FOV), and the model is a real one: AUC near its card's
    const m = j.metrics;
    assertEquals(m.tp, j.ground_truth.intersection);
    assertEquals(m.pixels, j.fov_pixels);
    assertEquals(j.ground_truth, overlapScores(mask, truth.map((v, i) => v & fov[i])));
    assert(Math.abs(m.iou_per_class.foreground - j.ground_truth.iou) < 1e-12);
    assert(m.auc > 0.95 && m.auc < 1, `AUC ${m.auc}`);
    assert(m.kappa > 0.6 && m.kappa < 1 && m.miou > 0.7, JSON.stringify(m));
  },
});

Deno.test("POST /segment/slice: without a ground truth there are no metrics", async () => {
  const form = new FormData();
  // a black 40x30 photo: only the answer's keys matter here
  const { encodeImagePng } = await import("../../lib/image/png.ts");
  form.append("image", new Blob([await encodeImagePng(new Uint8Array(40 * 30 * 3), 40, 30, 3)]));
  const res = await app.request("/segment/slice?model=fundus-vessels&format=json", {
    method: "POST",
    body: form,
  });
  const j = await res.json();
  assertEquals(res.status, 200, JSON.stringify(j));
  assertEquals([j.metrics, j.ground_truth], [undefined, undefined]);
});
