"""Preprocess the 1,500 RSNA rows of ../shared/data/cxr-pneumonia once and fix the split.

Only source_set == "rsna" is used (SOURCES.md: mixing in the pediatric Kermany set lets a model
learn the source instead of the disease). One image per patient, so a split by row is a split by
patient. Split (seed 7, stratified on label x view): test 300, val 200, train 1,000; written to
training/cxr-pneumonia/split.csv (patientId, label, age, sex, view, spacing, split) and the arrays to
$CXR_CACHE (default /tmp/cxr/cache.npz, never committed): preprocessed 224x224 films, features,
labels, and the RSNA lung-opacity boxes (official stage 2 labels table) drawn as 224x224 masks
for the auxiliary training loss. The preprocessing keeps the whole field (1 mm resample and the
224 resize both span the full image), so a box scales by 224 / 1024.

Usage: /usr/bin/python3 training/cxr-pneumonia/prepare.py
"""
import csv
import gzip
import io
import os
import sys
import zipfile

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
import cxr_preprocess as P  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "../../../shared/data")
CACHE = os.environ.get("CXR_CACHE", "/tmp/cxr/cache.npz")
SEED = 7
N_TEST, N_VAL = 300, 200


def main():
    rows = [r for r in csv.DictReader(open(f"{DATA}/cxr-pneumonia/labels.csv")) if r["source_set"] == "rsna"]
    assert len(rows) == 1500
    ids = {r["patient_id"] for r in rows}
    assert len(ids) == 1500, "one image per patient"
    spacing = {}
    with gzip.open(f"{DATA}/rsna-pneumonia/kaggle_stage_2_train_images_dicom_headers.csv.gz", "rt") as f:
        for h in csv.DictReader(f):
            if h["PatientID"] in ids:
                spacing[h["PatientID"]] = float(h["PixelSpacing"])
    assert len(spacing) == 1500

    boxes = {}
    with zipfile.ZipFile(f"{DATA}/rsna-pneumonia/kaggle_stage_2_train_labels.csv.zip") as z:
        for b in csv.DictReader(io.TextIOWrapper(z.open("stage_2_train_labels.csv"))):
            if b["patientId"] in ids and b["Target"] == "1":
                boxes.setdefault(b["patientId"], []).append([float(b[k]) for k in ("x", "y", "width", "height")])
    assert all((r["patient_id"] in boxes) == (r["label"] == "1") for r in rows)

    rng = np.random.default_rng(SEED)
    split = {}
    strata = {}
    for r in rows:
        strata.setdefault((r["label"], r["view"]), []).append(r["patient_id"])
    for key in sorted(strata):
        members = sorted(strata[key])
        rng.shuffle(members)
        n = len(members)
        n_test = round(n * N_TEST / 1500)
        n_val = round(n * N_VAL / 1500)
        for i, pid in enumerate(members):
            split[pid] = "test" if i < n_test else "val" if i < n_test + n_val else "train"

    rows.sort(key=lambda r: r["patient_id"])
    X = np.zeros((len(rows), P.SIZE, P.SIZE), np.uint8)
    F = np.zeros((len(rows), 6), np.float32)
    y = np.zeros(len(rows), np.float32)
    M = np.zeros((len(rows), P.SIZE, P.SIZE), np.uint8)
    S = []
    out = []
    for i, r in enumerate(rows):
        img = cv2.imread(f"{DATA}/cxr-pneumonia/{r['file']}", cv2.IMREAD_GRAYSCALE)
        ow, oh = (int(v) for v in r["orig_size"].split("x"))
        mm = spacing[r["patient_id"]]  # DICOM PixelSpacing, square pixels in RSNA
        X[i] = P.preprocess_u8(img, (mm * oh / img.shape[0], mm * ow / img.shape[1]))
        F[i] = P.features(float(r["age"]), r["view"])
        y[i] = float(r["label"])
        k = P.SIZE / 1024
        for bx, by, bw, bh in boxes.get(r["patient_id"], []):
            M[i, int(round(by * k)):int(round((by + bh) * k)), int(round(bx * k)):int(round((bx + bw) * k))] = 1
        S.append(split[r["patient_id"]])
        out.append([r["patient_id"], r["label"], r["age"], r["sex"], r["view"], f"{spacing[r['patient_id']]:.6g}", split[r["patient_id"]]])
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    np.savez_compressed(CACHE, X=X, F=F, y=y, M=M, split=np.array(S), ids=np.array([o[0] for o in out]))
    with open(os.path.join(HERE, "split.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["patientId", "label", "age", "sex", "view", "dicom_pixel_spacing_mm", "split"])
        w.writerows(out)
    for s in ("train", "val", "test"):
        m = np.array(S) == s
        print(s, int(m.sum()), "positive", int(y[m].sum()), "PA", int(F[m, 5].sum()))


if __name__ == "__main__":
    main()
