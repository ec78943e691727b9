"""Seed 003's recipe on a 3D-IRCADb-style folder of patients: the ct-liver model for /segment/slice.

  /usr/bin/python3 training/ct_liver/train.py --data <folder or .tar.gz> --work <dir> \
      [--epochs 500 --size 512 --batch 8 --lr 1e-5 --steps 0 --held-out 3Dircadb1.18,...]

Usually run through `deno task train:ct-liver` (training/ct_liver/run.ts), which exports the dump
this writes (<work>/dump.json) into a model folder. What the seed does, and so this:

- Patients: every folder under --data holding PATIENT_DICOM/ and MASKS_DICOM/liver/ (3D-IRCADb's
  layout; files in any name order, sorted by InstanceNumber as the seed). A .tar.gz / .zip is
  unpacked into <work>/data first.
- Slices: those from the first to the last slice with liver, less `--margin` (5) at each end: the
  seed's `images[start+5:end-5]` ("the first and last target areas are too small, discard").
- Preprocessing: the ct-liver preset (lib/pipelines/ct.ts) through its Python twin
  reference/seed003_ct_liver.py (HU -> window 500/150 -> uint8 -> CLAHE 2, 8x8 -> / 255), checked
  equal to the preset on real slices by tests/models/ct_liver_test.ts and, for what this script
  feeds the net, tests/training/ct_liver_test.ts. Masks: liver > 0 -> 1.
- Augmentation: per training patient, 2 batches of 32 (`--augment-batches`) randomly transformed
  copies are added to the originals, with Keras ImageDataGenerator's transforms of the seed
  (rotation 3 degrees, shifts 0.01, shear 0.01, zoom 0.01, fill nearest), the same transform on
  image and mask.
- Net: the seed's U-Net (32-64-128-256-512, two 3x3 ReLU convs per level, 2x2 max-pooling, 2x2
  transposed convs up, sigmoid), training/_shared/unet.py without BatchNorm (the seed has none),
  Glorot-uniform weights and zero biases as Keras initialises them. Loss: the seed's dice
  (smooth 1, over the batch), Adam lr 1e-5, batch 8.
- Size: the seed trains at 512 x 512; `--size S` trains at S x S (preprocessed slices resized with
  OpenCV bilinear, as the service resizes a fixed-size model's input) and the card declares an
  S x S input, so /segment/slice resizes to S and the mask back.
- Split: by patient. `--held-out` names the held-out patients, else the last 15% of the sorted
  names (the seed holds out 3 of 20: 3Dircadb1.18-20); the last epoch is kept (the seed chose its
  checkpoint on its test patients; this does not choose on them). With one patient nothing is held
  out, and the card says the metrics are on the training patient.
"""
import argparse
import json
import os
import sys
import tarfile
import time
import zipfile

import cv2
import numpy as np
import pydicom
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../_shared"))
sys.path.insert(0, os.path.join(HERE, "../../reference"))
import recipe  # noqa: E402
import seed003_ct_liver as seed  # noqa: E402
from unet import UNet  # noqa: E402

PARAMS = {"windowWidth": 500, "windowCenter": 150, "clipLimit": 2, "tiles": 8}


def unpack(data, work):
    """A folder as it is; a .tar.gz/.tgz/.tar/.zip unpacked into <work>/data."""
    if os.path.isdir(data):
        return data
    dest = os.path.join(work, "data")
    os.makedirs(dest, exist_ok=True)
    if zipfile.is_zipfile(data):
        zipfile.ZipFile(data).extractall(dest)
    elif tarfile.is_tarfile(data):
        with tarfile.open(data) as t:
            t.extractall(dest)
    else:
        raise SystemExit(f"--data {data} is neither a folder nor a .tar(.gz) / .zip")
    return dest


def find_patients(root):
    """{name: folder} of every folder with PATIENT_DICOM/ and MASKS_DICOM/liver/."""
    out = {}
    for d, subdirs, _ in os.walk(root):
        if "PATIENT_DICOM" in subdirs and os.path.isdir(os.path.join(d, "MASKS_DICOM", "liver")):
            name = os.path.basename(os.path.normpath(d))
            if name in out:
                raise SystemExit(f"two patient folders are named {name}: {out[name]} and {d}")
            out[name] = d
    return out


def read_series(folder):
    files = [os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith(".")]
    slices = [pydicom.dcmread(f) for f in files if os.path.isfile(f)]
    slices.sort(key=lambda s: int(s.InstanceNumber))
    return slices


def model_input(ds):
    """One CT slice (pydicom dataset) as the ct-liver preset gives it to the model: float32 in [0, 1]."""
    return seed.preprocess(ds).astype(np.float32) / 255


def load_patient(folder, margin):
    """(preprocessed float32 slices [n, 512, 512], liver masks uint8 [n, 512, 512]) of the seed's
    slice range."""
    images = read_series(os.path.join(folder, "PATIENT_DICOM"))
    livers = np.stack([s.pixel_array for s in read_series(os.path.join(folder, "MASKS_DICOM", "liver"))])
    if len(images) != len(livers):
        raise SystemExit(f"{folder}: {len(images)} CT slices but {len(livers)} liver masks")
    has = np.where(livers.reshape(len(livers), -1).max(1) > 0)[0]
    if len(has) == 0:
        return None, None
    start, end = int(has[0]), int(has[-1])
    keep = range(start + margin, end - margin)
    x = np.stack([model_input(images[i]) for i in keep]) if keep else None
    y = (livers[start + margin:end - margin] > 0).astype(np.uint8)
    return x, y


def keras_transform(rng, img, mask):
    """One ImageDataGenerator(rotation_range=3, width/height_shift_range=0.01, shear_range=0.01,
    zoom_range=0.01, fill_mode='nearest') transform, the same for image and mask."""
    h, w = img.shape
    theta = np.deg2rad(rng.uniform(-3, 3))
    tx, ty = rng.uniform(-0.01, 0.01) * h, rng.uniform(-0.01, 0.01) * w
    shear = np.deg2rad(rng.uniform(-0.01, 0.01))
    zx, zy = rng.uniform(0.99, 1.01, 2)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    sh = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    m = rot @ shift @ sh @ zoom
    # Keras applies the matrix in (row, col) order about the centre, mapping output to input.
    c = np.array([[1, 0, (h - 1) / 2], [0, 1, (w - 1) / 2], [0, 0, 1]])
    cinv = np.array([[1, 0, -(h - 1) / 2], [0, 1, -(w - 1) / 2], [0, 0, 1]])
    m = c @ m @ cinv
    rc = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])  # (row, col) <-> (x, y)
    mxy = (rc @ m @ rc)[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warp = lambda a: cv2.warpAffine(a, mxy, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return warp(img), warp(mask)


def dice_loss(p, y):
    """The seed's dice_coef_loss (smooth 1, the whole batch flattened), as 1 - dice."""
    inter = (p * y).sum()
    return 1 - (2 * inter + 1) / (p.sum() + y.sum() + 1)


def glorot(model):
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: none)")
    ap.add_argument("--margin", type=int, default=5)
    ap.add_argument("--augment-batches", type=int, default=2)
    ap.add_argument("--held-out", default="")
    ap.add_argument("--held-out-fraction", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 1)))
    args = ap.parse_args()
    if args.size % 16:
        raise SystemExit("--size must be a multiple of 16 (4 poolings)")
    os.makedirs(args.work, exist_ok=True)
    recipe.set_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    log = recipe.Log(args.work)

    root = unpack(args.data, args.work)
    patients = find_patients(root)
    if not patients:
        raise SystemExit(f"no patient folder (PATIENT_DICOM/ + MASKS_DICOM/liver/) under {args.data}")
    train_names, held_names = recipe.split_patients(patients, args.held_out, args.held_out_fraction)
    log(event="split", train=train_names, held_out=held_names)

    S = args.size
    xs, ys, held = [], [], []
    for name in train_names:
        x, y = load_patient(patients[name], args.margin)
        if x is None:
            log(event="skip", patient=name, why="no slice with liver inside the margins")
            continue
        xr = np.stack([recipe.resize(s, S) for s in x])
        yr = np.stack([(recipe.resize(m.astype(np.float32), S) >= 0.5).astype(np.float32) for m in y])
        xs.append(xr)
        ys.append(yr)
        # flow(batch_size=32, shuffle=True): each pass over the slices in a new order
        n_aug = args.augment_batches * 32
        order = np.concatenate([rng.permutation(len(xr)) for _ in range(-(-n_aug // len(xr)))])
        for k in order[:n_aug]:
            a, b = keras_transform(rng, xr[k], yr[k])
            xs.append(a[None])
            ys.append(b[None])
        log(event="patient", name=name, slices=len(x), augmented=n_aug)
        if not held_names:
            held += list(zip(x, y.astype(bool)))  # one patient: scored on itself, said so
    for name in held_names:
        x, y = load_patient(patients[name], args.margin)
        if x is not None:
            held += list(zip(x, y.astype(bool)))
        log(event="held-out patient", name=name, slices=0 if x is None else len(x))
    if not xs:
        raise SystemExit("no training slices")
    X = torch.from_numpy(np.concatenate(xs)[:, None].astype(np.float32))
    Y = torch.from_numpy(np.concatenate(ys)[:, None].astype(np.float32))
    log(event="data", train_slices=len(X), held_out_slices=len(held), size=S)

    model = UNet(1, levels=4, filters=32, bn=False)
    glorot(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, t0 = 0, time.time()
    done = False
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(X))
        losses = []
        for i in range(0, len(X), args.batch):
            idx = order[i:i + args.batch]
            loss = dice_loss(model(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss))
            step += 1
            if args.steps and step >= args.steps:
                done = True
                break
        log(event="epoch", epoch=epoch + 1, step=step, loss=float(np.mean(losses)))
        if done:
            break
    train_seconds = round(time.time() - t0, 1)
    recipe.save_model(model, args.work, size=S)

    metrics = recipe.evaluate(model, held, S, 0.5, (512, 512) if not held else held[0][1].shape)
    metrics["test_set"] = (
        f"held-out patients {', '.join(held_names)} ({len(held)} slices, the seed's slice range)"
        if held_names else
        f"NOT held out: the data has one patient ({train_names[0]}), so these are its own "
        f"{len(held)} training slices; a held-out score needs 2 or more patients")
    log(event="metrics", **{k: v for k, v in metrics.items() if k != "measured_at"})
    sample = held[0][0] if held else X[0, 0].numpy()
    recipe.write_dump(
        os.path.join(args.work, "dump.json"),
        model="ct-liver",
        architecture={"kind": "unet", "inputChannels": 1, "levels": 4, "filters": 32},
        size=S,
        preprocess={"preset": "ct-liver", "params": PARAMS},
        threshold=0.5,
        weights={k: [recipe.tensor(w) for w in v] for k, v in model.folded().items()},
        samples={"replay": recipe.replay_sample(model, recipe.resize(sample, S))},
        metrics=metrics,
        training={
            "patients": {"train": train_names, "held_out": held_names},
            "train_slices": int(len(X)),
            "steps": step,
            "epochs_run": epoch + 1,
            "seconds": train_seconds,
            "args": {k: v for k, v in vars(args).items() if k not in ("data", "work")},
        },
    )


if __name__ == "__main__":
    main()
