"""Trains the brats-demo 3D U-Net on ONE case, BraTS2021_00006 (../shared/data/brats), holding out an
axial slab for testing. A single-case demonstration that the volume route works end to end; not a
clinical or research model.

Data: each NIfTI reoriented to RAS+ as nibabel's as_closest_canonical (what the volume route does
before inference), then the seed's preprocessing (drop slices 0-4 and 140-154, stack FLAIR, T1,
T1CE, T2, per-modality per-slice z-score with reference/seed002_brats.py's `standardize`),
4 x 135 x 240 x 240, labels 1, 2, 4 as three binary channels. Split along z (kept-slice index): held-out test slab [80, 108) (the upper half of the
tumour, which spans 39..106), training z in [0, 76) and [112, 135) (4-slice gaps so that no
training patch reaches the test slab). Random 16 x 96 x 96 patches, 70 % centred on a tumour voxel,
random left-right flips; loss = the seed's soft dice loss + binary cross-entropy; Adam lr 1e-3 (the
seed's initial_learning_rate); a wall-clock budget. One CPU thread.

  nohup /usr/bin/python3 training/brats-demo/train.py --minutes 50 > training/runs/brats/train.log 2>&1 &

Writes training/runs/brats/last.pt (and every 50 steps) and, at the end, the held-out dice of a
whole-volume pass in PyTorch into training/runs/brats/eval.json.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "reference"))
sys.path.insert(0, HERE)
import nibabel as nib  # noqa: E402
from seed002_brats import standardize  # noqa: E402
from model import UNet3D  # noqa: E402

CASE = os.path.join(ROOT, "..", "shared", "data", "brats", "BraTS2021_00006")
SEQS = ["flair", "t1", "t1ce", "t2"]
TEST = (80, 108)
TRAIN = [(0, 76), (112, 135)]
LABELS = [1, 2, 4]
OUT = os.path.join(ROOT, "training", "runs", "brats")


def read_canonical(path):
    """nibabel's as_closest_canonical (RAS+), as [z][y][x]: the grid the volume route runs on."""
    return np.asanyarray(nib.as_closest_canonical(nib.load(path)).dataobj).transpose(2, 1, 0)


def load_case():
    vols = [read_canonical(os.path.join(CASE, f"BraTS2021_00006_{s}.nii.gz"))[5:140] for s in SEQS]
    x = standardize(np.stack(vols).astype("float")).astype(np.float32)
    seg = read_canonical(os.path.join(CASE, "BraTS2021_00006_seg.nii.gz"))[5:140]
    y = np.stack([(seg == l) for l in LABELS]).astype(np.float32)
    return x, y, seg


def soft_dice_loss(y_true, y_pred, axis=(2, 3, 4), eps=1e-5):
    """The seed's soft_dice_loss over (z, y, x), mean over classes and batch."""
    num = 2 * (y_pred * y_true).sum(axis) + eps
    den = (y_pred ** 2).sum(axis) + (y_true ** 2).sum(axis) + eps
    return 1 - (num / den).mean()


def sample(x, y, rng, patch, tumour):
    """A random training patch: 70 % centred (with jitter) on a tumour voxel of a training range."""
    pd, ph, pw = patch
    _, D, H, W = x.shape
    if rng.random() < 0.7 and len(tumour):
        zc, yc, xc = tumour[rng.integers(len(tumour))]
        lo, hi = next(r for r in TRAIN if r[0] <= zc < r[1])
        jit = lambda n: int(rng.integers(-(n // 4), n // 4 + 1))
        z0 = int(np.clip(zc - pd // 2 + jit(pd), lo, hi - pd))
        y0 = int(np.clip(yc - ph // 2 + jit(ph), 0, H - ph))
        x0 = int(np.clip(xc - pw // 2 + jit(pw), 0, W - pw))
    else:
        sizes = np.array([hi - lo - pd + 1 for lo, hi in TRAIN], float)
        lo, hi = TRAIN[int(rng.choice(len(TRAIN), p=sizes / sizes.sum()))]
        z0 = int(rng.integers(lo, hi - pd + 1))
        y0 = int(rng.integers(0, H - ph + 1))
        x0 = int(rng.integers(0, W - pw + 1))
    xs = x[:, z0:z0 + pd, y0:y0 + ph, x0:x0 + pw]
    ys = y[:, z0:z0 + pd, y0:y0 + ph, x0:x0 + pw]
    if rng.random() < 0.5:
        xs, ys = xs[..., ::-1], ys[..., ::-1]
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys)


def labels_from(prob, threshold=0.5):
    """Channel of the highest probability when it is >= threshold, as lib/pipelines/brats.ts."""
    best = prob.argmax(0)
    out = np.array(LABELS, np.uint8)[best]
    out[prob.max(0) < threshold] = 0
    return out


def dice(pred, truth, l, eps=1e-5):
    a, b = pred == l, truth == l
    return float((2 * (a & b).sum() + eps) / (a.sum() + b.sum() + eps))


def evaluate(model, x, seg):
    model.eval()
    D = x.shape[1]
    pad = (-D) % (2 ** model.levels)
    xt = torch.from_numpy(np.pad(x, ((0, 0), (0, pad), (0, 0), (0, 0))))[None]
    with torch.no_grad():
        prob = model(xt)[0, :, :D].numpy()
    pred = labels_from(prob)
    out = {}
    for name, (z0, z1) in [("test_slab", TEST), ("train_z0_76", TRAIN[0])]:
        p, t = pred[z0:z1], seg[z0:z1]
        out[name] = {str(l): dice(p, t, l) for l in LABELS}
        out[name]["WT"] = dice((p > 0).astype(np.uint8), (t > 0).astype(np.uint8), 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--levels", type=int, default=2)
    ap.add_argument("--filters", type=int, default=8)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()
    x, y, seg = load_case()
    tz = np.argwhere(seg > 0)
    tumour = tz[np.isin(tz[:, 0], np.r_[TRAIN[0][0]:TRAIN[0][1], TRAIN[1][0]:TRAIN[1][1]])]
    print(f"data {x.shape} in {time.time() - t0:.1f}s; training tumour voxels {len(tumour)}",
          flush=True)
    model = UNet3D(4, args.levels, args.filters, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    patch = (16, 96, 96)
    step, start, losses = 0, time.time(), []
    while time.time() - start < args.minutes * 60:
        model.train()
        xb, yb = zip(*[sample(x, y, rng, patch, tumour) for _ in range(args.batch)])
        xb, yb = torch.from_numpy(np.stack(xb)), torch.from_numpy(np.stack(yb))
        logits = model(xb, logits=True)
        prob = torch.sigmoid(logits)
        loss = soft_dice_loss(yb, prob) + torch.nn.functional.binary_cross_entropy_with_logits(
            logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
        step += 1
        if step % 10 == 0:
            print(f"step {step} loss {np.mean(losses[-10:]):.4f} {time.time() - start:.0f}s",
                  flush=True)
        if step % 50 == 0:
            torch.save({"args": vars(args), "state": model.state_dict(), "step": step},
                       os.path.join(OUT, "last.pt"))
    seconds = time.time() - start
    torch.save({"args": vars(args), "state": model.state_dict(), "step": step},
               os.path.join(OUT, "last.pt"))
    t1 = time.time()
    metrics = evaluate(model, x, seg)
    result = {"steps": step, "train_seconds": round(seconds), "patch": patch,
              "batch": args.batch, "args": vars(args), "torch_full_volume_dice": metrics,
              "eval_seconds": round(time.time() - t1, 1), "final_loss": float(np.mean(losses[-50:]))}
    print(json.dumps(result, indent=1), flush=True)
    with open(os.path.join(OUT, "eval.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
