/**
 * HD95 (lib/image/surface.ts) and the BraTS regions (lib/pipelines/label_metrics.ts): by hand on
 * tiny grids, the empty cases, and equal to reference/metrics_reference.py (scipy's
 * distance_transform_edt, numpy's percentile) to 1e-6 on the real BraTS case's labels against a
 * perturbed copy (shifted, one label swapped in a slab), at its 1 mm spacing and at an anisotropic
 * one.
 */
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { readNifti } from "../../lib/nifti/mod.ts";
import { hausdorffPercentile, hd95, surfaceDistances } from "../../lib/image/surface.ts";
import {
  BRATS_REGIONS,
  isBratsLabelling,
  labelHd95,
  regionScores,
} from "../../lib/pipelines/label_metrics.ts";
import { CASE } from "../_brats.ts";
import { dataFile } from "../_data.ts";
import { assertClose, metricsPythonMissing, metricsReference } from "../_metrics_reference.ts";

Deno.test("hd95: two segments on a line, a square against its shift, in mm", () => {
  // surfaces: a = {0, 1}, b = {1, 2}: every distance 1 (or 0), percentile 95 of [0, 1] = 0.95
  const a = Uint8Array.of(1, 1, 0, 0), b = Uint8Array.of(0, 1, 1, 0);
  assertAlmostEquals(hd95(a, b, [4, 1, 1], [1, 1, 1])!, 0.95, 1e-12);
  assertAlmostEquals(hd95(a, b, [4, 1, 1], [2.5, 1, 1])!, 2.375, 1e-12);
  assertEquals(hausdorffPercentile(a, b, [4, 1, 1], [1, 1, 1], 100), 1);
  // a 3x3 square and the same square 2 pixels right, spacing 0.5 x 2 mm: each side is 1 mm away
  const w = 7,
    h = 5,
    sq = (dx: number) => {
      const m = new Uint8Array(w * h);
      for (let y = 1; y < 4; y++) for (let x = 0; x < 3; x++) m[y * w + x + dx] = 1;
      return m;
    };
  const d = surfaceDistances(sq(0), sq(2), [w, h, 1], [0.5, 2, 1]);
  assertEquals(d.length, 8, "the 3x3 square's surface is its 8 edge pixels (a 2D cross)");
  assertEquals(hausdorffPercentile(sq(0), sq(2), [w, h, 1], [0.5, 2, 1], 100), 1);
  assertEquals(hd95(sq(1), sq(1), [w, h, 1], [1, 1, 1]), 0);
});

Deno.test("hd95: both empty is 0, one empty is null", () => {
  const empty = new Uint8Array(8), one = Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 0);
  assertEquals(hd95(empty, empty, [2, 2, 2], [1, 1, 1]), 0);
  assertEquals(hd95(one, empty, [2, 2, 2], [1, 1, 1]), null);
  assertEquals(hd95(empty, one, [2, 2, 2], [1, 1, 1]), null);
  const r = regionScores(one, empty, [2, 2, 2], [1, 1, 1], { x: [1] });
  assertEquals(r.x, {
    labels: [1],
    dice: 1e-5 / (1 + 1e-5),
    hd95_mm: null,
    ml: 0.001,
    truth_ml: 0,
  });
});

Deno.test("BraTS regions: only for labels exactly 1, 2, 4", () => {
  assertEquals(isBratsLabelling([1, 2, 4]), true);
  assertEquals(isBratsLabelling([4, 1, 2]), true);
  assertEquals(isBratsLabelling([1]), false);
  assertEquals(isBratsLabelling([1, 2, 3]), false);
  assertEquals(Object.keys(BRATS_REGIONS), ["whole_tumour", "tumour_core", "enhancing_tumour"]);
});

const segFile = dataFile(`${CASE}seg.nii.gz`);
const pythonMissing = await metricsPythonMissing();
if (pythonMissing) console.log(`skipping the Python parity of HD95: ${pythonMissing}`);

Deno.test({
  name: "BraTS regions and HD95 on the real case vs a perturbed copy = scipy to 1e-6",
  ignore: !segFile || pythonMissing !== null,
  async fn() {
    const seg = await readNifti(await Deno.readFile(segFile!));
    // the tumour (x 91-165, y 38-108, z 44-111) with a margin: the metrics see all of it, and
    // scipy's transforms run on a tenth of the 240 x 240 x 155 grid
    const [x0, y0, z0, w, h, d] = [80, 28, 36, 100, 92, 84];
    const truth = new Uint8Array(w * h * d);
    for (let z = 0; z < d; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          truth[(z * h + y) * w + x] = seg
            .data[((z0 + z) * seg.height + y0 + y) * seg.width + x0 + x] as number;
        }
      }
    }
    // the copy: 3 voxels along x and 1 along z off, label 1 read as 4 in a slab of z
    const pred = new Uint8Array(truth.length);
    for (let z = 0; z < d; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const sx = x - 3, sz = z - 1;
          if (sx < 0 || sz < 0) continue;
          const v = truth[(sz * h + y) * w + sx];
          pred[(z * h + y) * w + x] = v === 1 && z >= 70 && z < 80 ? 4 : v;
        }
      }
    }
    const dims = [w, h, d] as const;
    for (const spacing of [seg.spacing, [0.9, 1.1, 2.5]] as [number, number, number][]) {
      const ours = regionScores(pred, truth, dims, spacing);
      const ref = await metricsReference("labels", [pred, truth], [
        ...dims.map(String),
        ...spacing.map(String),
        JSON.stringify(BRATS_REGIONS),
      ]);
      assertClose(ours, ref, 1e-6, `regions at ${spacing}`);
      for (const r of Object.values(ours)) {
        if (!(r.hd95_mm! > 0 && r.dice > 0.3 && r.dice < 1)) {
          throw new Error(`degenerate: ${JSON.stringify(ours)}`);
        }
      }
      // per label: the regions of one label each
      const perLabel = labelHd95(pred, truth, dims, spacing, [1, 2, 4]);
      const one = await metricsReference<Record<string, { hd95_mm: number }>>(
        "labels",
        [pred, truth],
        [...dims.map(String), ...spacing.map(String), '{"1":[1],"2":[2],"4":[4]}'],
      );
      assertClose(
        perLabel,
        Object.fromEntries(Object.entries(one).map(([k, v]) => [k, v.hd95_mm])),
      );
    }
  },
});
