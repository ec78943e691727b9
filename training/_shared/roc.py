"""ROC AUC and ROC curve in numpy/scipy, for the training scripts where scikit-learn is absent
(Debian's python3 here has no sklearn). Same definitions as sklearn.metrics: AUC is the
Mann-Whitney statistic with ties counted half (average ranks); roc_curve returns one point per
distinct score, highest first, with a leading (0, 0) point at threshold +inf.
"""
import numpy as np
from scipy.stats import rankdata


def roc_auc_score(y, p):
    y = np.asarray(y).ravel().astype(bool)
    p = np.asarray(p, np.float64).ravel()
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both classes")
    r = rankdata(p)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y, p):
    y = np.asarray(y).ravel().astype(bool)
    p = np.asarray(p, np.float64).ravel()
    order = np.argsort(-p, kind="mergesort")
    p, y = p[order], y[order]
    last = np.r_[np.where(np.diff(p))[0], p.size - 1]  # last index of each distinct score
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0, tps / max(tps[-1], 1)]
    fpr = np.r_[0, fps / max(fps[-1], 1)]
    return fpr, tpr, np.r_[np.inf, p[last]]
