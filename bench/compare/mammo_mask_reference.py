"""The OpenCV side of bench/compare/mammo_mask_compare.ts: the seed's ROI-mask pipeline (mask_pipeline in
reference/seed000_mammo.py: crop, flip, pad) with PNG decode and encode, as /mammo/mask does it:
cv2.imread (IMREAD_UNCHANGED; a 16-bit RGB ROI stays 16-bit RGB), non-zero in any channel -> mask,
crop/flip/pad, cv2.imencode of the 0/255 8-bit PNG. It stays up and answers one line per request,
so both sides take turns under the same load:
  "time <path> <lr_flip 0|1>"       -> {"ms": wall ms of one run, "cpu_ms": process CPU ms}
  "save <path> <lr_flip> <out.png>" -> writes the answer PNG, {"square": side}
Run by bench/compare/mammo_mask_compare.ts; alone: /usr/bin/python3 bench/compare/mammo_mask_reference.py
"""
import json
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
from seed000_mammo import mask_pipeline  # noqa: E402


def run(path, lr_flip):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    mask = (img != 0).any(axis=2) if img.ndim == 3 else img != 0
    out = mask_pipeline(mask.view(np.uint8), lr_flip)
    ok, png = cv2.imencode(".png", out * np.uint8(255))
    assert ok
    return out, png


print(json.dumps({"opencv": cv2.__version__, "numpy": np.__version__, "threads": cv2.getNumThreads()}), flush=True)
for line in sys.stdin:
    words = line.split()
    if words[0] == "time":
        w0, c0 = time.perf_counter(), time.process_time()
        run(words[1], words[2] == "1")
        print(json.dumps({"ms": (time.perf_counter() - w0) * 1000, "cpu_ms": (time.process_time() - c0) * 1000}), flush=True)
    elif words[0] == "save":
        out, png = run(words[1], words[2] == "1")
        with open(words[3], "wb") as f:
            f.write(png.tobytes())
        print(json.dumps({"square": out.shape[0]}), flush=True)
    elif words[0] == "grey":
        # the same ROI as an 8-bit grey 0/255 PNG, for a route that takes only grey masks
        img = cv2.imread(words[1], cv2.IMREAD_UNCHANGED)
        mask = (img != 0).any(axis=2) if img.ndim == 3 else img != 0
        cv2.imwrite(words[2], mask.astype(np.uint8) * np.uint8(255))
        print(json.dumps({"ok": True}), flush=True)
