"""Reference for lib/image/postprocess.ts with scipy.ndimage: per label value (increasing), drop
components under a size, keep the largest N, fill holes (only where the map is background).

Components: ndimage.label with the full structure (8-connected 2D, 26-connected 3D); components of
equal size keep scipy's numbering order (raster scan of their first voxel). Holes:
ndimage.binary_fill_holes with its default structure (background 4-connected 2D, 6-connected 3D).

usage: postprocess.py IN.raw OUT.raw DEPTH HEIGHT WIDTH LARGEST FILL MIN_VOXELS
  IN.raw: uint8 label map, C order [z][y][x] (x fastest); LARGEST 0: off; FILL 0/1;
  MIN_VOXELS: components with fewer voxels are dropped (0: off). Prints a JSON report.
"""
import json
import sys

import numpy as np
from scipy import ndimage


def postprocess(m, largest, fill, min_voxels):
    m = m.copy()
    report = {"removed_components": 0, "removed_voxels": 0, "filled_voxels": 0}
    labels = [int(v) for v in np.unique(m) if v != 0]
    full = ndimage.generate_binary_structure(m.ndim, m.ndim)
    if largest > 0 or min_voxels > 0:
        for l in labels:
            comp, n = ndimage.label(m == l, structure=full)
            sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
            order = sorted(range(n), key=lambda i: (-sizes[i], i))
            kept = 0
            for i in order:
                if sizes[i] >= min_voxels and (largest <= 0 or kept < largest):
                    kept += 1
                    continue
                m[comp == i + 1] = 0
                report["removed_components"] += 1
                report["removed_voxels"] += int(sizes[i])
    if fill:
        for l in labels:
            filled = ndimage.binary_fill_holes(m == l) & (m == 0)
            m[filled] = l
            report["filled_voxels"] += int(filled.sum())
    return m, report


def main():
    src, dst, d, h, w, largest, fill, min_voxels = sys.argv[1:9]
    shape = (int(d), int(h), int(w))
    m = np.fromfile(src, dtype=np.uint8).reshape(shape)
    if shape[0] == 1:
        m = m[0]
    out, report = postprocess(m, int(largest), fill == "1", float(min_voxels))
    out.astype(np.uint8).tofile(dst)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
