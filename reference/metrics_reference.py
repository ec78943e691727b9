"""The segmentation metrics in numpy/scipy, the twin lib/image/metrics.ts and lib/image/surface.ts
are checked against (no sklearn: the AUC is the rank statistic with mid-ranks, which is what
sklearn's roc_auc_score computes).

  slice  PROBS.f32 TRUTH.u8 FOV.u8|- THRESHOLD|MASK.u8
      float32 foreground probabilities, 0/1 truth and field of view, raw and row-major: the
      confusion counts of (p >= THRESHOLD), or of a 0/1 mask file, inside the FOV, per-class IoU, mIoU, accuracy,
      sensitivity, specificity, Cohen's kappa and the ROC AUC, as JSON.
  labels PRED.u8 TRUTH.u8 W H D SX SY SZ REGIONS
      two label volumes (x fastest, then y, then z), spacing in mm along x, y, z; REGIONS is JSON
      {"name": [labels...]}: per region the dice (eps 1e-5, seed 002's), HD95 in mm (MONAI's: the
      larger of the two directed 95th percentiles of surface distances) and the volumes in mL.

Surfaces: the voxels a one-voxel erosion with the 6-neighbour cross (4 on a grid one slice deep) removes (scipy binary_erosion,
outside is background); distances: distance_transform_edt of the other surface's complement with
sampling = spacing. Both empty: HD95 0; one empty: null.
"""
import json
import sys

import numpy as np
from scipy import ndimage, stats


def slice_metrics(probs, truth, fov, mask):
    inside = fov.astype(bool)
    p = probs[inside]
    t = truth[inside].astype(bool)
    m = mask[inside].astype(bool)
    tp = int(np.sum(m & t))
    fp = int(np.sum(m & ~t))
    fn = int(np.sum(~m & t))
    tn = int(np.sum(~m & ~t))
    n = tp + fp + fn + tn

    def iou(i, u):
        return 1.0 if u == 0 else i / u

    fg, bg = iou(tp, tp + fp + fn), iou(tn, tn + fp + fn)
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n)
    npos, nneg = int(t.sum()), int((~t).sum())
    auc = None
    if npos and nneg:
        ranks = stats.rankdata(p.astype(np.float64), method="average")
        auc = float((ranks[t].sum() - npos * (npos + 1) / 2) / (npos * nneg))
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn, "pixels": n,
        "iou_per_class": {"background": bg, "foreground": fg},
        "miou": (bg + fg) / 2,
        "accuracy": po,
        "sensitivity": None if tp + fn == 0 else tp / (tp + fn),
        "specificity": None if tn + fp == 0 else tn / (tn + fp),
        "kappa": 1.0 if pe == 1 else (po - pe) / (1 - pe),
        "auc": auc,
    }


def surface(m):
    cross = ndimage.generate_binary_structure(m.ndim, 1)
    return m & ~ndimage.binary_erosion(m, structure=cross, iterations=1, border_value=0)


def hd95(a, b, spacing_zyx):
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return None
    if a.shape[0] == 1:  # one slice: a 2D image, its in-plane cross
        a, b, spacing_zyx = a[0], b[0], spacing_zyx[1:]
    sa, sb = surface(a), surface(b)
    d_ab = ndimage.distance_transform_edt(~sb, sampling=spacing_zyx)[sa]
    d_ba = ndimage.distance_transform_edt(~sa, sampling=spacing_zyx)[sb]
    return float(max(np.percentile(d_ab, 95), np.percentile(d_ba, 95)))


def label_metrics(pred, truth, spacing_zyx, regions):
    voxel_ml = abs(np.prod(spacing_zyx)) / 1000
    out = {}
    for name, labels in regions.items():
        a, b = np.isin(pred, labels), np.isin(truth, labels)
        inter = int(np.sum(a & b))
        sa, sb = int(a.sum()), int(b.sum())
        out[name] = {
            "labels": labels,
            "dice": (2 * inter + 1e-5) / (sa + sb + 1e-5),
            "hd95_mm": hd95(a, b, spacing_zyx),
            "ml": sa * voxel_ml,
            "truth_ml": sb * voxel_ml,
        }
    return out


def main(argv):
    if argv[0] == "slice":
        probs = np.fromfile(argv[1], dtype="<f4")
        truth = np.fromfile(argv[2], dtype=np.uint8)
        fov = np.ones_like(truth) if argv[3] == "-" else np.fromfile(argv[3], dtype=np.uint8)
        try:
            mask = probs >= float(argv[4])
        except ValueError:
            mask = np.fromfile(argv[4], dtype=np.uint8)
        print(json.dumps(slice_metrics(probs, truth, fov, mask)))
    elif argv[0] == "labels":
        w, h, d = (int(v) for v in argv[3:6])
        sx, sy, sz = (float(v) for v in argv[6:9])
        pred = np.fromfile(argv[1], dtype=np.uint8).reshape(d, h, w)
        truth = np.fromfile(argv[2], dtype=np.uint8).reshape(d, h, w)
        print(json.dumps(label_metrics(pred, truth, (sz, sy, sx), json.loads(argv[9]))))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
