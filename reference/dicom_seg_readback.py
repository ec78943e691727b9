"""Reads a DICOM SEG back with pydicom for tests/dicom/seg_test.ts: each frame goes to the slice
whose SOPInstanceUID its DerivationImageSequence names and to the label value of its segment, which
gives the label volume back; the frame's PlanePositionSequence must equal that slice's position.

Usage: dicom_seg_readback.py <seg.dcm> <slices.json> <out.bin>
slices.json: {"uids": [source SOPInstanceUID per z], "positions": [[x, y, z] per z],
              "labels": {SegmentLabel: label value}}
Writes the labels as uint8, x fastest, to out.bin and prints one JSON line with what it read.
"""
import json
import sys

import numpy as np
import pydicom


def main():
    seg_path, slices_path, out = sys.argv[1:4]
    spec = json.load(open(slices_path))
    seg = pydicom.dcmread(seg_path)
    frames = seg.pixel_array
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    z_of = {uid: z for z, uid in enumerate(spec["uids"])}
    label_of = {int(s.SegmentNumber): spec["labels"][str(s.SegmentLabel)] for s in seg.SegmentSequence}
    labels = np.zeros((len(spec["uids"]), int(seg.Rows), int(seg.Columns)), dtype=np.uint8)
    worst = 0.0
    for frame, group in zip(frames, seg.PerFrameFunctionalGroupsSequence):
        src = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        z = z_of[str(src)]
        position = np.array(group.PlanePositionSequence[0].ImagePositionPatient, dtype=np.float64)
        worst = max(worst, float(np.abs(position - np.array(spec["positions"][z])).max()))
        number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        labels[z][frame.astype(bool)] = label_of[number]
    labels.tofile(out)
    print(json.dumps({
        "frames": int(frames.shape[0]),
        "segments": [
            {
                "number": int(s.SegmentNumber),
                "label": str(s.SegmentLabel),
                "type": str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue),
                "cielab": [int(v) for v in s.get("RecommendedDisplayCIELabValue", [])],
            }
            for s in seg.SegmentSequence
        ],
        "modality": str(seg.Modality),
        "patient_name": str(seg.PatientName),
        "study_uid": str(seg.StudyInstanceUID),
        "frame_of_reference_uid": str(seg.FrameOfReferenceUID),
        "referenced_series": str(seg.ReferencedSeriesSequence[0].SeriesInstanceUID),
        "worst_position_error": worst,
    }))


if __name__ == "__main__":
    main()
