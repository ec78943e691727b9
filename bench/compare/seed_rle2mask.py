"""The seed's rle2mask (seed 001), timed on the same rows as bench/compare/rle_compare.ts.
Reads RLE strings (one per line) from stdin; prints JSON with ms per row for the seed as written
(a float64 array in column-major layout, transposed as a view) and for the row-major uint8 image
that saving a PNG or answering an API needs (np.ascontiguousarray of the same, as uint8)."""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
from seed001_rle import bounding_box, rle2mask  # noqa: E402

rows = [l.strip() for l in sys.stdin if l.strip()]


def summary(r):
    m = rle2mask(r, 1024, 1024).T
    return np.count_nonzero(m), bounding_box(m)


def timed(fn):
    for r in rows[:20]:
        fn(r)  # warm-up
    t0 = time.perf_counter()
    for r in rows:
        fn(r)
    return (time.perf_counter() - t0) * 1000 / len(rows)


print(json.dumps({
    "rows": len(rows),
    "as_written": timed(lambda r: rle2mask(r, 1024, 1024).T),
    "row_major_uint8": timed(lambda r: np.ascontiguousarray(rle2mask(r, 1024, 1024).T, dtype=np.uint8)),
    "summary": timed(summary),
}))
