import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { createApp } from "../../lib/http/mod.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { applyOrientation, toCanonical } from "../../lib/nifti/orient.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { type Grid, mapBack, Steps } from "../../lib/pipelines/steps.ts";
import {
  checkCoregistered,
  segmentVolume,
  volumeModel,
  volumeParams,
} from "../../lib/pipelines/volume.ts";
import { type ModelCard, volumeInput } from "../../lib/models/card.ts";
import { InvalidInputError } from "../../lib/errors.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import { findModel } from "../../lib/models/registry.ts";
import { createVolumeRoutes } from "../../functions/volume.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { downsampled, hasCase } from "../_brats.ts";

await setupBackend("wasm");

Deno.test("mapBack undoes a recorded reorient: any axis permutation and flips, 3D", () => {
  const from: [number, number, number] = [2, 3, 4];
  const input = Uint16Array.from({ length: 24 }, (_, i) => i * 7 + 1);
  const ornt: [number, 1 | -1][] = [[2, -1], [0, 1], [1, -1]];
  const { data, dims } = applyOrientation(input, [...from], ornt);
  assertEquals(dims, [3, 4, 2]);
  const run = new Steps();
  run.geometric({ step: "reorient", kind: "reorient", from, ornt });
  const back = mapBack(run.geometry, { width: 3, height: 4, depth: 2, data });
  assertEquals([back.width, back.height, back.depth], from);
  assertEquals(back.data, input);
  assertThrows(
    () => mapBack(run.geometry, { width: 4, height: 3, depth: 2, data }),
    Error,
    "cannot be mapped back",
  );
});

Deno.test({
  name:
    "brats reorient's recorded inverse maps the model-grid labels onto the input grid (real case)",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_pipeline_test_" });
    try {
      await installTinyBrats(root);
      const parts = Object.fromEntries(
        await Promise.all(BRATS_MODALITIES.map(async (m) => [m, await downsampled(m)] as const)),
      );
      const volumes = BRATS_MODALITIES.map((m) => parts[m].volume);
      const flair = volumes[0];
      // the BraTS affine is not RAS: the reorientation really permutes or flips
      const canonical = toCanonical(flair).volume;
      assertNotEquals(canonical.affine, flair.affine);

      // the pipeline, keeping intermediates: the labels on the model (RAS) grid and the record
      const m = volumeModel((await findModel("tiny-brats", root)).card);
      const run = new Steps<Grid>({ keep: true });
      const r = await segmentVolume(
        { volumes },
        m,
        volumeParams({ batch: 8 }, m),
        root,
        () => {},
        run,
      );
      assertEquals(run.geometry.map((g) => g.kind), ["reorient"]);
      assertEquals(Object.keys(r.timings), [
        "reorient",
        "preprocess",
        "model",
        "infer",
        "labels",
        "write",
      ]);
      const onModel = run.kept.find((k) => k.name === "labels")!.image;
      assertEquals(
        [onModel.width, onModel.height, onModel.depth],
        [canonical.width, canonical.height, canonical.depth],
      );
      const back = mapBack(run.geometry, onModel);
      assertEquals([back.width, back.height, back.depth], [flair.width, flair.height, flair.depth]);

      // the route's answer on the input grid: the same labels, the input's affine
      const app = createApp().route("/", createVolumeRoutes({ modelsRoot: root }));
      const form = new FormData();
      for (const mod of BRATS_MODALITIES) {
        form.append(mod, new File([parts[mod].bytes as Uint8Array<ArrayBuffer>], `${mod}.nii.gz`));
      }
      const res = await app.request("/segment/volume?model=tiny-brats&batch=8&wait=1", {
        method: "POST",
        body: form,
      });
      assertEquals(res.status, 200, await res.clone().text());
      const seg = await readNifti(new Uint8Array(await res.arrayBuffer()));
      assertEquals(seg.dims, [flair.width, flair.height, flair.depth]);
      assertEquals(seg.affine, flair.affine);
      assert(seg.data.some((v) => v !== 0), "the fixture model labels some voxels");
      assertEquals(Array.from(back.data), Array.from(seg.data));
      // and the pipeline's own NIfTI is the route's
      const own = await readNifti(r.nifti);
      assertEquals(own.affine, flair.affine);
      assertEquals(Array.from(own.data), Array.from(seg.data));
    } finally {
      await unloadModels();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("volumeModel reads a volume card's typed fields: layout, window, labels, params", () => {
  const card: ModelCard = {
    name: "v",
    version: "1",
    task: "segmentation",
    format: "layers",
    inputs: [{ name: "volume", shape: [null, 4, 8, 16, 16], layout: "NCDHW" }],
    preprocess: { preset: "brats", params: { dropHead: 3 } },
    output: { activation: "sigmoid" },
  };
  const m = volumeModel(card);
  assertEquals([m.channels, m.layout, m.patch], [4, "NCDHW", [8, 16, 16]]);
  assertEquals([m.overlap, m.blend, m.labels], [0.25, "gaussian", [1, 2, 4]]);
  assertEquals(m.params, { dropDepth: 155, dropHead: 3, dropTail: 15 });
  const windowed = volumeModel({
    ...card,
    sliding_window: { patch_zyx: [2, 4, 4], overlap: 0.5, blend: "linear" },
    label_values: [1, 2],
  });
  assertEquals([windowed.patch, windowed.overlap, windowed.blend], [[2, 4, 4], 0.5, "linear"]);
  assertEquals(windowed.labels, [1, 2]);
  assertEquals(volumeInput({ ...card, inputs: [{ name: "x", shape: [null, 8, 8, 4] }] }), {
    error: "it needs one rank-5 input [batch, depth, height, width, channels]",
  });
  assertThrows(
    () =>
      volumeModel({
        ...card,
        inputs: [{ name: "x", shape: [null, 3, 8, 16, 16], layout: "NCDHW" }],
      }),
    InvalidInputError,
    "model v is not a volume model: it takes 3 channels, not the 4 modalities",
  );
});

Deno.test("checkCoregistered names the part off the first one's grid or affine", () => {
  const vol = (w: number, shift = 0) =>
    ({
      width: w,
      height: 2,
      depth: 2,
      affine: [[1, 0, 0, shift], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    }) as unknown as Volume;
  checkCoregistered([["flair", vol(2)], ["t1", vol(2, 1e-4)]]);
  assertThrows(
    () => checkCoregistered([["flair", vol(2)], ["t1", vol(3)]]),
    InvalidInputError,
    "t1 is 3x2x2, flair is 2x2x2",
  );
  assertThrows(
    () => checkCoregistered([["flair", vol(2)], ["seg", vol(2, 0.5)]]),
    InvalidInputError,
    "seg has another voxel-to-world affine than flair (differs by up to 0.500)",
  );
});
