"""Seed 003's ct-liver preprocessing in Python, for tests/models/ct_liver_test.ts to compare with.

Run at test time on IRCADb slices (their derivatives are never committed). For each DICOM path:
pydicom HU (RescaleSlope/Intercept) -> transform_ctdata(500, 150) -> cv2 CLAHE(2, 8x8) on uint8;
prints one JSON line per file: {"width", "height", "data": base64 of the uint8 CLAHE image}
(the seed then divides by 255).
"""
import base64
import json
import sys

import cv2
import numpy as np
import pydicom


def get_pixels_hu(ds):
    image = ds.pixel_array.astype(np.int16)
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    if slope != 1:
        image = (slope * image.astype(np.float64)).astype(np.int16)
    return image + np.int16(intercept)


def transform_ctdata(image, window_width, window_center):
    low = float(window_center) - 0.5 * float(window_width)
    img = (image - low) / float(window_width)
    img[img < 0] = 0
    img[img > 1] = 1
    return (img * 255).astype("uint8")


def preprocess(ds):
    """The whole preset on one pydicom dataset: uint8 CLAHE image (the seed then divides by 255).
    training/ct_liver imports this."""
    windowed = transform_ctdata(get_pixels_hu(ds), 500, 150)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(windowed)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        eq = preprocess(pydicom.dcmread(path))
        print(json.dumps({"width": int(eq.shape[1]), "height": int(eq.shape[0]),
                          "data": base64.b64encode(eq.tobytes()).decode()}))
