"""Dumps a trained fundus-vessels checkpoint for training/fundus-vessels/export.ts: BatchNorm folded into the
convs, weights in tfjs layout named as lib/models/unet.ts names its layers, plus PyTorch's outputs on
sample inputs (a 64x64 crop for the card's replay pair and a whole DRIVE training photo) computed
with the float32 weights and with the weights rounded to float16 (what the shipped shard stores).

  /usr/bin/python3 training/fundus-vessels/dump.py training/runs/fundus/best.pt training/runs/fundus/dump.json
"""
import base64
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../_shared"))
sys.path.insert(0, os.path.join(HERE, "../../reference"))
sys.path.insert(0, HERE)
import fundus_preprocess as drive  # noqa: E402
from train import predict, scores  # noqa: E402
from unet import UNet  # noqa: E402


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode()


def tensor(a):
    return {"shape": list(a.shape), "data": b64(a)}


def folded_model(src, f16):
    """A bias-on, BatchNorm-free UNet holding src's folded weights (optionally rounded to float16)."""
    return src.folded_twin((lambda t: t.half().float()) if f16 else (lambda t: t))


def main(ckpt_path, out_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    args = ck["args"]
    model = UNet(1, args["levels"], args["filters"])
    model.load_state_dict(ck["state"])
    model.eval()
    stride = 2 ** args["levels"]
    rgb, _, _ = drive.load("training", 21)
    x = drive.preprocess(rgb)
    crop = x[300:364, 100:164]  # crosses vessels near the optic disc side
    whole = drive.pad_to(x, stride)
    samples = {}
    with torch.no_grad():
        for name, inp in (("replay", crop), ("whole", whole)):
            t = torch.from_numpy(np.ascontiguousarray(inp))[None, None]
            ref = model(t)[0, 0].numpy()
            outs = {"bn": ref}
            for tag, f16 in (("f32", False), ("f16", True)):
                outs[tag] = folded_model(model, f16)(t)[0, 0].numpy()
            samples[name] = {
                "input": tensor(inp[None, :, :, None]),
                **{f"torch_{k}": tensor(v[None, :, :, None]) for k, v in outs.items() if k != "bn"},
                "fold_max_abs_diff": float(np.abs(outs["f32"] - ref).max()),
            }
            print(name, "BN fold max abs diff", samples[name]["fold_max_abs_diff"],
                  "f16 vs f32 weights", float(np.abs(outs["f16"] - outs["f32"]).max()))
    # The threshold: best F1 of the float16-weight net on the held-out training images.
    f16 = folded_model(model, True)
    val = [drive.load("training", int(n)) for n in args["val"].split(",")]
    probs = [predict(f16, drive.preprocess(v[0]), stride) for v in val]
    auc, f1, thr = scores(probs, [v[1] for v in val], [v[2] for v in val])
    validation = {**ck["record"], "f16_val_auc": auc, "f16_val_f1": f1, "threshold": thr}
    print("validation (float16 weights)", validation)
    log_path = os.path.join(os.path.dirname(ckpt_path), "log.jsonl")
    log = [json.loads(line) for line in open(log_path)] if os.path.exists(log_path) else []
    weights = {k: [tensor(w) for w in v] for k, v in model.folded().items()}
    json.dump({
        "architecture": {"inputChannels": 1, "levels": args["levels"], "filters": args["filters"]},
        "preprocess": {"preset": "fundus-vessels", "params": drive.PARAMS},
        "threshold": thr,
        "validation": validation,
        "args": args,
        "log": log,
        "weights": weights,
        "samples": samples,
    }, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
