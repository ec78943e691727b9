"""Dumps a trained two-input CxrNet for training/cxr-pneumonia/export.ts: BatchNorm folded into the
convs (eval statistics), every weight in tfjs layout named as the tfjs layers are (conv kernel
[kh, kw, in, out] = torch [out, in, kh, kw].permute(2, 3, 1, 0); dense kernel = torch weight.T),
plus PyTorch's outputs on a synthetic replay input and on 32 cached validation films.

  /usr/bin/python3 training/cxr-pneumonia/dump.py /tmp/cxr/runs/both/best.pt /tmp/cxr/dump.json
"""
import base64
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CxrNet  # noqa: E402
from train import load  # noqa: E402


def tensor(a):
    a = np.ascontiguousarray(np.asarray(a, "<f4"))
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def fold(block):
    w = block.conv.weight.detach()
    bn = block.bn
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    return w * scale[:, None, None, None], bn.bias.detach() - bn.running_mean * scale


def replay_input():
    """A smooth synthetic 'film' in [0, 1] (no patient data in the card)."""
    y, x = np.mgrid[0:224, 0:224].astype(np.float64) / 223
    img = 0.5 + 0.3 * np.sin(6 * x) * np.cos(4 * y) + 0.2 * np.exp(-((x - 0.3) ** 2 + (y - 0.6) ** 2) / 0.02)
    img = np.round(np.clip(img, 0, 1) * 255) / 255
    return img.astype(np.float32)[None, :, :, None], np.array([[0, 0, 1, 0, 0, 0]], np.float32)


def main():
    ckpt, out = sys.argv[1], sys.argv[2]
    model = CxrNet("both")
    model.load_state_dict(torch.load(ckpt))
    model.eval()
    weights = {}
    for name in ("stem", "b1", "b2", "b3", "b4"):
        w, b = fold(getattr(model, name))
        weights[name] = [tensor(w.permute(2, 3, 1, 0).numpy()), tensor(b.numpy())]
    for name in ("feat", "fc", "out"):
        lin = getattr(model, name)
        weights[name] = [tensor(lin.weight.detach().T.numpy()), tensor(lin.bias.detach().numpy())]

    def run(img_nhwc, feats):
        with torch.no_grad():
            x = torch.from_numpy(img_nhwc).permute(0, 3, 1, 2).contiguous()
            return torch.sigmoid(model(x, torch.from_numpy(feats))).numpy()[:, None]

    rimg, rfeat = replay_input()
    X, F, _ = load("val")
    ximg = X[:32].permute(0, 2, 3, 1).numpy().copy()
    xf = F[:32].numpy().copy()
    json.dump({
        "weights": weights,
        "replay": {"inputs": [tensor(rimg), tensor(rfeat)], "output": tensor(run(rimg, rfeat))},
        "check": {"inputs": [tensor(ximg), tensor(xf)], "output": tensor(run(ximg, xf))},
    }, open(out, "w"))
    print("wrote", out)


if __name__ == "__main__":
    main()
