"""The cxr preprocessing (/cxr/classify, seed 002) in OpenCV 4.6: the one Python reference for training,
the test fixture (tests/fixtures/make_cxr_reference.py) and the benchmark. lib/pipelines/cxr.ts
is its TypeScript twin, step for step.

Steps (8-bit grey in, float32 224x224 out):
  1. clahe     cv2.createCLAHE(clipLimit=4, tileGridSize=(8, 8)).apply
  2. resample  to isotropic 1 mm pixels from the pixel spacing [row, column] in mm:
               width' = floor(width * col_mm + 0.5), height' = floor(height * row_mm + 0.5);
               cv2.INTER_AREA when neither side grows (anti-aliased, as the 1024 -> 256 step the
               training PNGs went through), cv2.INTER_CUBIC otherwise. Skipped when the size
               would not change.
  3. resize    cv2.resize to 224x224, cv2.INTER_CUBIC (uint8 out, rounded and saturated)
  4. scale     / 255 -> float32 in [0, 1]

Spacing of the training PNGs: they are the RSNA 1024x1024 DICOMs shrunk to 256x256 (INTER_AREA,
see ../shared/data/cxr-pneumonia/SOURCES.md), so their spacing is the DICOM PixelSpacing times
1024 / 256 = 4 (e.g. 0.168 mm -> 0.672 mm). Both a DICOM and its PNG thus become the same ~172 x
172 mm field at 1 mm before the 224 resize.

Features (6, float32): age one-hot over [0,20), [20,40), [40,60), [60,80), [80,inf) years, then
view position PA = 1, AP = 0.
"""
import math

import cv2
import numpy as np

CLIP_LIMIT = 4.0
TILES = 8
TARGET_MM = 1.0
SIZE = 224
AGE_EDGES = (20, 40, 60, 80)


def clahe(img):
    return cv2.createCLAHE(clipLimit=CLIP_LIMIT, tileGridSize=(TILES, TILES)).apply(img)


def resample_size(width, height, spacing):
    """(width, height) at TARGET_MM pixels; spacing is [row mm, column mm]."""
    row_mm, col_mm = spacing
    w = max(1, int(math.floor(width * col_mm / TARGET_MM + 0.5)))
    h = max(1, int(math.floor(height * row_mm / TARGET_MM + 0.5)))
    return w, h


def resample(img, spacing):
    h0, w0 = img.shape
    w, h = resample_size(w0, h0, spacing)
    if (w, h) == (w0, h0):
        return img
    interp = cv2.INTER_AREA if w <= w0 and h <= h0 else cv2.INTER_CUBIC
    return cv2.resize(img, (w, h), interpolation=interp)


def resize(img):
    return cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)


def preprocess_u8(img, spacing):
    """Steps 1-3: uint8 224x224."""
    assert img.dtype == np.uint8 and img.ndim == 2
    return resize(resample(clahe(img), spacing))


def preprocess(img, spacing):
    """All four steps: float32 224x224 in [0, 1]."""
    return preprocess_u8(img, spacing).astype(np.float32) / np.float32(255)


def age_bucket(age_years):
    for i, edge in enumerate(AGE_EDGES):
        if age_years < edge:
            return i
    return len(AGE_EDGES)


def features(age_years, view):
    f = np.zeros(6, np.float32)
    f[age_bucket(age_years)] = 1
    f[5] = 1.0 if view == "PA" else 0.0
    return f
