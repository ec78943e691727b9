"""Warm start for train.py --init-from: a shipped fundus-vessels artifact (models/<name>/model.json +
weights.bin, BatchNorm already folded, float16 or float32 shard) loaded back into the training UNet.

Each folded conv goes in as kernel + BatchNorm with scale 1 and shift = the folded bias (running
mean 0, running variance 1 - eps, so the BatchNorm is the identity plus the bias); train.py then
keeps every BatchNorm in eval mode (`freeze_bn_stats`), so the statistics stay the identity and only
the kernels, biases and BatchNorm scale/shift learn. dump.py folds such a net back exactly.
"""
import json
import os

import numpy as np
import torch

DTYPES = {"float16": "<f2", "float32": "<f4"}


def read_artifact(folder):
    """{tfjs weight name: float32 array in tfjs layout} from model.json + its shard(s)."""
    spec = json.load(open(os.path.join(folder, "model.json")))["weightsManifest"]
    out = {}
    for group in spec:
        raw = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            dt = DTYPES[(w.get("quantization") or {}).get("dtype", w["dtype"])]
            n = int(np.prod(w["shape"]))
            a = np.frombuffer(raw, dt, n, off).astype(np.float32).reshape(w["shape"])
            off += n * np.dtype(dt).itemsize
            out[w["name"]] = a
        assert off == len(raw), (off, len(raw))
    return out


def load_into(model, folder):
    """Sets model (a training UNet with BatchNorm) to the artifact's folded weights."""
    w = read_artifact(folder)
    torch_layout = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(3, 2, 0, 1)))  # noqa: E731
    convs = {f"enc{l}_conv{i}": c for l, (a, b) in enumerate(model.enc) for i, c in enumerate((a, b), 1)}
    convs.update({f"bottom_conv{i}": c for i, c in enumerate(model.bottom, 1)})
    L = model.levels
    ups = {}
    for k, (up, (a, b)) in enumerate(zip(model.up, model.dec)):
        ups[f"up{L - 1 - k}_tconv"] = up
        convs.update({f"dec{L - 1 - k}_conv{i}": c for i, c in enumerate((a, b), 1)})
    used = set()
    with torch.no_grad():
        for name, c in convs.items():
            c.conv.weight.copy_(torch_layout(w[f"{name}/kernel"]))
            bias = torch.from_numpy(w[f"{name}/bias"])
            bn = c.bn
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            used.update((f"{name}/kernel", f"{name}/bias"))
        for name, up in ups.items():
            up.weight.copy_(torch_layout(w[f"{name}/kernel"]))
            up.bias.copy_(torch.from_numpy(w[f"{name}/bias"]))
            used.update((f"{name}/kernel", f"{name}/bias"))
        model.head.weight.copy_(torch_layout(w["head/kernel"]))
        model.head.bias.copy_(torch.from_numpy(w["head/bias"]))
        used.update(("head/kernel", "head/bias"))
    assert used == set(w), sorted(set(w) - used)
    return model


def freeze_bn_stats(model):
    """BatchNorm layers to eval mode (running statistics used and not updated); call after train()."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
