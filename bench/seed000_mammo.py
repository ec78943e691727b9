"""Seed 000's full-mammogram pipeline (SPEC.md "mammo", the CBIS-DDSM steps of CleonWong's
imagePreprocessing.py) with Debian's python3-opencv, as the reference for lib/pipelines/mammo.ts.

  /usr/bin/python3 bench/seed000_mammo.py OUT_DIR IMAGE [IMAGE ...]
  /usr/bin/python3 bench/seed000_mammo.py --time RUNS IMAGE [IMAGE ...]   (ms per image, as JSON)

IMAGE is a PNG (8- or 16-bit grey) or a .npy array. For each image writes OUT_DIR/<name>.mask.png
(the step-3 breast mask, 0/1), <name>.clahe.png (the step-5 uint8 image, after the flip) and
<name>.mask_pipeline.png (the ROI mask pipeline applied to the breast mask, as a stand-in ROI), and
prints one JSON line: name, lr_flip, crop box, square size, breast bbox, ms for the whole pipeline.
"""
import json
import os
import sys
import time

import cv2
import numpy as np


def crop_box(shape, l=0.01, r=0.01, u=0.04, d=0.04):
    nrows, ncols = shape
    return int(ncols * l), int(nrows * u), int(ncols * (1 - r)), int(nrows * (1 - d))


def preprocess(img, thresh=0.1, ksize=23, clip=2.0, tile=8):
    x0, y0, x1, y1 = crop_box(img.shape)
    cropped = img[y0:y1, x0:x1]
    norm = (cropped - cropped.min()) / (cropped.max() - cropped.min())
    binary = np.zeros(norm.shape, np.uint8)
    binary[norm >= thresh] = 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (ksize, ksize))
    edited = cv2.morphologyEx(cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel), cv2.MORPH_DILATE, kernel)
    contours, _ = cv2.findContours(edited, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    mask = np.zeros(edited.shape, np.uint8)
    if contours:
        cv2.drawContours(mask, sorted(contours, key=cv2.contourArea, reverse=True)[:1], -1, 1, -1)
    masked = norm.copy()
    masked[mask == 0] = 0
    col_sum = mask.sum(axis=0)
    half = mask.shape[1] // 2
    lr_flip = bool(col_sum[:half].sum() < col_sum[half:-1].sum())  # the seed leaves the last column out
    flipped = np.fliplr(masked) if lr_flip else masked
    scaled = cv2.normalize(flipped, None, alpha=0, beta=255, norm_type=cv2.NORM_MINMAX, dtype=cv2.CV_32F)
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tile, tile)).apply(scaled.astype("uint8"))
    side = max(clahe.shape)
    ys, xs = np.nonzero(mask)
    bbox = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())] if xs.size else None
    return mask, clahe, lr_flip, [x0, y0, x1, y1], side, bbox


def mask_pipeline(roi, lr_flip):
    x0, y0, x1, y1 = crop_box(roi.shape)
    out = roi[y0:y1, x0:x1]
    if lr_flip:
        out = np.fliplr(out)
    side = max(out.shape)
    padded = np.zeros((side, side), out.dtype)
    padded[: out.shape[0], : out.shape[1]] = out
    return padded


def timing(runs, *paths):
    """Mean ms of the whole pipeline and of CLAHE alone (on the step-5 uint8 input), per image."""
    out = {}
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        preprocess(img.astype(np.float64))
        t0 = time.perf_counter()
        for _ in range(runs):
            preprocess(img.astype(np.float64))
        whole = (time.perf_counter() - t0) * 1000 / runs
        u8 = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        c = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        t0 = time.perf_counter()
        for _ in range(runs):
            c.apply(u8)
        out[path] = {"pipeline_ms": whole, "clahe_ms": (time.perf_counter() - t0) * 1000 / runs}
    print(json.dumps({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "results": out}))


def main(out_dir, *paths):
    for path in paths:
        img = np.load(path) if path.endswith(".npy") else cv2.imread(path, cv2.IMREAD_UNCHANGED)
        name = os.path.basename(path).rsplit(".", 1)[0]
        t0 = time.perf_counter()
        mask, clahe, lr_flip, box, side, bbox = preprocess(img.astype(np.float64) if img.dtype != np.float64 else img)
        ms = (time.perf_counter() - t0) * 1000
        cv2.imwrite(os.path.join(out_dir, name + ".mask.png"), mask)
        cv2.imwrite(os.path.join(out_dir, name + ".clahe.png"), clahe)
        full_mask = np.zeros(img.shape, np.uint8)
        full_mask[box[1]:box[3], box[0]:box[2]] = mask
        cv2.imwrite(os.path.join(out_dir, name + ".mask_pipeline.png"), mask_pipeline(full_mask, lr_flip))
        print(json.dumps({"name": name, "lr_flip": lr_flip, "crop": box, "square": side, "bbox": bbox, "ms": ms}))


if __name__ == "__main__":
    if sys.argv[1] == "--time":
        timing(int(sys.argv[2]), *sys.argv[3:])
    else:
        main(*sys.argv[1:])
