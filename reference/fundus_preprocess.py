"""DRIVE loading and the `fundus-vessels` preprocessing, the Python twin of lib/pipelines/fundus.ts.

Preprocessing (exactly reproducible in TypeScript): green channel of the 8-bit RGB photo (a grey
photo is used as it is) -> OpenCV CLAHE (clipLimit, tiles x tiles) -> float32 / 255.
Images are read from the lossless PNG copies in ../shared/data/drive/png (pixel-identical to the
TIFF/GIF originals, see SOURCES.md).
"""
import os

import cv2
import numpy as np

DATA = os.environ.get(
    "DRIVE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/data/drive")
)
PARAMS = {"channel": "green", "clipLimit": 2.0, "tiles": 8}


def preprocess_u8(img, clip_limit=PARAMS["clipLimit"], tiles=PARAMS["tiles"]):
    """uint8 HxW (grey) or HxWx3 (RGB or BGR: green is the middle channel either way) -> uint8 CLAHE."""
    g = img[:, :, 1] if img.ndim == 3 else img
    return cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles)).apply(
        np.ascontiguousarray(g)
    )


def preprocess(img, **kw):
    """The network input: float32 HxW in [0, 1]."""
    return preprocess_u8(img, **kw).astype(np.float32) / np.float32(255)


def ids(split):
    return list(range(21, 41)) if split == "training" else list(range(1, 21))


def paths(split, n):
    tag = "training" if split == "training" else "test"
    root = os.path.join(DATA, "png", split)
    return (
        os.path.join(root, "images", f"{n:02d}_{tag}.png"),
        os.path.join(root, "1st_manual", f"{n:02d}_manual1.png"),
        os.path.join(root, "mask", f"{n:02d}_{tag}_mask.png"),
    )


def load(split, n):
    """(rgb uint8 HxWx3, vessel bool HxW, fov bool HxW); labels binarised at half the grey range."""
    ip, vp, mp = paths(split, n)
    rgb = cv2.cvtColor(cv2.imread(ip, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    vessel = cv2.imread(vp, cv2.IMREAD_GRAYSCALE) >= 128
    fov = cv2.imread(mp, cv2.IMREAD_GRAYSCALE) >= 128
    return rgb, vessel, fov


def pad_to(x, stride):
    """Zero-pads a HxW(xC) array at the bottom and right to multiples of `stride` (as the runtime)."""
    h, w = x.shape[:2]
    ph, pw = (-h) % stride, (-w) % stride
    return np.pad(x, ((0, ph), (0, pw)) + ((0, 0),) * (x.ndim - 2))
