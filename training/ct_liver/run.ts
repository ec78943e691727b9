/**
 * `deno task train:ct-liver --data <3D-IRCADb-style folder or .tar.gz> --out <models dir>/ct-liver
 * [--epochs N --size S --steps N --held-out a,b --work <dir>]`: seed 003's recipe
 * (training/ct_liver/train.py) on the user's own copy, written as a model folder that
 * /segment/slice serves with the ct-liver preset (training/_shared/recipe.ts).
 */
import { buildUnet } from "../../lib/models/unet.ts";
import { type Recipe, runRecipe } from "../_shared/recipe.ts";

export const ctLiverRecipe: Recipe = {
  name: "ct-liver",
  task: "train:ct-liver",
  trainPy: new URL("./train.py", import.meta.url),
  build: (dump) => {
    const a = dump.architecture as { inputChannels: number; levels: number; filters: number };
    return buildUnet({ ...a, name: "ct_liver" });
  },
  card: {
    version: "1.0.0",
    task: "segmentation",
    description:
      "Liver on one abdominal CT slice (seed 003): U-Net 32-64-128-256-512 trained by the user on their own 3D-IRCADb-style data with training/ct_liver (dice loss, Adam 1e-5, the seed's augmentation); answers a per-pixel liver probability.",
    intended_use:
      "research and demonstration on contrast-enhanced abdominal CT like the training data",
    not_for: "clinical use",
    output: {
      activation: "sigmoid",
      meaning: "liver probability",
      classes: ["background", "liver"],
    },
    segments: [{
      label: 1,
      name: "liver",
      category: { value: "123037004", scheme: "SCT", meaning: "Anatomical Structure" },
      type: { value: "10200004", scheme: "SCT", meaning: "Liver" },
      rgb: [221, 130, 101],
    }],
    training: {
      recipe: "training/ct_liver/train.py (seed 003)",
      data: "the user's own 3D-IRCADb-style folder (see training.patients)",
    },
    license:
      "weights trained by the user on their own data: the data's terms apply (3D-IRCADb is CC BY-NC-ND 4.0: do not redistribute)",
  },
};

if (import.meta.main) await runRecipe(ctLiverRecipe, Deno.args);
