/**
 * training/ct_liver (seed 003's recipe) end to end on the local 3D-IRCADb patient at small size:
 * `training/ct_liver/run.ts` (what `deno task train:ct-liver` runs) on the tarball, 64 x 64, 2
 * steps, into a temporary folder; then the written folder is served once through /segment/slice.
 * Nothing trained here is kept (3D-IRCADb is CC BY-NC-ND). Skipped, saying why, without the data or
 * without /usr/bin/python3 with torch.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { ctLiver } from "../../lib/pipelines/ct.ts";
import { dataFile } from "../_data.ts";
import { float32s, maxDiff, python, runCommand, servedAsTorch, withoutTorch } from "./_recipe.ts";

const tarball = dataFile("ircadb-liver/3Dircadb1.1_PATIENT_DICOM+MASKS_DICOM-liver.tar.gz");
const noTorch = await withoutTorch();
if (noTorch) console.log(`skipping the ct-liver recipe test: ${noTorch}`);

Deno.test({
  name: "ct-liver recipe: one command trains on a 3D-IRCADb folder, /segment/slice serves it",
  ignore: !tarball || noTorch !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "ct-liver-recipe-" });
    try {
      const out = `${tmp}/models/ct-liver`, work = `${tmp}/work`;
      await runCommand("training/ct_liver/run.ts", [
        "--data",
        tarball!,
        "--out",
        out,
        "--work",
        work,
        "--epochs",
        "1",
        "--size",
        "64",
        "--steps",
        "2",
        "--threads",
        "1",
      ]);
      const card = JSON.parse(await Deno.readTextFile(`${out}/card.json`));
      assertEquals(card.name, "ct-liver");
      assertEquals(card.preprocess.preset, "ct-liver");
      assertEquals(card.inputs[0].shape, [null, 64, 64, 1]);
      assertEquals(card.threshold, 0.5);
      // One patient: nothing held out, and the card says so.
      assertEquals(card.training.patients, { train: ["3Dircadb1.1"], held_out: [] });
      assert(String(card.metrics.test_set).startsWith("NOT held out"), card.metrics.test_set);
      // The seed's slice range: liver on 27..124, less 5 at each end.
      assertEquals(card.metrics.images, 87);
      assertEquals(card.training.train_slices, 87 + 64);
      assertEquals(card.training.steps, 2);
      assert(card.export.max_abs_diff_vs_torch < 1e-5, JSON.stringify(card.export));
      assertEquals(card.replay.inputs[0].shape, [1, 64, 64, 1]);

      // What training fed the net for a slice is the ct-liver preset's tensor, and PyTorch's
      // probability as the service computes it (resize to 64, back to 512) is what is served.
      const slice = `${work}/data/3Dircadb1.1/PATIENT_DICOM/image_80`;
      const [xB64, pB64] = (await python(
        `
import base64, numpy as np, pydicom, torch, train, recipe
from unet import UNet
ck = torch.load("${work}/model.pt")
m = UNet(1, levels=4, filters=32, bn=False); m.load_state_dict(ck["state"])
x = train.model_input(pydicom.dcmread("${slice}"))
p = recipe.served_probs(m, x, ck["size"])
for a in (x, p): print(base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode())
`,
        "training/ct_liver",
      )).trim().split("\n");
      const dicom = await Deno.readFile(slice);
      const preset = ctLiver((await decodeDicom(dicom)).image, {}, {});
      assertEquals(maxDiff(float32s(xB64), preset.tensor), 0);

      const { mask, diff } = await servedAsTorch(
        `${tmp}/models`,
        "ct-liver",
        dicom,
        float32s(pB64),
        512,
      );
      let fg = 0;
      for (const v of mask) fg += v ? 1 : 0;
      console.log(`served mask 512x512, ${fg} liver pixels; served vs PyTorch ${diff}`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
