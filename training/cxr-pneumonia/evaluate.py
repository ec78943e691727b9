"""Held-out metrics of the three CxrNet variants (two-input, image-only, metadata-only).

The threshold of each variant is chosen on the validation rows (maximum Youden J = sensitivity +
specificity - 1) and then applied unchanged to the test rows, which nothing else looked at.
Test ROC AUC comes with a 95 % bootstrap interval (2,000 resamples of the 300 test films,
stratified by label), and the two-input model's AUC gain over each ablation with a paired one.

  /usr/bin/python3 training/cxr-pneumonia/evaluate.py [run dirs: both image meta] > training/cxr-pneumonia/metrics.json
"""
import json
import os
import sys

import numpy as np
import torch
try:
    from sklearn.metrics import roc_auc_score, roc_curve
except ImportError:  # Debian's python3 here has no sklearn: the numpy twin
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../_shared"))
    from roc import roc_auc_score, roc_curve  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CxrNet  # noqa: E402
from train import RUNS, load, predict  # noqa: E402

torch.set_num_threads(1)


def youden(y, p):
    fpr, tpr, thr = roc_curve(y, p)
    i = int(np.argmax(tpr - fpr))
    return float(thr[i])


def at(y, p, t):
    pred = p >= t
    tp = int((pred & (y == 1)).sum()); fn = int((~pred & (y == 1)).sum())
    tn = int((~pred & (y == 0)).sum()); fp = int((pred & (y == 0)).sum())
    return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "tp": tp, "fn": fn, "tn": tn, "fp": fp}


def boot_idx(y, n, seed=0):
    rng = np.random.default_rng(seed)
    pos, neg = np.where(y == 1)[0], np.where(y == 0)[0]
    for _ in range(n):
        yield np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])


def main():
    dirs = dict(zip(("both", "image", "meta"), sys.argv[1:4])) if len(sys.argv) >= 4 else \
        {m: os.path.join(RUNS, m) for m in ("both", "image", "meta")}
    data = {s: load(s) for s in ("val", "test")}
    preds, out = {}, {}
    for mode, d in dirs.items():
        model = CxrNet(mode)
        model.load_state_dict(torch.load(os.path.join(d, "best.pt")))
        log = json.load(open(os.path.join(d, "log.json")))
        pv = predict(model, data["val"][0], data["val"][1])
        pt = predict(model, data["test"][0], data["test"][1])
        yv, yt = data["val"][2].numpy(), data["test"][2].numpy()
        t = youden(yv, pv)
        preds[mode] = pt
        best_epoch = max(log["log"], key=lambda r: r["val_auc"])["epoch"]
        aucs = [roc_auc_score(yt[i], pt[i]) for i in boot_idx(yt, 2000)]
        out[mode] = {
            "val_auc": round(float(roc_auc_score(yv, pv)), 4),
            "test_auc": round(float(roc_auc_score(yt, pt)), 4),
            "test_auc_95ci": [round(float(np.percentile(aucs, 2.5)), 4), round(float(np.percentile(aucs, 97.5)), 4)],
            "threshold": round(t, 4),
            "test_at_threshold": {k: round(v, 4) if isinstance(v, float) else v for k, v in at(yt, pt, t).items()},
            "val_at_threshold": {k: round(v, 4) if isinstance(v, float) else v for k, v in at(yv, pv, t).items()},
            "epoch_chosen": best_epoch,
            "epochs": log["epochs"],
            "train_seconds": log["seconds"],
            "args": log["args"],
        }
    yt = data["test"][2].numpy()
    for other in ("image", "meta"):
        if "both" in preds and other in preds:
            d = [roc_auc_score(yt[i], preds["both"][i]) - roc_auc_score(yt[i], preds[other][i]) for i in boot_idx(yt, 2000, 1)]
            out[f"both_minus_{other}_auc"] = {
                "mean": round(float(np.mean(d)), 4),
                "95ci": [round(float(np.percentile(d, 2.5)), 4), round(float(np.percentile(d, 97.5)), 4)],
            }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
