"""Reference series assembly for tests/dicom/series_test.ts, with pydicom + numpy, as dicom2nifti /
nibabel do it: read every DICOM file in a folder, sort by position along the slice normal
(cross(row cosines, column cosines) . ImagePositionPatient), stack pixel_array as (z, rows, cols),
apply RescaleSlope/Intercept, and build the LPS voxel-to-patient affine (columns: row cosines x
column spacing, column cosines x row spacing, (last - first) / (n - 1), first position), flipped to
RAS (x and y negated), which is what nibabel.Nifti1Image(data.T, affine) would carry.

Usage: dicom_series.py <folder | multi-frame file> <out.bin>
(a multi-frame file: positions, orientation, spacing and rescale from its functional groups;
sop_uids are then '<SOPInstanceUID>#<frame>')
Writes the voxel values as little-endian float32, x fastest (the volume's order), to out.bin and
prints one JSON line: shape, dtype (numpy's after the rescale), affine, sop_uids (z order), the
pydicom/nibabel versions and the seconds taken.
"""
import json
import os
import sys
import time

import nibabel
import numpy as np
import pydicom


def group_value(d, frame, seq, keyword):
    """A frame's attribute from its Per-frame Functional Group, else the Shared one."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        items = getattr(d, groups, None)
        if items and seq in items[index] and keyword in items[index][seq][0]:
            return items[index][seq][0][keyword].value
    return getattr(d, keyword, None)


def assemble_multiframe(path):
    d = pydicom.dcmread(path)
    frames = d.pixel_array
    iop = np.array(group_value(d, 0, "PlaneOrientationSequence", "ImageOrientationPatient"), dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    positions = [np.array(group_value(d, f, "PlanePositionSequence", "ImagePositionPatient"), dtype=np.float64)
                 for f in range(len(frames))]
    order = sorted(range(len(frames)), key=lambda f: float(np.dot(normal, positions[f])))
    slices = []
    for f in order:
        slope = float(group_value(d, f, "PixelValueTransformationSequence", "RescaleSlope") or 1)
        intercept = float(group_value(d, f, "PixelValueTransformationSequence", "RescaleIntercept") or 0)
        arr = frames[f]
        if slope != 1 or intercept != 0:
            arr = arr * slope + intercept
        slices.append(arr)
    dr, dc = (float(v) for v in group_value(d, 0, "PixelMeasuresSequence", "PixelSpacing"))
    first, last = positions[order[0]], positions[order[-1]]
    return np.stack(slices), affine_of(iop, dr, dc, (last - first) / (len(order) - 1), first), [
        f"{d.SOPInstanceUID}#{f}" for f in order]


def affine_of(iop, dr, dc, step, first):
    lps = np.eye(4)
    lps[:3, 0] = iop[:3] * dc
    lps[:3, 1] = iop[3:] * dr
    lps[:3, 2] = step
    lps[:3, 3] = first
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def assemble(folder):
    if os.path.isfile(folder):
        return assemble_multiframe(folder)
    datasets = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or name.upper() == "DICOMDIR" or not os.path.isfile(path):
            continue
        datasets.append(pydicom.dcmread(path))
    datasets, data, affine = assemble_datasets(datasets)
    return data, affine, [str(d.SOPInstanceUID) for d in datasets]


def assemble_datasets(datasets):
    """Single-frame datasets -> (datasets in slice order, the rescaled (z, rows, cols) volume, the
    RAS affine); shared with bench/compare/series_compare.py, which reads them from bytes."""
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=np.float64))))
    slices = []
    for d in datasets:
        arr = d.pixel_array
        slope = float(getattr(d, "RescaleSlope", 1))
        intercept = float(getattr(d, "RescaleIntercept", 0))
        if slope != 1 or intercept != 0:
            arr = arr * slope + intercept
        slices.append(arr)
    data = np.stack(slices)  # (z, rows, cols): C order is x fastest
    n = len(datasets)
    first = np.array(datasets[0].ImagePositionPatient, dtype=np.float64)
    last = np.array(datasets[-1].ImagePositionPatient, dtype=np.float64)
    dr, dc = (float(v) for v in datasets[0].PixelSpacing)
    if n > 1:
        step = (last - first) / (n - 1)
    else:
        step = normal * float(datasets[0].SliceThickness)
    return datasets, data, affine_of(iop, dr, dc, step, first)


def main():
    folder, out = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    data, affine, uids = assemble(folder)
    seconds = time.perf_counter() - t0
    # nibabel carries the same affine for the transposed (x, y, z) array.
    img = nibabel.Nifti1Image(np.ascontiguousarray(data.T), affine)
    data.astype("<f4").tofile(out)
    print(json.dumps({
        "shape": [int(v) for v in img.shape],
        "dtype": str(data.dtype),
        "affine": img.affine.tolist(),
        "sop_uids": uids,
        "pydicom": pydicom.__version__,
        "nibabel": nibabel.__version__,
        "seconds": seconds,
    }))


if __name__ == "__main__":
    main()
