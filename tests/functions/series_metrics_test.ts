/**
 * POST /segment/series with a truth series answers each label's HD95 in mm (lib/pipelines/
 * label_metrics.ts withHd95) beside dice/IoU: on 3D-IRCADb's real liver masks (unpacked into /tmp,
 * nothing derived from them committed), equal to reference/metrics_reference.py (scipy's
 * distance_transform_edt with the series' anisotropic spacing) to 1e-6.
 */
import { assert, assertEquals } from "@std/assert";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { loadModel, unloadModels } from "../../lib/models/load.ts";
import { segmentSeries, truthLabels } from "../../lib/pipelines/series.ts";
import { ircadbFolder } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";
import { assertClose, metricsPythonMissing, metricsReference } from "../_metrics_reference.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");
const ircadb = await ircadbFolder();
const pythonMissing = await metricsPythonMissing();
if (pythonMissing) console.log(`skipping the Python parity of series HD95: ${pythonMissing}`);

Deno.test({
  name:
    "POST /segment/series with a truth series: HD95 in mm per label = scipy on 3D-IRCADb's liver",
  ignore: !ircadb || pythonMissing !== null,
  async fn() {
    const slices = [70, 71, 72, 73, 74, 75];
    const files = slices.map((n) => Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`));
    const masks = slices.map((n) => Deno.readFileSync(`${ircadb}/MASKS_DICOM/liver/image_${n}`));
    const series = await assembleSeries(files);
    // the soft tissue of these slices at 0.3775 (sigmoid of samples / 32767): dice about 0.5
    const want = await segmentSeries(await loadModel("sigmoid", { root }), series, {
      threshold: 0.3775,
    });
    const truth = truthLabels((await assembleSeries(masks)).volume.data);
    const form = new FormData();
    files.forEach((b, i) => form.append("instance", new File([b as BlobPart], `i${i}`)));
    masks.forEach((b, i) => form.append("truth", new File([b as BlobPart], `t${i}`)));
    const res = await app.request("/segment/series?model=sigmoid&threshold=0.3775", {
      method: "POST",
      body: form,
    });
    assertEquals(res.status, 200, await res.clone().text());
    const gt = (await res.json()).ground_truth;
    assertEquals(Object.keys(gt.labels), ["1"]);
    const { width, height, depth, spacing } = series.volume;
    assert(spacing[2] !== spacing[0], `anisotropic voxels (${spacing})`);
    const ref = await metricsReference<Record<string, { hd95_mm: number }>>(
      "labels",
      [want.labels, truth],
      [width, height, depth, ...spacing].map(String).concat('{"1": [1]}'),
    );
    assertClose(gt.labels["1"].hd95_mm, ref["1"].hd95_mm, 1e-6, "hd95_mm");
    assert(gt.labels["1"].hd95_mm > 1, `a real distance: ${gt.labels["1"].hd95_mm} mm`);
  },
});

Deno.test("series metrics: cleanup", async () => {
  unloadModels();
  await Deno.remove(root, { recursive: true });
});
