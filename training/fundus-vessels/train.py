"""Trains the fundus-vessels U-Net on DRIVE training images (never the test images).

Random affine patches (rotation, scale, flips) with elastic distortion and brightness / contrast /
gamma jitter (as seed 001's albumentations set); loss BCE + soft dice (seeds 001/002); Adam with
cosine decay; every `--eval-every` steps the held-out training images are segmented whole and the
checkpoint with the best validation F1 (best threshold inside the FOV) is kept.

  /usr/bin/python3 training/fundus-vessels/train.py --out training/runs/fundus
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../_shared"))
try:
    from sklearn.metrics import roc_auc_score
except ImportError:  # Debian's python3 here has no sklearn: the numpy twin
    from roc import roc_auc_score  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "../../reference"))
sys.path.insert(0, HERE)
import fundus_preprocess as drive  # noqa: E402
from unet import UNet  # noqa: E402


def sample_patch(rng, img, lab, fov_pts, size):
    """One randomly transformed size x size patch (image float32, label float32)."""
    cy, cx = fov_pts[rng.integers(len(fov_pts))]
    ang = rng.uniform(0, 360)
    scale = rng.uniform(0.85, 1.15)
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), ang, scale)
    m[:, 2] += (size / 2 - cx, size / 2 - cy)
    if rng.random() < 0.5:  # horizontal flip of the output patch
        m = np.array([[-1, 0, size - 1], [0, 1, 0]], np.float64) @ np.vstack([m, [0, 0, 1]])
    x = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    y = cv2.warpAffine(lab, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if rng.random() < 0.3:  # elastic distortion (smoothed random displacement field)
        alpha, sigma = rng.uniform(4, 10), rng.uniform(5, 8)
        dx = cv2.GaussianBlur(rng.uniform(-1, 1, (size, size)).astype(np.float32), (0, 0), sigma)
        dy = cv2.GaussianBlur(rng.uniform(-1, 1, (size, size)).astype(np.float32), (0, 0), sigma)
        dx *= alpha / (np.abs(dx).max() + 1e-6)
        dy *= alpha / (np.abs(dy).max() + 1e-6)
        gx, gy = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
        x = cv2.remap(x, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        y = cv2.remap(y, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if rng.random() < 0.8:  # brightness / contrast / gamma
        c, b, g = rng.uniform(0.8, 1.2), rng.uniform(-0.1, 0.1), np.exp(rng.uniform(-0.3, 0.3))
        x = np.clip((x - 0.5) * c + 0.5 + b, 0, 1) ** g
    return x.astype(np.float32), (y >= 0.5).astype(np.float32)


def loss_fn(logits, y):
    bce = F.binary_cross_entropy_with_logits(logits, y)
    p = torch.sigmoid(logits)
    inter = (p * y).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + y.sum() + 1)
    return bce + dice


@torch.no_grad()
def predict(model, x, stride):
    """Whole-image probability map (zero padding at bottom/right, as the runtime)."""
    h, w = x.shape
    t = torch.from_numpy(drive.pad_to(x, stride))[None, None]
    return model(t)[0, 0, :h, :w].numpy()


def scores(probs, labels, fovs):
    """Pooled AUC and the best F1 over thresholds (vessel where p > t, as the runtime) in the FOV."""
    p = np.concatenate([pr[f] for pr, f in zip(probs, fovs)])
    y = np.concatenate([lb[f] for lb, f in zip(labels, fovs)])
    auc = roc_auc_score(y, p)
    best = (0, 0.5)
    for t in np.arange(0.2, 0.81, 0.02):
        pred = p > t
        tp = np.sum(pred & y)
        f1 = 2 * tp / (pred.sum() + y.sum())
        best = max(best, (f1, round(float(t), 2)))
    return auc, best[0], best[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="training/runs/fundus")
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--filters", type=int, default=12)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3500)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--val", default="37,38,39,40", help="held-out training image numbers")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this wall time (0: no cap)")
    ap.add_argument("--init-from", default="", help="warm start from a shipped artifact folder (warm_start.py)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    val_ids = [int(v) for v in a.val.split(",")]
    train_ids = [n for n in drive.ids("training") if n not in val_ids]
    train = []
    for n in train_ids:
        rgb, ves, fov = drive.load("training", n)
        train.append((drive.preprocess(rgb), ves.astype(np.float32), np.argwhere(fov)))
    val = [drive.load("training", n) for n in val_ids]
    val_x = [drive.preprocess(v[0]) for v in val]
    model = UNet(1, a.levels, a.filters)
    if a.init_from:
        from warm_start import freeze_bn_stats, load_into  # noqa: E402

        load_into(model, a.init_from)
    opt = torch.optim.Adam(model.parameters(), a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.steps, pct_start=0.05)
    stride = 2**a.levels
    best_f1, t0, run_loss = -1.0, time.time(), 0.0
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    # a warm start is scored before its first step (step 0): the point to beat on validation
    for step in range(0 if a.init_from else 1, a.steps + 1):
        if step > 0:
            model.train()
            if a.init_from:
                freeze_bn_stats(model)
            xs, ys = [], []
            for _ in range(a.batch):
                img, lab, pts = train[rng.integers(len(train))]
                x, y = sample_patch(rng, img, lab, pts, a.patch)
                xs.append(x)
                ys.append(y)
            x = torch.from_numpy(np.stack(xs))[:, None]
            y = torch.from_numpy(np.stack(ys))[:, None]
            opt.zero_grad()
            loss = loss_fn(model(x, logits=True), y)
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item()
        if step % a.eval_every == 0 or step == a.steps:
            model.eval()
            probs = [predict(model, x, stride) for x in val_x]
            auc, f1, thr = scores(probs, [v[1] for v in val], [v[2] for v in val])
            rec = {"step": step, "loss": run_loss / a.eval_every, "val_auc": auc, "val_f1": f1,
                   "threshold": thr, "seconds": round(time.time() - t0)}
            run_loss = 0.0
            if f1 > best_f1:
                best_f1 = f1
                rec["best"] = True
                torch.save({"state": model.state_dict(), "args": vars(a), "record": rec},
                           os.path.join(a.out, "best.pt"))
            torch.save({"state": model.state_dict(), "args": vars(a), "record": rec},
                       os.path.join(a.out, "last.pt"))
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if a.max_minutes and time.time() - t0 > a.max_minutes * 60:
                print(json.dumps({"stopped": "max-minutes", "step": step}), flush=True)
                break


if __name__ == "__main__":
    main()
