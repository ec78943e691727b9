"""What the bring-your-own-data recipes (training/ct_liver, training/cxr_pneumothorax) share: the
held-out split by patient, overlap scores at the size the service answers, the dump that
training/_shared/recipe.ts turns into a model folder, and a step log.
"""
import base64
import json
import os
import re
import time

import cv2
import numpy as np
import torch


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, "<f4").tobytes()).decode()


def tensor(a):
    return {"shape": list(a.shape), "data": b64(a)}


def natural_key(name):
    """Sorts 3Dircadb1.2 before 3Dircadb1.10 (numbers by value)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def split_patients(patients, held_out_names, fraction):
    """(train, held_out) lists of patient names: the named ones held out, else the last
    round(fraction * n) of the names in natural order (at least 1 when there are 2 or more: for
    3Dircadb1.1-20 and 0.15, 3Dircadb1.18-20, the seed's test patients); one patient is trained on
    and nothing is held out."""
    patients = sorted(patients, key=natural_key)
    if held_out_names:
        want = [p.strip() for p in held_out_names.split(",") if p.strip()]
        missing = [p for p in want if p not in patients]
        if missing:
            raise SystemExit(f"--held-out names patients that are not in the data: {missing}")
        held = want
    elif len(patients) < 2:
        held = []
    else:
        held = patients[len(patients) - max(1, round(fraction * len(patients))):]
    train = [p for p in patients if p not in held]
    if not train:
        raise SystemExit("every patient is held out: nothing left to train on")
    return train, held


def resize(a, size):
    """OpenCV bilinear on float32, as the service resizes a model's input and output
    (lib/models/infer.ts resizeInput)."""
    a = np.asarray(a, np.float32)
    if a.shape[0] == size and a.shape[1] == size:
        return a
    return cv2.resize(a, (size, size), interpolation=cv2.INTER_LINEAR)


def overlap(pred, truth):
    """dice, IoU of two boolean masks; both empty scores 1 (as lib/image/measure.ts)."""
    inter = int(np.logical_and(pred, truth).sum())
    a, b = int(pred.sum()), int(truth.sum())
    if a + b == 0:
        return 1.0, 1.0
    return 2 * inter / (a + b), inter / (a + b - inter)


def served_probs(model, x, size):
    """The foreground probability of `x` (float32, any size) as /segment/slice computes it for a
    fixed size x size model: input resized to the model's size, output resized back (bilinear)."""
    model.eval()
    with torch.no_grad():
        p = model(torch.from_numpy(resize(x, size))[None, None])[0, 0].numpy()
    return cv2.resize(p, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_LINEAR)


def save_model(model, work, **meta):
    """<work>/model.pt: the trained weights and how to rebuild the net (tests compare the served
    answer with PyTorch's)."""
    torch.save({"state": model.state_dict(), **meta}, os.path.join(work, "model.pt"))


def evaluate(model, items, size, threshold, full_size):
    """The model as the service runs it on held-out items [(input at full size, truth mask)]:
    input resized to size x size, the probability resized back, foreground above the threshold.
    Returns per-image mean dice/IoU and the pooled (all pixels of all images) dice/IoU."""
    dices, ious, inter, total_p, total_t = [], [], 0, 0, 0
    for x, truth in items:
        pred = served_probs(model, x, size) > threshold
        d, i = overlap(pred, truth)
        dices.append(d)
        ious.append(i)
        inter += int(np.logical_and(pred, truth).sum())
        total_p += int(pred.sum())
        total_t += int(truth.sum())
    pooled_dice = 2 * inter / (total_p + total_t) if total_p + total_t else 1.0
    pooled_iou = inter / (total_p + total_t - inter) if total_p + total_t else 1.0
    return {
        "images": len(items),
        "images_with_foreground": int(sum(1 for _, t in items if t.any())),
        "dice_mean": float(np.mean(dices)) if dices else None,
        "iou_mean": float(np.mean(ious)) if ious else None,
        "dice_pooled": pooled_dice,
        "iou_pooled": pooled_iou,
        "threshold": threshold,
        "measured_at": f"the input's own size ({full_size[1]}x{full_size[0]}), the model's output "
                       f"resized back from {size}x{size} as /segment/slice does",
    }


class Log:
    """Prints and keeps one JSON line per logged step."""

    def __init__(self, work):
        self.t0 = time.time()
        self.lines = []
        self.path = os.path.join(work, "log.jsonl")
        open(self.path, "w").close()

    def __call__(self, **kv):
        kv["seconds"] = round(time.time() - self.t0, 1)
        self.lines.append(kv)
        print(json.dumps(kv), flush=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(kv) + "\n")


def replay_sample(model, x, side=64):
    """The card's replay pair: a side x side crop of a preprocessed input at the model's size (the
    centre), and PyTorch's output on it, both NHWC."""
    h, w = x.shape
    s = min(side, h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(x[y0:y0 + s, x0:x0 + s], np.float32)
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(crop)[None, None])[0, 0].numpy()
    return {"input": tensor(crop[None, :, :, None]), "torch": tensor(out[None, :, :, None])}


def write_dump(path, **fields):
    with open(path, "w") as f:
        json.dump(fields, f)


def set_threads(n):
    torch.set_num_threads(max(1, int(n)))
