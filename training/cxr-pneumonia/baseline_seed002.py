"""Seed 002's own RSNA classifier, as the seed builds it, trained on the shipped model's split: the
baseline the shipped cxr-pneumonia is compared against.

The network is the seed's `build_model()` (Keras) layer for layer in PyTorch:

  image 224x224x1 (TARGET_SHAPE + (1,))
    cb1 Conv2D 128, kernel 8, valid, SELU, BatchNormalization          -> 217x217x128
    cb2 Conv2D  32, kernel 8, valid, SELU, MaxPool 2                   -> 105x105x32
    cb3 Conv2D   8, kernel 8, valid, SELU, MaxPool 2, Dropout 0.2      ->  49x49x8
    cb4 Conv2D   4, kernel 8, valid, SELU, MaxPool 2, Dropout 0.2      ->  21x21x4
    Flatten 1764 -> Dense 128 SELU -> Dense 64 SELU -> Dense 32 SELU
  features 6 (age buckets 0-20 ... 80+, view PA) -> Dense 4 SELU
  concat 36 -> Dense 16 SELU -> Dense 8 SELU -> Dense 1 sigmoid

526,217 trainable parameters (the seed's model summary) plus BatchNorm's 256 moving statistics.
Keras defaults are kept: Glorot-uniform kernels, zero biases, BatchNorm eps 1e-3 / momentum 0.99,
Adam lr 1e-3, batch 32, binary cross-entropy, no augmentation, the epoch with the best validation
AUC kept (the seed trains 10 epochs and tracks AUC). Three deliberate departures, all written to
the card: the loss is BCE on the logit of the sigmoid output (the seed passes the *sigmoid* output
to BinaryCrossentropy(from_logits=True), a bug); the films are the shipped model's cached ones
(prepare.py: the preset's CLAHE 4 / 8x8, 1 mm resample, 224 INTER_CUBIC, / 255; the seed computes
CLAHE and then resamples the un-equalised pixels, another bug); and before each validation pass the
BatchNorm's moving statistics are recomputed exactly over the training films (`recalibrate_bn`):
with momentum 0.99 they are still mostly their initial 0 / 1 after the few dozen steps a time-capped
run makes (measured: run 1's checkpoint scored val AUC 0.398 with them, 0.682 recalibrated). The split is the shipped model's
training/cxr-pneumonia/split.csv (train 1,000 / val 200 / test 300), the threshold is chosen on val
(max Youden J) and the test figures come from evaluate.py's own functions, which also re-measure
the shipped artifact (models/cxr-pneumonia, its float32 weights loaded into model.py's CxrNet with
BatchNorm as identity, the BN already folded) on the same films.

One step costs about 1.1 s of one core per film (forward + backward, 12 G multiply-adds a film,
almost all in cb2), so the seed's 10 epochs are about 3 h of one core; `--max-minutes` caps the run
and the card records how many films it saw.

  /usr/bin/python3 training/cxr-pneumonia/prepare.py    # once: the cache and the split
  /usr/bin/python3 training/cxr-pneumonia/baseline_seed002.py all --max-minutes 40 > /tmp/cxr/seed002.json
  /usr/bin/python3 training/cxr-pneumonia/baseline_seed002.py summary  # the layer list (no data)
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RUNS = os.environ.get("CXR_RUNS", "/tmp/cxr/runs")
SIZE = 224


class Seed002Net(nn.Module):
    """The seed's build_model(): see the module docstring."""

    def __init__(self):
        super().__init__()
        self.cb1 = nn.Conv2d(1, 128, 8)
        self.bn1 = nn.BatchNorm2d(128, eps=1e-3, momentum=0.01)
        self.cb2 = nn.Conv2d(128, 32, 8)
        self.cb3 = nn.Conv2d(32, 8, 8)
        self.cb4 = nn.Conv2d(8, 4, 8)
        self.drop = nn.Dropout(0.2)
        self.cl1 = nn.Linear(21 * 21 * 4, 128)
        self.cl2 = nn.Linear(128, 64)
        self.cl3 = nn.Linear(64, 32)
        self.fl1 = nn.Linear(6, 4)
        self.pl1 = nn.Linear(36, 16)
        self.pl2 = nn.Linear(16, 8)
        self.out = nn.Linear(8, 1)
        for m in self.modules():  # Keras defaults
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def stages(self, image, features):
        """(name, Keras layer type, tensor) after each layer, in the seed's order."""
        x = F.selu(self.cb1(image))
        yield "cb1_conv", "Conv2D", x
        x = self.bn1(x)
        yield "cb1_bn", "BatchNormalization", x
        x = F.selu(self.cb2(x))
        yield "cb2_conv", "Conv2D", x
        x = F.max_pool2d(x, 2)
        yield "cb2_pool", "MaxPooling2D", x
        x = F.selu(self.cb3(x))
        yield "cb3_conv", "Conv2D", x
        x = F.max_pool2d(x, 2)
        yield "cb3_pool", "MaxPooling2D", x
        x = self.drop(x)
        yield "cb3_dropout", "Dropout", x
        x = F.selu(self.cb4(x))
        yield "cb4_conv", "Conv2D", x
        x = F.max_pool2d(x, 2)
        yield "cb4_pool", "MaxPooling2D", x
        x = self.drop(x)
        yield "cb4_dropout", "Dropout", x
        # Keras Flatten is channels-last: (H, W, C) order
        x = x.permute(0, 2, 3, 1).flatten(1)
        yield "flatten", "Flatten", x
        x = F.selu(self.cl1(x))
        yield "cl1", "Dense", x
        x = F.selu(self.cl2(x))
        yield "cl2", "Dense", x
        x = F.selu(self.cl3(x))
        yield "cl3", "Dense", x
        f = F.selu(self.fl1(features))
        yield "fl1", "Dense", f
        x = torch.cat([x, f], 1)
        yield "concat", "Concatenate", x
        x = F.selu(self.pl1(x))
        yield "pl1", "Dense", x
        x = F.selu(self.pl2(x))
        yield "pl2", "Dense", x
        x = self.out(x)
        yield "output", "Dense", x

    @torch.no_grad()
    def recalibrate_bn(self, X, bs=50):
        """BatchNorm's moving statistics set to the exact mean / variance of cb1's output over X
        (the training films), in place of Keras' exponential average (momentum 0.99), which after a
        few dozen steps still mostly holds its initial 0 / 1 and makes eval-mode answers garbage."""
        bn = self.bn1
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
        training = bn.training
        bn.train()
        for i in range(0, len(X), bs):
            bn(F.selu(self.cb1(X[i:i + bs])))
        bn.momentum = 0.01
        bn.train(training)

    def forward(self, image, features):
        """The logit (the sigmoid is applied by the loss and by predict)."""
        for _, _, x in self.stages(image, features):
            pass
        return x.squeeze(1)


PARAMS = {"cb1_conv": "cb1", "cb1_bn": "bn1", "cb2_conv": "cb2", "cb3_conv": "cb3", "cb4_conv": "cb4",
          "cl1": "cl1", "cl2": "cl2", "cl3": "cl3", "fl1": "fl1", "pl1": "pl1", "pl2": "pl2", "output": "out"}


def summary():
    """The Keras-style model summary: per layer its type, output shape (batch None) and parameters."""
    model = Seed002Net().eval()
    rows = []
    with torch.no_grad():
        for name, kind, x in model.stages(torch.zeros(1, 1, SIZE, SIZE), torch.zeros(1, 6)):
            shape = [None] + (list(x.shape[2:]) + [x.shape[1]] if x.dim() == 4 else list(x.shape[1:]))
            mod = getattr(model, PARAMS[name]) if name in PARAMS else None
            n = sum(p.numel() for p in mod.parameters()) if mod is not None else 0
            if isinstance(mod, nn.BatchNorm2d):
                n += mod.running_mean.numel() + mod.running_var.numel()
            rows.append({"name": name, "type": kind, "output_shape": shape, "params": n})
    trainable = sum(p.numel() for p in model.parameters())
    total = trainable + model.bn1.running_mean.numel() + model.bn1.running_var.numel()
    return {"layers": rows, "total_params": total, "trainable_params": trainable}


def load_splits():
    from train import load  # noqa: E402  (reads $CXR_CACHE)

    return {s: load(s) for s in ("train", "val", "test")}


@torch.no_grad()
def predict(model, X, Fe, bs=50):
    model.eval()
    return torch.cat([torch.sigmoid(model(X[i:i + bs], Fe[i:i + bs])) for i in range(0, len(X), bs)]).numpy()


def train(args):
    from evaluate import roc_auc_score  # noqa: E402

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    data = load_splits()
    Xtr, Ftr, ytr = data["train"]
    Xva, Fva, yva = data["val"]
    model = Seed002Net().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    out = os.path.join(RUNS, args.tag)
    os.makedirs(out, exist_ok=True)
    log, best, seen, t0 = [], [-1.0], 0, time.time()
    stop = False

    def validate(ep, loss):
        model.recalibrate_bn(Xtr)
        auc = float(roc_auc_score(yva.numpy(), predict(model, Xva, Fva)))
        rec = {"epoch": ep + 1, "films_seen": seen, "loss": round(loss.item(), 4), "val_auc": round(auc, 4),
               "s": round(time.time() - t0, 1)}
        if auc > best[0]:
            best[0] = auc
            rec["best"] = True
            torch.save(model.state_dict(), os.path.join(out, "best.pt"))
        log.append(rec)
        print(json.dumps(rec), file=sys.stderr, flush=True)

    validated = -1  # films seen at the last validation pass
    for ep in range(args.epochs):
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(Xtr), args.bs):
            if args.max_minutes and time.time() - t0 > args.max_minutes * 60:
                stop = True  # the time cap: stop before the next batch
                break
            model.train()
            idx = perm[i:i + args.bs]
            x = Xtr[idx].contiguous(memory_format=torch.channels_last)
            loss = F.binary_cross_entropy_with_logits(model(x, Ftr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idx)
            if seen % args.eval_every < args.bs or i + args.bs >= len(Xtr):
                validate(ep, loss)
                validated = seen
        if stop:
            break
    if validated != seen:  # the weights trained since the last pass are scored too
        validate(ep, loss)
    best_rec = max(log, key=lambda r: r["val_auc"])
    info = {"args": vars(args), "epochs_planned": args.epochs, "films_seen": seen,
            "epochs_seen": round(seen / len(Xtr), 2), "stopped_by_time_cap": stop,
            "chosen": best_rec, "seconds": round(time.time() - t0, 1), "log": log}
    json.dump(info, open(os.path.join(out, "log.json"), "w"), indent=1)
    return info


def shipped_model(folder):
    """models/cxr-pneumonia's float32 weights (BN folded) in model.py's CxrNet, BatchNorm as identity."""
    from model import CxrNet  # noqa: E402

    spec = json.load(open(os.path.join(folder, "model.json")))["weightsManifest"][0]
    raw = np.fromfile(os.path.join(folder, spec["paths"][0]), "<f4")
    net = CxrNet("both")
    sd = net.state_dict()
    off = 0
    for w in spec["weights"]:
        assert w["dtype"] == "float32", w
        n = int(np.prod(w["shape"]))
        a = torch.from_numpy(raw[off:off + n].reshape(w["shape"]).copy())
        off += n
        layer, kind = w["name"].split("/")
        if layer in ("stem", "b1", "b2", "b3", "b4"):
            if kind == "kernel":
                sd[f"{layer}.conv.weight"] = a.permute(3, 2, 0, 1).contiguous()
            else:  # folded bias -> BatchNorm shift, scale 1 (var + eps = 1)
                bn = net.get_submodule(f"{layer}.bn")
                sd[f"{layer}.bn.bias"] = a
                sd[f"{layer}.bn.weight"] = torch.ones_like(a)
                sd[f"{layer}.bn.running_mean"] = torch.zeros_like(a)
                sd[f"{layer}.bn.running_var"] = torch.full_like(a, 1 - bn.eps)
        else:
            sd[f"{layer}.{'weight' if kind == 'kernel' else 'bias'}"] = a.T.contiguous() if kind == "kernel" else a
    assert off == raw.size
    net.load_state_dict(sd)
    return net.eval()


def evaluate(run_dir, shipped):
    """Val-chosen threshold, test AUC with evaluate.py's bootstrap CI, for the baseline and the shipped model."""
    from evaluate import at, boot_idx, roc_auc_score, youden  # noqa: E402
    from train import predict as predict_cxr  # noqa: E402

    torch.set_num_threads(1)
    data = load_splits()
    yv, yt = data["val"][2].numpy(), data["test"][2].numpy()
    base = Seed002Net()
    base.load_state_dict(torch.load(os.path.join(run_dir, "best.pt")))
    models = {"seed002": (base, predict), "shipped": (shipped_model(shipped), predict_cxr)}
    out = {}
    for name, (model, pred) in models.items():
        pv = pred(model, data["val"][0], data["val"][1])
        pt = pred(model, data["test"][0], data["test"][1])
        t = youden(yv, pv)
        aucs = [roc_auc_score(yt[i], pt[i]) for i in boot_idx(yt, 2000)]
        r4 = lambda d: {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}  # noqa: E731
        out[name] = {
            "val_auc": round(float(roc_auc_score(yv, pv)), 4),
            "test_auc": round(float(roc_auc_score(yt, pt)), 4),
            "test_auc_95ci": [round(float(np.percentile(aucs, 2.5)), 4), round(float(np.percentile(aucs, 97.5)), 4)],
            "threshold": round(t, 4),
            "test_at_threshold": r4(at(yt, pt, t)),
        }
        if name == "seed002":
            pred_base = pt
        else:
            pred_ship = pt
    d = [roc_auc_score(yt[i], pred_ship[i]) - roc_auc_score(yt[i], pred_base[i]) for i in boot_idx(yt, 2000, 1)]
    out["shipped_minus_seed002_auc"] = {"mean": round(float(np.mean(d)), 4),
                                        "95ci": [round(float(np.percentile(d, 2.5)), 4),
                                                 round(float(np.percentile(d, 97.5)), 4)]}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verb", choices=["summary", "train", "evaluate", "all"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=500, help="films between validation passes")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop training after this wall time (0: no cap)")
    ap.add_argument("--tag", default="seed002")
    ap.add_argument("--shipped", default=os.path.join(HERE, "../../models/cxr-pneumonia"))
    args = ap.parse_args()
    if args.verb == "summary":
        json.dump(summary(), sys.stdout, indent=1)
    else:
        result = {}
        if args.verb in ("train", "all"):
            info = train(args)
            result["training"] = {k: v for k, v in info.items() if k != "log"}
            # every validation pass, so a reader sees whether more epochs were still helping
            result["training"]["validation"] = [{"films_seen": r["films_seen"], "val_auc": r["val_auc"]}
                                                for r in info["log"]]
        if args.verb in ("evaluate", "all"):
            result["metrics"] = evaluate(os.path.join(RUNS, args.tag), args.shipped)
        json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
