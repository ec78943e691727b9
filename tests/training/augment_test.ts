/**
 * The recipes' augmentations move image and mask together and stay in range: seed 001's set
 * (training/cxr_pneumothorax/augment.py: flips, contrast / gamma / brightness, elastic / grid /
 * optical distortion, random sized crop) and seed 003's Keras transform (training/ct_liver/train.py
 * keras_transform: rotation 3 degrees, shift / shear / zoom 0.01). A bright disc as the image and
 * the same disc as the mask: after every draw, the image's bright pixels are the mask's. Skipped,
 * saying why, without /usr/bin/python3 with torch.
 */
import { assert, assertEquals } from "@std/assert";
import { python, withoutTorch } from "./_recipe.ts";

const noTorch = await withoutTorch();
if (noTorch) console.log(`skipping the augmentation test: ${noTorch}`);

const DISC = `
import json, numpy as np
yy, xx = np.mgrid[:64, :64]
disc = (((yy - 30) ** 2 + (xx - 22) ** 2) < 15 ** 2).astype(np.float32)
def iou(a, b):
    return float((a & b).sum() / max((a | b).sum(), 1))
`;

Deno.test({
  name: "seed 001's augmentations (cxr-pneumothorax) keep image and mask together",
  ignore: noTorch !== undefined,
  async fn() {
    const r = JSON.parse(
      await python(
        DISC + `
from augment import augment
rng = np.random.default_rng(0)
ious, lo, hi, ylo, yhi, changed = [], 255.0, 0.0, 1.0, 0.0, 0
for _ in range(300):
    x, y = augment(rng, disc * 255, disc)
    assert x.shape == (64, 64) and y.shape == (64, 64) and x.dtype == np.float32
    ious.append(iou(x > 127, y > 0.5))
    lo, hi, ylo, yhi = min(lo, float(x.min())), max(hi, float(x.max())), min(ylo, float(y.min())), max(yhi, float(y.max()))
    changed += int(not np.array_equal(y, disc))
print(json.dumps({"min_iou": min(ious), "x": [lo, hi], "y": [ylo, yhi], "changed": changed}))
`,
        "training/cxr_pneumothorax",
      ),
    );
    assert(r.min_iou > 0.85, JSON.stringify(r));
    assert(r.x[0] >= 0 && r.x[1] <= 255, JSON.stringify(r));
    assertEquals(r.y, [0, 1]);
    // flips alone change half of the draws: the set is applied, not skipped
    assert(r.changed > 150 && r.changed < 300, JSON.stringify(r));
  },
});

Deno.test({
  name: "seed 003's Keras transform (ct-liver) keeps image and mask together and moves little",
  ignore: noTorch !== undefined,
  async fn() {
    const r = JSON.parse(
      await python(
        DISC + `
from train import keras_transform
rng = np.random.default_rng(0)
together, moved = [], []
for _ in range(100):
    a, b = keras_transform(rng, disc.copy(), disc.copy())
    together.append(iou(a > 0.5, b > 0.5))
    moved.append(iou(b > 0.5, disc > 0.5))
print(json.dumps({"together": min(together), "moved_min": min(moved), "moved": sum(m < 1 for m in moved)}))
`,
        "training/ct_liver",
      ),
    );
    assertEquals(r.together, 1);
    // rotation <= 3 degrees, shifts <= 0.64 px at 64: the disc stays almost where it was, but most
    // draws move its edge
    assert(r.moved_min > 0.85 && r.moved > 50, JSON.stringify(r));
  },
});
