/**
 * The volume answer's BraTS regions (lib/pipelines/volume.ts with ./label_metrics.ts): with a
 * ground-truth seg, a model labelling 1, 2, 4 gets whole tumour / tumour core / enhancing tumour
 * dice, HD95 in mm and mL equal to reference/metrics_reference.py on its own labels (the tiny
 * fixture model on the real BraTS case, downsampled); a model with other labels gets none.
 */
import { assert, assertEquals } from "@std/assert";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { findModel } from "../../lib/models/registry.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { BRATS_REGIONS } from "../../lib/pipelines/label_metrics.ts";
import { segmentVolume, volumeModel, volumeParams } from "../../lib/pipelines/volume.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { downsampled, hasCase } from "../_brats.ts";
import { assertClose, metricsPythonMissing, metricsReference } from "../_metrics_reference.ts";

await setupBackend("wasm");
const pythonMissing = await metricsPythonMissing();
if (pythonMissing) console.log(`skipping the Python parity of the regions: ${pythonMissing}`);

Deno.test({
  name:
    "segmentVolume with seg: BraTS regions = scipy to 1e-6; none for a model not labelling 1, 2, 4",
  ignore: !hasCase || pythonMissing !== null,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_regions_test_" });
    try {
      await installTinyBrats(root);
      await installTinyBrats(root, "tiny-other", [1, 2, 3]);
      const parts = await Promise.all(
        [...BRATS_MODALITIES, "seg"].map((m) => downsampled(m)),
      );
      const volumes = parts.slice(0, 4).map((p) => p.volume), seg = parts[4].volume;
      const run = async (name: string) => {
        const m = volumeModel((await findModel(name, root)).card);
        return await segmentVolume(
          { volumes, seg },
          m,
          volumeParams({ batch: 8 }, m),
          root,
          () => {},
        );
      };
      const r = await run("tiny-brats");
      const labels = (await readNifti(r.nifti)).data as Uint8Array;
      const { width, height, depth, spacing } = volumes[0];
      const ref = await metricsReference("labels", [labels, Uint8Array.from(seg.data)], [
        ...[width, height, depth, ...spacing].map(String),
        JSON.stringify(BRATS_REGIONS),
      ]);
      assertClose(r.summary.regions, ref, 1e-6, "regions");
      const wt = r.summary.regions!.whole_tumour;
      assert(wt.truth_ml > 0 && wt.ml > 0, JSON.stringify(r.summary.regions));
      // the enhancing region is label 4: its dice is the per-label dice
      assertEquals(r.summary.regions!.enhancing_tumour.dice, r.summary.dice!["4"]);

      const other = await run("tiny-other");
      assertEquals(other.summary.regions, undefined);
      assert(other.summary.dice !== undefined, "dice per label as before");
    } finally {
      await unloadModels();
      await Deno.remove(root, { recursive: true });
    }
  },
});
