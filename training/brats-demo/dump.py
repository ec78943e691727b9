"""Dumps the trained brats-demo checkpoint for training/brats-demo/export.ts: BatchNorm folded into
the convs, weights in tfjs layout named as lib/models/unet.ts (dims 3) names its layers, and PyTorch's
output on a synthetic replay input (channels-last, as tfjs takes it) with the folded weights.

  /usr/bin/python3 training/brats-demo/dump.py training/runs/brats/last.pt training/runs/brats/dump.json
"""
import base64
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import UNet3D  # noqa: E402


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode()


def tensor(a):
    return {"shape": list(a.shape), "data": b64(a)}


def replay_input(shape=(1, 4, 16, 16, 4)):
    """Deterministic z-score-like values, channels-last (no patient data in the card)."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    return (np.sin(i * 0.731) * 1.5 + np.cos(i * 0.0173) * 0.8).astype(np.float32).reshape(shape)


def main(ckpt_path, out_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    args = ck["args"]
    model = UNet3D(4, args["levels"], args["filters"], 3)
    model.load_state_dict(ck["state"])
    model.eval()
    folded = model.folded_twin()
    x = replay_input()
    xt = torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()
    with torch.no_grad():
        y_bn = model(xt)
        y = folded(xt)
    fold_diff = float((y_bn - y).abs().max())
    weights = {name: [tensor(k), tensor(b)] for name, (k, b) in model.folded().items()}
    dump = {
        "architecture": {"inputChannels": 4, "levels": args["levels"], "filters": args["filters"],
                         "outputChannels": 3},
        "args": args,
        "step": ck.get("step"),
        "weights": weights,
        "replay": {
            "input": tensor(x),
            "torch": tensor(y.permute(0, 2, 3, 4, 1).contiguous().numpy()),
            "fold_max_abs_diff": fold_diff,
        },
    }
    with open(out_path, "w") as f:
        json.dump(dump, f)
    print(json.dumps({"out": out_path, "step": ck.get("step"), "fold_max_abs_diff": fold_diff}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
