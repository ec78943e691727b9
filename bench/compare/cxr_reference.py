"""The OpenCV side of bench/compare/cxr_compare.ts: reference/cxr_preprocess.py (cv2 4.6, the reference the
model was trained with) on the 16 RSNA DICOMs, decoded once by pydicom 2.3.1 + GDCM. It stays up
and answers one line per request so both sides take turns under the same load:
  "pre <runs> <threads>"  -> ms per film of the four image steps (CLAHE, 1 mm, 224 bicubic, /255),
                             each film `runs` times, cv2 threads as given (0 = OpenCV's default)
  "steps <runs>"          -> {step: [ms, ...]} of the same steps one by one (one cv2 thread)
  "e2e <runs>"            -> ms per film of pydicom read + decode + the same steps, from the bytes
Run by bench/compare/cxr_compare.ts; alone: /usr/bin/python3 bench/compare/cxr_reference.py <dicom dir>.
"""
import hashlib
import io
import json
import os
import sys
import time

import cv2
import numpy as np
import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
import cxr_preprocess as P  # noqa: E402

folder = sys.argv[1]
names = sorted(n for n in os.listdir(folder) if n.endswith(".dcm"))
raw = [open(os.path.join(folder, n), "rb").read() for n in names]
films = []
for b in raw:
    ds = pydicom.dcmread(io.BytesIO(b))
    films.append((ds.pixel_array.astype(np.uint8), [float(v) for v in ds.PixelSpacing]))
default_threads = cv2.getNumThreads()
print(json.dumps({
    "opencv": cv2.__version__, "pydicom": pydicom.__version__, "threads": default_threads,
    "sha": [hashlib.sha256(P.preprocess(img, sp).astype("<f4").tobytes()).hexdigest() for img, sp in films],
}), flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    times = []
    if cmd == "pre":
        runs, threads = int(args[0]), int(args[1])
        cv2.setNumThreads(threads or default_threads)
        for img, sp in films:
            for _ in range(runs):
                t0 = time.perf_counter()
                P.preprocess(img, sp)
                times.append((time.perf_counter() - t0) * 1000)
    elif cmd == "steps":
        cv2.setNumThreads(1)
        times = {"clahe": [], "resample": [], "resize": [], "scale": []}
        for img, sp in films:
            for _ in range(int(args[0])):
                t0 = time.perf_counter()
                a = P.clahe(img)
                t1 = time.perf_counter()
                b = P.resample(a, sp)
                t2 = time.perf_counter()
                c = P.resize(b)
                t3 = time.perf_counter()
                c.astype(np.float32) / np.float32(255)
                t4 = time.perf_counter()
                for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    times[k].append(v * 1000)
    else:
        cv2.setNumThreads(default_threads)
        for b in raw:
            for _ in range(int(args[0])):
                t0 = time.perf_counter()
                ds = pydicom.dcmread(io.BytesIO(b))
                P.preprocess(ds.pixel_array.astype(np.uint8), [float(v) for v in ds.PixelSpacing])
                times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(times), flush=True)
