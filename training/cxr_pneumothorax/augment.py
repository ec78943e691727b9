"""Seed 001's AUGMENTATIONS_TRAIN in OpenCV and numpy (albumentations is not in Debian), with
albumentations 0.4's parameters and defaults:

    Compose([HorizontalFlip(p=0.5),
             OneOf([RandomContrast(), RandomGamma(), RandomBrightness()], p=0.3),
             OneOf([ElasticTransform(alpha=120, sigma=120 * 0.05, alpha_affine=120 * 0.03),
                    GridDistortion(), OpticalDistortion(distort_limit=2, shift_limit=0.5)], p=0.3),
             RandomSizedCrop(min_max_height=(156, 256), height=256, width=256, p=0.25),
             ToFloat(max_value=1)])

Images are the radiograph's samples (0-255, float32), masks 0-1; each geometric step moves image
(bilinear) and mask (nearest, as albumentations) together. At a size S other than 256 the crop
heights scale with S.
"""
import cv2
import numpy as np

REFLECT = cv2.BORDER_REFLECT_101


def _contrast(rng, x):  # RandomContrast(limit=0.2)
    return np.clip(x * rng.uniform(0.8, 1.2), 0, 255)


def _gamma(rng, x):  # RandomGamma(gamma_limit=(80, 120))
    return np.power(np.clip(x, 0, 255) / 255, rng.uniform(80, 120) / 100) * 255


def _brightness(rng, x):  # RandomBrightness(limit=0.2)
    return np.clip(x + rng.uniform(-0.2, 0.2) * 255, 0, 255)


def _remap(x, y, mx, my):
    return (cv2.remap(x, mx, my, cv2.INTER_LINEAR, borderMode=REFLECT),
            cv2.remap(y, mx, my, cv2.INTER_NEAREST, borderMode=REFLECT))


def _elastic(rng, x, y, alpha=120.0, sigma=6.0, alpha_affine=3.6):
    h, w = x.shape
    c = np.float32([h, w]) // 2
    sq = min(h, w) // 3
    pts1 = np.float32([c + sq, [c[0] + sq, c[1] - sq], c - sq])
    pts2 = pts1 + rng.uniform(-alpha_affine, alpha_affine, pts1.shape).astype(np.float32)
    m = cv2.getAffineTransform(pts1, pts2)
    x = cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=REFLECT)
    y = cv2.warpAffine(y, m, (w, h), flags=cv2.INTER_NEAREST, borderMode=REFLECT)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (17, 17), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (17, 17), sigma) * alpha
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return _remap(x, y, gx + dx, gy + dy)


def _grid(rng, x, y, steps=5, limit=0.3):
    h, w = x.shape

    def axis(n):
        cell = n // steps
        xs, prev = np.zeros(n, np.float32), 0.0
        for i, start in enumerate(range(0, n, cell)):
            end = min(start + cell, n)
            cur = prev + cell * (1 + rng.uniform(-limit, limit))
            xs[start:end] = np.linspace(prev, cur, end - start)
            prev = cur
        return xs * ((n - 1) / max(prev, 1e-6))

    gx, gy = np.meshgrid(axis(w), axis(h))
    return _remap(x, y, gx.astype(np.float32), gy.astype(np.float32))


def _optical(rng, x, y, distort_limit=2.0, shift_limit=0.5):
    h, w = x.shape
    k = rng.uniform(-distort_limit, distort_limit)
    dx, dy = round(rng.uniform(-shift_limit, shift_limit)), round(rng.uniform(-shift_limit, shift_limit))
    cam = np.array([[w, 0, w * 0.5 + dx], [0, h, h * 0.5 + dy], [0, 0, 1]], np.float32)
    dist = np.array([k, k, 0, 0, 0], np.float32)
    mx, my = cv2.initUndistortRectifyMap(cam, dist, None, None, (w, h), cv2.CV_32FC1)
    return _remap(x, y, mx, my)


def _sized_crop(rng, x, y):
    s = x.shape[0]
    side = int(rng.integers(round(156 / 256 * s), s + 1))
    r0, c0 = int(rng.integers(0, s - side + 1)), int(rng.integers(0, s - side + 1))
    xc, yc = x[r0:r0 + side, c0:c0 + side], y[r0:r0 + side, c0:c0 + side]
    return (cv2.resize(xc, (s, s), interpolation=cv2.INTER_LINEAR),
            cv2.resize(yc, (s, s), interpolation=cv2.INTER_NEAREST))


def augment(rng, x, y):
    """One draw of the seed's training augmentations: (image, mask) float32 in, float32 out."""
    x, y = x.astype(np.float32), y.astype(np.float32)
    if rng.random() < 0.5:
        x, y = x[:, ::-1].copy(), y[:, ::-1].copy()
    if rng.random() < 0.3:
        x = (_contrast, _gamma, _brightness)[int(rng.integers(3))](rng, x)
    if rng.random() < 0.3:
        x, y = (_elastic, _grid, _optical)[int(rng.integers(3))](rng, x, y)
    if rng.random() < 0.25:
        x, y = _sized_crop(rng, x, y)
    return x.astype(np.float32), y.astype(np.float32)
