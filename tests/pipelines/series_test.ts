/**
 * lib/pipelines/series.ts on four real 3D-IRCADb slices (unpacked into /tmp, nothing committed)
 * with the fully convolutional `sigmoid` fixture model: the label volume is the stack of what
 * /segment/slice's pipeline answers per slice, and the mL follow from the voxel spacing.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { loadModel } from "../../lib/models/load.ts";
import { segmentSeries, voxelMm3 } from "../../lib/pipelines/series.ts";
import { segmentSlice } from "../../lib/pipelines/slice.ts";
import { Steps } from "../../lib/pipelines/steps.ts";
import { sliceZ } from "../../lib/nifti/volume.ts";
import { ircadbFolder } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const ircadb = await ircadbFolder();

Deno.test({
  name: "segmentSeries stacks the slice pipeline's masks and measures mL from the spacing",
  ignore: !ircadb,
  async fn() {
    const root = await makeModelsRoot();
    try {
      const loaded = await loadModel("sigmoid", { root });
      // Four neighbouring slices (image_40..image_43): a short real series with its real gaps.
      const dir = `${ircadb}/PATIENT_DICOM`;
      const files = [40, 41, 42, 43].map((n) => `${dir}/image_${n}`);
      const series = await assembleSeries(files.map((f) => Deno.readFileSync(f)));
      // The fixture is sigmoid(x - 0.5) on samples / 32767: 0.38 keeps the denser tissue.
      const options = { threshold: 0.38 };
      const run = new Steps();
      const seg = await segmentSeries(loaded, series, options, run);
      const { width, height, depth } = series.volume;
      assertEquals([seg.width, seg.height, seg.depth], [width, height, 4]);
      assertEquals(seg.labels.length, width * height * depth);
      assert(run.timings.infer > 0, "the slices' steps are timed into the run");

      const plane = width * height;
      let total = 0;
      for (let z = 0; z < depth; z++) {
        const one = await segmentSlice(
          loaded,
          { image: sliceZ(series.volume, z), meta: {} },
          options,
        );
        assertEquals(seg.labels.subarray(z * plane, (z + 1) * plane), one.mask, `slice ${z}`);
        const pixels = one.mask.reduce((a, v) => a + (v ? 1 : 0), 0);
        assertEquals(seg.slices[z].pixels, pixels);
        const [sx, sy] = series.volume.spacing;
        assertAlmostEquals(seg.slices[z].mm2, pixels * sx * sy, 1e-6);
        total += pixels;
      }
      assert(total > 0 && total < plane * depth, `a partial mask (${total} voxels)`);
      assertEquals(Object.keys(seg.volumes), ["1"]);
      assertEquals(seg.volumes["1"].voxels, total);
      const mm3 = voxelMm3(series);
      assertAlmostEquals(
        mm3,
        series.volume.spacing[0] * series.volume.spacing[1] * Math.abs(series.sliceSpacing),
        1e-9,
      );
      assertAlmostEquals(seg.volumes["1"].ml, total * mm3 / 1000, 1e-9);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
