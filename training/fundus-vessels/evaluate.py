"""PyTorch-side evaluation of a fundus-vessels checkpoint on the 20 DRIVE test images (1st observer,
inside the FOV mask, pixels pooled): the reference beside training/fundus-vessels/evaluate.ts, which measures the
shipped tfjs artifact. Runs the BatchNorm-folded net with float16-rounded weights (what the shard
stores) and the float32 training net, at the threshold given (the card's).

  /usr/bin/python3 training/fundus-vessels/evaluate.py training/runs/fundus/best.pt 0.5
"""
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../_shared"))
try:
    from sklearn.metrics import roc_auc_score
except ImportError:  # Debian's python3 here has no sklearn: the numpy twin
    from roc import roc_auc_score  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "../../reference"))
sys.path.insert(0, HERE)
import fundus_preprocess as drive  # noqa: E402
from dump import folded_model  # noqa: E402
from train import predict  # noqa: E402
from unet import UNet  # noqa: E402


def metrics(probs, labels, fovs, t):
    p = np.concatenate([pr[f] for pr, f in zip(probs, fovs)])
    y = np.concatenate([lb[f] for lb, f in zip(labels, fovs)])
    pred = p > t
    tp, fp = np.sum(pred & y), np.sum(pred & ~y)
    fn, tn = np.sum(~pred & y), np.sum(~pred & ~y)
    per = [2 * np.sum((pr[f] > t) & lb[f]) / (np.sum(pr[f] > t) + np.sum(lb[f]))
           for pr, lb, f in zip(probs, labels, fovs)]
    r = lambda v: round(float(v), 4)
    return {"f1": r(2 * tp / (2 * tp + fp + fn)), "auc": r(roc_auc_score(y, p)),
            "accuracy": r((tp + tn) / len(y)), "sensitivity": r(tp / (tp + fn)),
            "specificity": r(tn / (tn + fp)), "mean_image_f1": r(np.mean(per))}


def main(ckpt_path, t):
    torch.set_num_threads(1)
    ck = torch.load(ckpt_path, map_location="cpu")
    a = ck["args"]
    net = UNet(1, a["levels"], a["filters"])
    net.load_state_dict(ck["state"])
    net.eval()
    stride = 2 ** a["levels"]
    test = [drive.load("test", n) for n in drive.ids("test")]
    xs = [drive.preprocess(v[0]) for v in test]
    out = {}
    for tag, model in (("torch_f32_bn", net),
                       ("torch_f16_folded", folded_model(net, True))):
        t0 = time.process_time()
        probs = [predict(model, x, stride) for x in xs]
        cpu = (time.process_time() - t0) / len(xs)
        out[tag] = {**metrics(probs, [v[1] for v in test], [v[2] for v in test], t),
                    "cpu_ms_per_image": round(cpu * 1000)}
    print(json.dumps({"threshold": t, **out}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
