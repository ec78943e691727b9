/**
 * `deno task train:cxr-pneumothorax --data <folder of SIIM DICOMs> --csv <train-rle.csv[.gz]>
 * --out <models dir>/cxr-pneumothorax [--epochs N --size S --steps N --work <dir>]`: seed 001's
 * recipe (training/cxr_pneumothorax/train.py) on the user's own copy, written as a model folder
 * that /segment/slice serves with the cxr-pneumothorax preset (training/_shared/recipe.ts).
 */
import { buildResUnet } from "../_shared/resunet.ts";
import { type Recipe, runRecipe } from "../_shared/recipe.ts";

export const cxrPneumothoraxRecipe: Recipe = {
  name: "cxr-pneumothorax",
  task: "train:cxr-pneumothorax",
  trainPy: new URL("./train.py", import.meta.url),
  build: (dump) =>
    buildResUnet({
      size: null,
      filters: (dump.architecture as { filters: number[] }).filters,
      name: "cxr_pneumothorax",
    }),
  card: {
    version: "1.0.0",
    task: "segmentation",
    description:
      "Pneumothorax on a chest radiograph (seed 001, SIIM-ACR): the seed's ResUNet trained by the user on their own SIIM-style DICOMs and train-rle.csv with training/cxr_pneumothorax (bce + dice loss, the seed's augmentations, 256 x 256 input); answers a per-pixel pneumothorax probability, thresholded at 0.5.",
    intended_use: "research and demonstration on frontal chest radiographs like the training data",
    not_for: "clinical use",
    output: {
      activation: "sigmoid",
      meaning: "pneumothorax probability",
      classes: ["background", "pneumothorax"],
    },
    segments: [{
      label: 1,
      name: "pneumothorax",
      category: { value: "49755003", scheme: "SCT", meaning: "Morphologically Altered Structure" },
      type: { value: "36118008", scheme: "SCT", meaning: "Pneumothorax" },
      rgb: [255, 64, 64],
    }],
    training: {
      recipe: "training/cxr_pneumothorax/train.py (seed 001)",
      data: "the user's own SIIM-style DICOMs and train-rle.csv",
    },
    license:
      "weights trained by the user on their own data: the data's terms apply (SIIM-ACR: the Kaggle competition's terms)",
  },
};

if (import.meta.main) await runRecipe(cxrPneumothoraxRecipe, Deno.args);
