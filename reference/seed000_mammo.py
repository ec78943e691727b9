"""Seed 000's full-mammogram pipeline (the /mammo function's six steps, the CBIS-DDSM steps of CleonWong's
imagePreprocessing.py) with Debian's python3-opencv, as the reference for lib/pipelines/mammo.ts.

  /usr/bin/python3 reference/seed000_mammo.py OUT_DIR IMAGE [IMAGE ...]
  /usr/bin/python3 reference/seed000_mammo.py --time RUNS IMAGE [IMAGE ...]   (ms per image, as JSON)

IMAGE is a PNG (8- or 16-bit grey), a .npy array or a DICOM (.dcm, read by pydicom). For each image
writes OUT_DIR/<name>.mask.png (the step-3 breast mask, 0/1), <name>.clahe.png (the step-5 uint8
image, after the flip), <name>.square.png (step 6 and the seed's last min-max, as 8-bit:
floor((v - min) * (255 / (max - min)) + 0.5)) and <name>.mask_pipeline.png (the ROI mask pipeline applied to the breast
mask, as a stand-in ROI), and prints one JSON line: name, lr_flip, crop box, square size, breast
bbox (crop coordinates, before the flip), ms for the whole pipeline.
"""
import json
import os
import statistics
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
    padded = np.zeros((side, side), clahe.dtype)
    padded[: clahe.shape[0], : clahe.shape[1]] = clahe
    lo, hi = padded.min(), padded.max()
    final = (padded - lo) / (hi - lo) if hi > lo else padded.astype(np.float64)  # the seed's last min-max
    # ... as 8-bit, the way lib/pipelines/mammo.ts writes it (x * (255 / range), half up).
    square8 = np.floor((padded - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8) if hi > lo else padded
    ys, xs = np.nonzero(mask)
    bbox = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())] if xs.size else None
    return mask, clahe, final, square8, lr_flip, [x0, y0, x1, y1], side, bbox


def read(path):
    """A PNG (8- or 16-bit grey), a .npy array, or a DICOM through pydicom (Modality LUT applied)."""
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith(".dcm"):
        import pydicom
        from pydicom.pixel_data_handlers.util import apply_modality_lut

        ds = pydicom.dcmread(path)
        if ds.PhotometricInterpretation != "MONOCHROME2":
            raise ValueError(f"{path}: only MONOCHROME2 is read here")
        return apply_modality_lut(ds.pixel_array, ds)
    return cv2.imread(path, cv2.IMREAD_UNCHANGED)


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
    """Median ms of the whole pipeline and of CLAHE alone (on the decoded uint8 image), per image:
    wall clock, and CPU time of the whole process (all of OpenCV's threads)."""

    def measure(fn):
        wall, cpu = [], []
        fn()
        for _ in range(runs):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        return statistics.median(wall), statistics.median(cpu)

    out = {}
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        whole, whole_cpu = measure(lambda: preprocess(img.astype(np.float64)))
        u8 = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        c = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        clahe, clahe_cpu = measure(lambda: c.apply(u8))
        out[path] = {"pipeline_ms": whole, "pipeline_cpu_ms": whole_cpu, "clahe_ms": clahe, "clahe_cpu_ms": clahe_cpu}
    print(json.dumps({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "results": out}))


def main(out_dir, *paths):
    for path in paths:
        img = read(path)
        name = os.path.basename(path).rsplit(".", 1)[0]
        t0 = time.perf_counter()
        mask, clahe, _, square8, lr_flip, box, side, bbox = preprocess(img.astype(np.float64) if img.dtype != np.float64 else img)
        ms = (time.perf_counter() - t0) * 1000
        cv2.imwrite(os.path.join(out_dir, name + ".mask.png"), mask)
        cv2.imwrite(os.path.join(out_dir, name + ".clahe.png"), clahe)
        cv2.imwrite(os.path.join(out_dir, name + ".square.png"), square8)
        full_mask = np.zeros(img.shape, np.uint8)
        full_mask[box[1]:box[3], box[0]:box[2]] = mask
        cv2.imwrite(os.path.join(out_dir, name + ".mask_pipeline.png"), mask_pipeline(full_mask, lr_flip))
        print(json.dumps({"name": name, "lr_flip": lr_flip, "crop": box, "square": side, "bbox": bbox, "ms": ms}))


if __name__ == "__main__":
    if sys.argv[1] == "--time":
        timing(int(sys.argv[2]), *sys.argv[3:])
    else:
        main(*sys.argv[1:])
