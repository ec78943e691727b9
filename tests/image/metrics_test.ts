/**
 * Seed 004's metrics (lib/image/metrics.ts): by hand on tiny masks, the undefined cases, and equal
 * to reference/metrics_reference.py (numpy, scipy's rankdata) to 1e-6 on a real DRIVE test photo:
 * a probability map the test makes from its green channel (256 levels: many tied scores) against
 * the manual vessel mask inside DRIVE's field of view.
 */
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { decodeImage, maskFromBytes } from "../../lib/decode/mod.ts";
import { confusion, rocAuc, segmentationMetrics } from "../../lib/image/metrics.ts";
import { overlapScores } from "../../lib/image/measure.ts";
import { dataFile } from "../_data.ts";
import { assertClose, metricsPythonMissing, metricsReference } from "../_metrics_reference.ts";

Deno.test("metrics: confusion, IoU per class, kappa and the rates by hand", () => {
  const mask = Uint8Array.of(1, 1, 1, 0, 0, 0, 0, 0, 1, 0);
  const truth = Uint8Array.of(1, 1, 0, 1, 0, 0, 0, 0, 1, 1);
  const c = confusion(mask, truth);
  assertEquals(c, { tp: 3, fp: 1, fn: 2, tn: 4 });
  const m = segmentationMetrics(c);
  assertAlmostEquals(m.iou_per_class.foreground, 3 / 6, 1e-15);
  assertAlmostEquals(m.iou_per_class.background, 4 / 7, 1e-15);
  assertAlmostEquals(m.miou, (3 / 6 + 4 / 7) / 2, 1e-15);
  assertAlmostEquals(m.accuracy, 0.7, 1e-15);
  assertAlmostEquals(m.sensitivity!, 3 / 5, 1e-15);
  assertAlmostEquals(m.specificity!, 4 / 5, 1e-15);
  // po 0.7, pe = (4 * 5 + 6 * 5) / 100 = 0.5
  assertAlmostEquals(m.kappa, 0.4, 1e-15);
  assertEquals(m.pixels, 10);
  // the foreground IoU is the answer's IoU
  assertAlmostEquals(m.iou_per_class.foreground, overlapScores(mask, truth).iou, 1e-15);
  // outside the field of view nothing counts
  const fov = Uint8Array.of(1, 1, 1, 1, 1, 0, 0, 0, 0, 0);
  assertEquals(confusion(mask, truth, fov), { tp: 2, fp: 1, fn: 1, tn: 1 });
});

Deno.test("metrics: the undefined cases are null, agreement on one class is kappa 1", () => {
  const none = segmentationMetrics(confusion(new Uint8Array(4), new Uint8Array(4)));
  assertEquals([none.sensitivity, none.kappa, none.miou], [null, 1, 1]);
  assertEquals(none.specificity, 1);
  const all = segmentationMetrics(confusion(Uint8Array.of(1, 0), Uint8Array.of(1, 1)));
  assertEquals([all.specificity, all.sensitivity], [null, 0.5]);
  assertEquals(rocAuc(Float32Array.of(0.2, 0.9), Uint8Array.of(1, 1)), null);
  assertEquals(rocAuc(Float32Array.of(0.2, 0.9), Uint8Array.of(0, 1), Uint8Array.of(0, 1)), null);
});

Deno.test("metrics: AUC counts ties one half, as the rank statistic", () => {
  assertEquals(rocAuc(Float32Array.of(0.1, 0.4, 0.35, 0.8), Uint8Array.of(0, 0, 1, 1)), 0.75);
  // all tied: 1/2; a perfect ranking: 1; reversed: 0
  assertEquals(rocAuc(Float32Array.of(0.5, 0.5, 0.5), Uint8Array.of(0, 1, 1)), 0.5);
  assertEquals(rocAuc(Float32Array.of(0.1, 0.2, 0.9), Uint8Array.of(0, 1, 1)), 1);
  assertEquals(rocAuc(Float32Array.of(0.9, 0.2, 0.1), Uint8Array.of(0, 1, 1)), 0);
  // 2 positives (0.3, 0.7) x 3 negatives (0.3, 0.3, 0.7): 0.3 ties two, beats none; 0.7 beats two,
  // ties one -> (1 + 2.5) / 6
  assertAlmostEquals(
    rocAuc(Float32Array.of(0.3, 0.7, 0.3, 0.3, 0.7), Uint8Array.of(1, 1, 0, 0, 0))!,
    3.5 / 6,
    1e-15,
  );
});

const drive = ["images/01_test.png", "1st_manual/01_manual1.png", "mask/01_test_mask.png"]
  .map((f) => dataFile(`drive/png/test/${f}`));
const pythonMissing = await metricsPythonMissing();
if (pythonMissing) console.log(`skipping the Python parity of metrics: ${pythonMissing}`);

Deno.test({
  name: "metrics: a DRIVE test photo's map against its manual mask inside the FOV = numpy to 1e-6",
  ignore: drive.some((f) => !f) || pythonMissing !== null,
  async fn() {
    const [photo, manual, fovFile] = drive.map((f) => Deno.readFileSync(f!));
    const { image } = await decodeImage(photo);
    const truth = (await maskFromBytes(manual)).mask, fov = (await maskFromBytes(fovFile)).mask;
    // vessels are dark in the green channel: 1 - green/255, 256 levels, many ties
    const n = image.width * image.height;
    const probs = new Float32Array(n);
    for (let i = 0; i < n; i++) probs[i] = 1 - image.data[i * 3 + 1] / 255;
    const m = Uint8Array.from(probs, (p) => (p >= 0.6 ? 1 : 0));
    const ours = segmentationMetrics(confusion(m, truth, fov), rocAuc(probs, truth, fov));
    const ref = await metricsReference("slice", [probs, truth, fov], ["0.6"]);
    assertClose(ours, ref, 1e-6, "drive 01");
    // real, not degenerate, figures: the FOV is the disc, both classes are there
    assertEquals(ours.pixels, fov.reduce((a, b) => a + b, 0));
    if (!(ours.auc! > 0.6 && ours.auc! < 1 && ours.kappa > 0 && ours.kappa < 1)) {
      throw new Error(`degenerate figures: ${JSON.stringify(ours)}`);
    }
    // without the field of view every pixel counts
    const whole = segmentationMetrics(confusion(m, truth), rocAuc(probs, truth));
    assertClose(whole, await metricsReference("slice", [probs, truth, null], ["0.6"]), 1e-6);
    assertEquals(whole.pixels, n);
  },
});
