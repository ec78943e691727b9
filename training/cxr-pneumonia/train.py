"""Train one CxrNet variant on the cached RSNA split (training/cxr-pneumonia/prepare.py first).

Only the train rows are fitted; val picks the epoch (best val ROC AUC) and, in evaluate.py, the
threshold; test is touched only by evaluate.py. Single CPU thread (shared machine).
Image modes add the auxiliary box-map loss (--seg weight) on the same augmented geometry.
--init loads a checkpoint's matching weights (e.g. the image model's trunk into "both");
--freeze keeps the conv trunk fixed (BatchNorm statistics included).

Usage: /usr/bin/python3 training/cxr-pneumonia/train.py --mode both|image|meta [--epochs 40] [--seed 1]
Writes $CXR_RUNS/<tag or mode>/ (default /tmp/cxr/runs): best.pt, last.pt, log.json.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
try:
    from sklearn.metrics import roc_auc_score
except ImportError:  # Debian's python3 here has no sklearn: the numpy twin
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../_shared"))
    from roc import roc_auc_score  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from model import CxrNet  # noqa: E402

CACHE = os.environ.get("CXR_CACHE", "/tmp/cxr/cache.npz")
RUNS = os.environ.get("CXR_RUNS", "/tmp/cxr/runs")


def load(split, masks=False):
    d = np.load(CACHE)
    m = d["split"] == split
    X = torch.from_numpy(d["X"][m]).float().div_(255).unsqueeze(1)
    out = (X, torch.from_numpy(d["F"][m]), torch.from_numpy(d["y"][m]))
    return out + (torch.from_numpy(d["M"][m]).float().unsqueeze(1),) if masks else out


def augment(x, g, mask=None):
    """Random affine (rotate +-10 deg, scale 0.9-1.15, shift +-6 %, horizontal flip), then
    contrast, brightness and gamma jitter, all on the [0,1] 224x224 batch."""
    b = x.shape[0]
    ang = (torch.rand(b, generator=g) * 2 - 1) * math.radians(10)
    sc = 1 / (0.9 + torch.rand(b, generator=g) * 0.25)
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    tx = (torch.rand(b, generator=g) * 2 - 1) * 0.12
    ty = (torch.rand(b, generator=g) * 2 - 1) * 0.12
    cos, sin = torch.cos(ang) * sc, torch.sin(ang) * sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if mask is not None:
        mask = F.grid_sample(mask, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    c = 0.8 + torch.rand(b, 1, 1, 1, generator=g) * 0.4
    br = (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * 0.08
    gamma = torch.exp((torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * math.log(1.25))
    x = ((x - 0.5) * c + 0.5 + br).clamp(0, 1) ** gamma
    return x, mask


def predict(model, X, Fe, bs=100):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(X), bs):
            out.append(torch.sigmoid(model(X[i:i + bs], Fe[i:i + bs])))
    return torch.cat(out).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="both")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tag", default="")
    ap.add_argument("--seg", type=float, default=1.0)
    ap.add_argument("--init", default="")
    ap.add_argument("--freeze", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    out = os.path.join(RUNS, args.tag or args.mode)
    os.makedirs(out, exist_ok=True)

    Xtr, Ftr, ytr, Mtr = load("train", masks=True)
    Xva, Fva, yva = load("val")
    model = CxrNet(args.mode)
    if args.init:
        src = torch.load(args.init)
        own = model.state_dict()
        shared = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape and
                  k.split(".")[0] in ("stem", "b1", "b2", "b3", "b4", "seg")}
        model.load_state_dict(shared, strict=False)
        print("init: loaded", len(shared), "tensors from", args.init)
    if args.freeze:
        for blk in model.trunk():
            for p_ in blk.parameters():
                p_.requires_grad_(False)
    params = [p_ for p_ in model.parameters() if p_.requires_grad]
    epochs = args.epochs if args.mode != "meta" else max(args.epochs, 200)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.wd)
    steps = epochs * math.ceil(len(Xtr) / args.bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    log, best = [], -1.0
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        if args.freeze:
            for blk in model.trunk():
                blk.eval()
        perm = torch.randperm(len(Xtr), generator=g)
        tot = 0.0
        for i in range(0, len(Xtr), args.bs):
            idx = perm[i:i + args.bs]
            x = Xtr[idx]
            if args.mode == "meta":
                loss = F.binary_cross_entropy_with_logits(model(x, Ftr[idx]), ytr[idx])
            else:
                x, m = augment(x, g, Mtr[idx])
                logit, seg = model(x, Ftr[idx], with_seg=True)
                loss = F.binary_cross_entropy_with_logits(logit, ytr[idx])
                if args.seg > 0 and not args.freeze:
                    target = F.avg_pool2d(m, 16).squeeze(1)
                    loss = loss + args.seg * F.binary_cross_entropy_with_logits(seg, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        pv = predict(model, Xva, Fva)
        auc = float(roc_auc_score(yva.numpy(), pv))
        log.append({"epoch": ep + 1, "loss": tot / len(Xtr), "val_auc": auc, "s": round(time.time() - t0, 1)})
        print(json.dumps(log[-1]), flush=True)
        if auc > best:
            best = auc
            torch.save(model.state_dict(), os.path.join(out, "best.pt"))
    torch.save(model.state_dict(), os.path.join(out, "last.pt"))
    json.dump({"args": vars(args), "epochs": epochs, "best_val_auc": best, "seconds": round(time.time() - t0, 1),
               "log": log}, open(os.path.join(out, "log.json"), "w"), indent=1)
    print("best val auc", best, "seconds", round(time.time() - t0, 1))


if __name__ == "__main__":
    main()
