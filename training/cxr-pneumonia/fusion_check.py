"""Does the metadata add anything the image does not already carry? A late-fusion check.

The shipped two-input model learns its metadata weights jointly with (or on top of) the image
trunk. This asks the same question without a network: a logistic regression on the image-only
model's logit plus metadata terms, fitted on the 200 validation films, scored two ways:
  - val_cv: 5-fold cross-validation inside the validation films, averaged over 10 shuffles (the
    test films are not looked at);
  - test: fitted on all 200 validation films, applied once to the 300 test films, with a paired
    bootstrap of (fusion - image-only) test AUC.
If the metadata carried information beyond the image, some fusion would beat the image logit alone.

  /usr/bin/python3 training/cxr-pneumonia/fusion_check.py /tmp/cxr/runs/image80 /tmp/cxr/runs/meta
  (its output is training/cxr-pneumonia/metrics.json's "late_fusion")
"""
import json
import os
import sys

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import boot_idx  # noqa: E402
from model import CxrNet  # noqa: E402
from train import load  # noqa: E402

torch.set_num_threads(1)


def logits(mode, run, X, Fe):
    model = CxrNet(mode)
    model.load_state_dict(torch.load(os.path.join(run, "best.pt")))
    model.eval()
    with torch.no_grad():
        return model(X, Fe).numpy()


def main():
    image_run, meta_run = sys.argv[1:3]
    (Xv, Fv, yv), (Xt, Ft, yt) = load("val"), load("test")
    yv, yt = yv.numpy(), yt.numpy()
    img = logits("image", image_run, Xv, Fv), logits("image", image_run, Xt, Ft)
    meta = logits("meta", meta_run, Xv, Fv), logits("meta", meta_run, Xt, Ft)
    Fv, Ft = Fv.numpy(), Ft.numpy()
    designs = {
        "image logit": lambda i, m, f: np.column_stack([i]),
        "image + metadata-model logits": lambda i, m, f: np.column_stack([i, m]),
        "image logit + the six features": lambda i, m, f: np.column_stack([i, f]),
        "image logit + view + image x view": lambda i, m, f: np.column_stack([i, f[:, 5], i * f[:, 5]]),
        "image logit + age buckets": lambda i, m, f: np.column_stack([i, f[:, :5]]),
    }
    out = {}
    base_test = None
    for name, design in designs.items():
        Zv, Zt = design(img[0], meta[0], Fv), design(img[1], meta[1], Ft)
        cv = []
        for seed in range(10):
            p = np.zeros(len(yv))
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(Zv, yv):
                p[te] = LogisticRegression().fit(Zv[tr], yv[tr]).decision_function(Zv[te])
            cv.append(roc_auc_score(yv, p))
        pt = LogisticRegression().fit(Zv, yv).decision_function(Zt)
        row = {"val_cv_auc": round(float(np.mean(cv)), 4), "test_auc": round(float(roc_auc_score(yt, pt)), 4)}
        if base_test is None:
            base_test = pt
        else:
            d = [roc_auc_score(yt[i], pt[i]) - roc_auc_score(yt[i], base_test[i]) for i in boot_idx(yt, 2000, 1)]
            row["test_minus_image_auc"] = {
                "mean": round(float(np.mean(d)), 4),
                "95ci": [round(float(np.percentile(d, 2.5)), 4), round(float(np.percentile(d, 97.5)), 4)],
            }
        out[name] = row
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
