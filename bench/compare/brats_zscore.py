"""The seed's z-score (reference/seed002_brats.py `standardize`, verbatim) on the real BraTS case
4 x 135 x 240 x 240 (after the seed's slice dropping and stacking), timed; for bench/compare/brats_zscore.ts.

  /usr/bin/python3 bench/compare/brats_zscore.py <case dir> <runs>   -> JSON of ms per run
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
from seed002_brats import stack_case, standardize  # noqa: E402


def main(case_dir, runs):
    paths = {s: os.path.join(case_dir, f"BraTS2021_00006_{s}.nii.gz")
             for s in ["flair", "t1", "t1ce", "t2"]}
    stack_ms, zscore_ms, zscore_cpu_ms = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        image = stack_case(paths)
        t1 = time.perf_counter()
        c1 = time.process_time()
        standardize(image)
        t2 = time.perf_counter()
        c2 = time.process_time()
        stack_ms.append((t1 - t0) * 1000)
        zscore_ms.append((t2 - t1) * 1000)
        zscore_cpu_ms.append((c2 - c1) * 1000)
    print(json.dumps({"stack_ms": stack_ms, "zscore_ms": zscore_ms, "zscore_cpu_ms": zscore_cpu_ms,
                      "shape": list(image.shape)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
