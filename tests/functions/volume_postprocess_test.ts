/**
 * Postprocessing and test-time augmentation on /segment/volume (issue 19), through the app with the
 * tiny fixed-weight 3D U-Net of tests/models/_fixtures.ts on the downsampled real BraTS case: each
 * query parameter gives the labels lib/image/postprocess.ts gives the plain answer's labels (min_size
 * in mL from the voxel spacing), a card's default applies unless postprocess=0, the JSON says which
 * values were used, tta=flip runs the card's flips, and a bad value is a 400 naming the field.
 */
import { assert, assertEquals } from "@std/assert";
import { createApp } from "../../lib/http/mod.ts";
import { postprocessLabels } from "../../lib/image/postprocess.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { createVolumeRoutes } from "../../functions/volume.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { downsampled, hasCase } from "../_brats.ts";

await setupBackend("wasm");
const FLIPS = [[2], [1]];

const body = async () => {
  const f = new FormData();
  for (const m of BRATS_MODALITIES) {
    const { bytes } = await downsampled(m);
    f.append(m, new File([bytes as Uint8Array<ArrayBuffer>], `${m}.nii.gz`));
  }
  return f;
};

Deno.test({
  name: "/segment/volume: largest, fill_holes, min_size (mL), tta=flip, and 400s naming the field",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_pp_test_" });
    try {
      await installTinyBrats(root);
      await installTinyBrats(root, "tiny-tta");
      const path = `${root}/tiny-tta/card.json`;
      const card = JSON.parse(await Deno.readTextFile(path));
      await Deno.writeTextFile(
        path,
        JSON.stringify({ ...card, tta: { flips: FLIPS }, postprocess: { largest: 1 } }),
      );
      const app = createApp().route("/", createVolumeRoutes({ modelsRoot: root }));
      const form = await body();
      const post = (query: string) =>
        app.request(`/segment/volume?wait=1&batch=8&${query}`, { method: "POST", body: form });
      const labels = async (query: string) => {
        const res = await post(query);
        assertEquals(res.status, 200, await res.clone().text());
        return await readNifti(new Uint8Array(await res.arrayBuffer()));
      };
      const numbers = async (query: string) => {
        const res = await post(`${query}&format=json`);
        assertEquals(res.status, 200, await res.clone().text());
        return await res.json();
      };

      const plain = await labels("model=tiny-brats");
      const { width, height, depth, spacing } = plain;
      const ours = (p: Parameters<typeof postprocessLabels>[1]) => {
        const data = Uint8Array.from(plain.data as ArrayLike<number>);
        const report = postprocessLabels({ width, height, depth, data }, p, spacing);
        return { data, report };
      };
      const voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000;
      for (
        const [query, p] of [
          ["largest=1", { largest: 1 }],
          ["fill_holes=1", { fillHoles: true }],
          [`min_size=${20 * voxelMl}`, { minSize: 20 * voxelMl }],
        ] as const
      ) {
        const want = ours(p);
        assert(want.report.removed_voxels + want.report.filled_voxels > 0, `${query} changes`);
        const got = await labels(`model=tiny-brats&${query}`);
        assertEquals(got.data, want.data, query);
        const j = await numbers(`model=tiny-brats&${query}`);
        const { removed_components, removed_voxels, filled_voxels, min_size_unit } = j.postprocess;
        assertEquals({ removed_components, removed_voxels, filled_voxels }, want.report, query);
        assertEquals(min_size_unit, "mL");
      }
      const none = await numbers("model=tiny-brats");
      assertEquals(none.postprocess.largest, null);
      assertEquals(none.tta, { mode: "none", flips: [] });

      // the card's default (tiny-tta: largest 1) applies, and postprocess=0 turns it off
      assertEquals((await labels("model=tiny-tta")).data, ours({ largest: 1 }).data);
      assertEquals((await labels("model=tiny-tta&postprocess=0")).data, plain.data);
      const off = await numbers("model=tiny-tta&postprocess=0");
      assertEquals([off.postprocess.card_defaults, off.postprocess.largest], [false, null]);

      // tta=flip: the plain run and the card's two flips, three times the windows
      const flipped = await numbers("model=tiny-tta&tta=flip");
      assertEquals(flipped.tta, { mode: "flip", flips: FLIPS });
      assertEquals(flipped.postprocess.largest, 1);
      assertEquals(flipped.inference.windows, 3 * none.inference.windows);

      const problem = async (query: string, status: number, field: string) => {
        const res = await post(query);
        const b = await res.json();
        assertEquals(res.status, status, JSON.stringify(b));
        assertEquals(b.field, field, JSON.stringify(b));
      };
      await problem("model=tiny-brats&largest=-2", 400, "largest");
      await problem("model=tiny-brats&min_size=lots", 400, "min_size");
      await problem("model=tiny-brats&fill_holes=yes", 400, "fill_holes");
      await problem("model=tiny-brats&tta=mirror", 400, "tta");
      await problem("model=tiny-brats&tta=flip", 422, "tta");
    } finally {
      await unloadModels();
      await Deno.remove(root, { recursive: true });
    }
  },
});
