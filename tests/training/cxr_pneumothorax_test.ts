/**
 * training/cxr_pneumothorax (seed 001's recipe) end to end on the local SIIM DICOMs and the full
 * train-rle.csv at small size: `training/cxr_pneumothorax/run.ts` (what `deno task
 * train:cxr-pneumothorax` runs), 64 x 64, 2 steps, into a temporary folder; then the written folder
 * is served once through /segment/slice and compared with PyTorch. Skipped, saying why, without the
 * data or without /usr/bin/python3 with torch.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { cxrPneumothorax } from "../../lib/pipelines/cxr_pneumothorax.ts";
import { dataFile } from "../_data.ts";
import {
  float32s,
  maxDiff,
  postSlice,
  python,
  runCommand,
  servedAsTorch,
  withoutTorch,
} from "./_recipe.ts";

const folder = dataFile("siim-pneumothorax");
const csv = dataFile("siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz");
const noTorch = await withoutTorch();
if (noTorch) console.log(`skipping the cxr-pneumothorax recipe test: ${noTorch}`);
// A positive film (one mask in the CSV).
const FILM = "1.2.276.0.7230010.3.1.4.8323329.4904.1517875185.355709.dcm";

Deno.test({
  name:
    "cxr-pneumothorax recipe: one command trains on SIIM DICOMs + CSV, /segment/slice serves it",
  ignore: !folder || !csv || noTorch !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "cxr-pneumothorax-recipe-" });
    try {
      const out = `${tmp}/models/cxr-pneumothorax`, work = `${tmp}/work`;
      await runCommand("training/cxr_pneumothorax/run.ts", [
        ...["--data", folder!, "--csv", csv!, "--out", out, "--work", work],
        ...["--epochs", "1", "--size", "64", "--batch", "4", "--steps", "2", "--threads", "1"],
      ]);
      const card = JSON.parse(await Deno.readTextFile(`${out}/card.json`));
      assertEquals(card.name, "cxr-pneumothorax");
      assertEquals(card.preprocess.preset, "cxr-pneumothorax");
      assertEquals(card.inputs[0].shape, [null, 64, 64, 1]);
      assertEquals(card.threshold, 0.5);
      // 12 files: Fake_MONOHR1.dcm repeats an SOPInstanceUID and is skipped; 11 films, each its
      // own patient, 10% (1 patient) held out.
      assertEquals(card.training.patients.train, 10);
      assertEquals(card.training.patients.held_out, 1);
      assertEquals(card.training.train_images, 10);
      assertEquals(card.metrics.images, 1);
      assert(String(card.metrics.test_set).startsWith("held-out patients: 1"));
      assertEquals(card.training.steps, 2);
      assert(card.export.max_abs_diff_vs_torch < 1e-5, JSON.stringify(card.export));

      const film = `${folder}/${FILM}`;
      const [xB64, pB64] = (await python(
        `
import base64, numpy as np, torch, train, recipe
from resunet import ResUNet
ck = torch.load("${work}/model.pt")
m = ResUNet(1); m.load_state_dict(ck["state"])
x = train.read_image("${film}")
p = recipe.served_probs(m, x, ck["size"])
for a in (x, p): print(base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode())
`,
        "training/cxr_pneumothorax",
      )).trim().split("\n");
      const dicom = await Deno.readFile(film);
      const preset = cxrPneumothorax((await decodeDicom(dicom)).image, {}, {});
      assertEquals(maxDiff(float32s(xB64), preset.tensor), 0);

      const { diff: d } = await servedAsTorch(
        `${tmp}/models`,
        "cxr-pneumothorax",
        dicom,
        float32s(pB64),
        1024,
      );
      // The SIIM answer: the mask as SIIM RLE.
      const text = await postSlice(`${tmp}/models`, "model=cxr-pneumothorax&format=text", dicom);
      assertEquals(text.status, 200);
      assert(/^(-1|\d+( \d+)*)$/.test(new TextDecoder().decode(text.bytes).trim()));
      console.log(`served 1024x1024 mask; served vs PyTorch ${d}`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
