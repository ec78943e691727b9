"""Seed 001's recipe on a SIIM-style folder of DICOMs + train-rle.csv: the cxr-pneumothorax model
for /segment/slice.

  /usr/bin/python3 training/cxr_pneumothorax/train.py --data <folder> --work <dir> \
      [--csv <folder>/train-rle.csv --epochs 70 --size 256 --batch 16 --steps 0 --held-out ...]

Usually run through `deno task train:cxr-pneumothorax` (training/cxr_pneumothorax/run.ts), which
exports the dump this writes (<work>/dump.json) into a model folder. What the seed does, and so this:

- Images: every *.dcm under --data (the seed globs dicom-images-train/*/*/*.dcm), keyed by
  SOPInstanceUID; masks from train-rle.csv (or --csv; .gz read as is; with or without its header
  'ImageId, EncodedPixels'), decoded by the seed's own rle2mask (reference/seed001_rle.py,
  relative runs, column-major: `.T`), several rows of one image united. Images with no row in the
  CSV are dropped (the seed's "x-rays with missing masks"); a second file with an SOPInstanceUID
  already read is skipped (both are said in the log).
- Input: the stored samples (0-255) as the cxr-pneumothorax preset gives them
  (lib/pipelines/cxr_pneumothorax.ts; MONOCHROME1 inverted as lib/dicom does), resized to --size
  (256) with OpenCV bilinear on float32 as the service resizes a fixed-size model's input; masks
  resized the same way (soft edges, as the seed's cv2.resize of the 0/255 mask / 255).
- Augmentation: the seed's AUGMENTATIONS_TRAIN (training/cxr_pneumothorax/augment.py).
- Net: the seed's ResUNet (training/_shared/resunet.py, 16-32-64-128-256, BatchNorm), loss
  bce + dice (smooth 1, the batch flattened), IoU at 0.5 logged per epoch (iou_metric), Adam with
  the seed's snapshot-ensemble cosine schedule from lr 1e-3 over the epochs (1 snapshot), batch 16,
  70 epochs; the last epoch's weights are kept (the seed's single snapshot). Threshold 0.5.
- Split: by patient (PatientID): `--held-out` names them, else the last 10% of the sorted IDs
  (the seed's val_size 0.1, which it split by image). With one patient nothing is held out and the
  card says so. Metrics on the held-out images at 1024 x 1024, the model's output resized back as
  /segment/slice answers.
"""
import argparse
import csv
import gzip
import io
import math
import os
import sys
import time

import cv2
import numpy as np
import pydicom
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../_shared"))
sys.path.insert(0, os.path.join(HERE, "../../reference"))
sys.path.insert(0, HERE)
import recipe  # noqa: E402
from augment import augment  # noqa: E402
from resunet import FILTERS, ResUNet  # noqa: E402
from seed001_rle import rle2mask  # noqa: E402


def read_csv(path):
    """{ImageId: [EncodedPixels, ...]} of a SIIM train-rle.csv (header optional, BOM ignored)."""
    raw = open(path, "rb").read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    rows = {}
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
        if len(row) < 2 or row[0].strip() == "ImageId":
            continue
        rows.setdefault(row[0].strip(), []).append(row[1])
    return rows


def read_image(path):
    """The samples as the service decodes them (MONOCHROME1 inverted over the stored range)."""
    ds = pydicom.dcmread(path)
    x = ds.pixel_array.astype(np.float32)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        x = float(2 ** int(ds.BitsStored) - 1) - x
    return x


def mask_of(rles, width, height):
    m = np.zeros((height, width), np.float32)
    for rle in rles:
        if rle.strip() != "-1":
            m = np.maximum(m, rle2mask(rle, width, height).T / 255)
    return m


def dice_bce(logits, y):
    """The seed's bce_dice_loss: binary crossentropy + (1 - dice, smooth 1, the batch flattened)."""
    p = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, y)
    inter = (p * y).sum()
    return bce + 1 - (2 * inter + 1) / (p.sum() + y.sum() + 1)


def iou_at_half(p, y):
    """Per-image IoU of p > 0.5 against y > 0.5, both empty scoring 1, averaged over the batch."""
    a, b = p > 0.5, y > 0.5
    inter = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    return float(torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--csv", default="")
    ap.add_argument("--epochs", type=int, default=70)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: none)")
    ap.add_argument("--max-images", type=int, default=0, help="use the first N images (0: all)")
    ap.add_argument("--held-out", default="")
    ap.add_argument("--held-out-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1)))
    args = ap.parse_args()
    if args.size % 16:
        raise SystemExit("--size must be a multiple of 16 (4 stride-2 blocks)")
    os.makedirs(args.work, exist_ok=True)
    recipe.set_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    log = recipe.Log(args.work)

    csv_path = args.csv or os.path.join(args.data, "train-rle.csv")
    if not os.path.exists(csv_path):
        raise SystemExit(f"no {csv_path}: give the SIIM train-rle.csv with --csv")
    rles = read_csv(csv_path)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.data) for f in fs
                   if f.lower().endswith(".dcm"))
    items, seen, dropped, dupes = [], set(), [], []
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        uid = str(ds.SOPInstanceUID)
        if uid in seen:
            dupes.append(os.path.basename(p))
            continue
        if uid not in rles:
            dropped.append(os.path.basename(p))
            continue
        seen.add(uid)
        items.append({"path": p, "uid": uid, "patient": str(ds.PatientID),
                      "width": int(ds.Columns), "height": int(ds.Rows)})
    if args.max_images:
        items = items[:args.max_images]
    log(event="images", found=len(paths), used=len(items), no_csv_row=dropped, same_uid_skipped=dupes)
    if not items:
        raise SystemExit(f"no DICOM under {args.data} has a row in {csv_path}")
    train_ids, held_ids = recipe.split_patients({i["patient"] for i in items}, args.held_out,
                                                args.held_out_fraction)
    train = [i for i in items if i["patient"] in train_ids]
    held = [i for i in items if i["patient"] in held_ids] or train
    log(event="split", train_patients=len(train_ids), held_out_patients=len(held_ids),
        train_images=len(train), held_out_images=len(held) if held_ids else 0)

    S = args.size
    cache = {}

    def sample(i):
        if i["uid"] not in cache:
            x = read_image(i["path"])
            y = mask_of(rles[i["uid"]], i["width"], i["height"])
            # float16 in memory (a whole SIIM train set at 256: 2.8 GB instead of 5.6)
            cache[i["uid"]] = (recipe.resize(x, S).astype(np.float16),
                               recipe.resize(y, S).astype(np.float16))
        x, y = cache[i["uid"]]
        return x.astype(np.float32), y.astype(np.float32)

    model = ResUNet(1)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, t0, done = 0, time.time(), False
    for epoch in range(args.epochs):
        # LearningRateCallbackBuilder(nb_epochs, nb_snapshots=1, init_lr): cosine annealing per epoch
        lr = args.lr / 2 * (math.cos(math.pi * (epoch % args.epochs) / args.epochs) + 1)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        order = rng.permutation(len(train))
        losses, ious = [], []
        # DataGenerator.__len__ = floor(n / batch): a last partial batch is dropped (kept when it is
        # the only one)
        for b in range(0, max(len(order) - args.batch + 1, 1), args.batch):
            pairs = [augment(rng, *sample(train[k])) for k in order[b:b + args.batch]]
            X = torch.from_numpy(np.stack([p[0] for p in pairs])[:, None])
            Y = torch.from_numpy(np.stack([p[1] for p in pairs])[:, None])
            logits = model(X, logits=True)
            loss = dice_bce(logits, Y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss))
            ious.append(iou_at_half(torch.sigmoid(logits.detach()), Y))
            step += 1
            if args.steps and step >= args.steps:
                done = True
                break
        log(event="epoch", epoch=epoch + 1, step=step, lr=lr, loss=float(np.mean(losses)),
            iou=float(np.mean(ious)))
        if done:
            break
    train_seconds = round(time.time() - t0, 1)
    recipe.save_model(model, args.work, size=S)

    model.eval()
    full = [(read_image(i["path"]), mask_of(rles[i["uid"]], i["width"], i["height"]) > 0.5)
            for i in held]
    metrics = recipe.evaluate(model, full, S, 0.5, full[0][1].shape)
    metrics["test_set"] = (
        f"held-out patients: {len(held_ids)} ({len(held)} images, "
        f"{sum(1 for _, t in full if t.any())} with pneumothorax)" if held_ids else
        "NOT held out: the data has one patient, so these are its own training images; a "
        "held-out score needs 2 or more patients")
    log(event="metrics", **{k: v for k, v in metrics.items() if k != "measured_at"})
    recipe.write_dump(
        os.path.join(args.work, "dump.json"),
        model="cxr-pneumothorax",
        architecture={"kind": "resunet", "filters": list(FILTERS)},
        size=S,
        preprocess={"preset": "cxr-pneumothorax", "params": {"divide_by": 1}},
        threshold=0.5,
        weights={k: [recipe.tensor(w) for w in v] for k, v in model.tfjs_weights().items()},
        samples={"replay": recipe.replay_sample(model, recipe.resize(full[0][0], S))},
        metrics=metrics,
        training={
            "patients": {"train": len(train_ids), "held_out": len(held_ids),
                         "held_out_ids": sorted(held_ids)},
            "train_images": len(train),
            "dropped_without_csv_row": len(dropped),
            "steps": step,
            "epochs_run": epoch + 1,
            "seconds": train_seconds,
            "args": {k: v for k, v in vars(args).items() if k not in ("data", "work", "csv")},
        },
    )


if __name__ == "__main__":
    main()
