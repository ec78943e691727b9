"""The seed's rle2mask (seed 001), timed on the same rows as bench/rle_compare.ts.
Reads RLE strings (one per line) from stdin; prints JSON with ms per row for the seed as written
(a float64 array in column-major layout, transposed as a view) and for the row-major uint8 image
that saving a PNG or answering an API needs (np.ascontiguousarray of the same, as uint8)."""
import json
import sys
import time

import numpy as np


def rle2mask(rle, width, height):  # verbatim from seed 001
    mask = np.zeros(width * height)
    array = np.asarray([int(x) for x in rle.split()])
    starts = array[0::2]
    lengths = array[1::2]

    current_position = 0
    for index, start in enumerate(starts):
        current_position += start
        mask[current_position:current_position + lengths[index]] = 255
        current_position += lengths[index]

    return mask.reshape(width, height)


rows = [l.strip() for l in sys.stdin if l.strip()]


def bounding_box(img):  # verbatim from seed 001
    rows = np.any(img, axis=1)
    cols = np.any(img, axis=0)
    rmin, rmax = np.where(rows)[0][[0, -1]]
    cmin, cmax = np.where(cols)[0][[0, -1]]
    return rmin, rmax, cmin, cmax


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
