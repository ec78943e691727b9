"""The pydicom side of bench/compare/series_compare.ts: answers one JSON line per request on stdin.

  assemble -> read the series from bytes in memory (dcmread on BytesIO), sort along the slice
              normal, stack, rescale, build the RAS affine (reference/dicom_series.py's
              `assemble`, with the files already in memory)
  seg      -> write a BINARY SEG of the threshold labels (1: HU > 100, 2: HU < -900) with pydicom
              alone (highdicom is not packaged by Debian): the same modules and per-frame groups as
              lib/dicom/seg.ts, frames only where a segment is present, bits packed with
              pydicom's pack_bits.
Usage: series_compare.py <folder>
"""
import io
import json
import os
import sys
import time

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../reference"))
from dicom_series import assemble_datasets  # noqa: E402


def assemble(blobs):
    return assemble_datasets([pydicom.dcmread(io.BytesIO(b)) for b in blobs])


def code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def write_seg(datasets, labels):
    src = datasets[0]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
    ds.Modality, ds.SegmentationType, ds.ImageType = "SEG", "BINARY", ["DERIVED", "PRIMARY"]
    for k in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
              "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber"):
        setattr(ds, k, src.get(k, ""))
    ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), src.get("FrameOfReferenceUID", generate_uid())
    ds.SeriesNumber, ds.InstanceNumber = 300, 1
    ds.Rows, ds.Columns = src.Rows, src.Columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    segments = []
    for n, (name, value) in enumerate((("Dense", "10200004"), ("Air", "39607008")), start=1):
        segments.append(item(
            SegmentNumber=n, SegmentLabel=name, SegmentAlgorithmType="AUTOMATIC", SegmentAlgorithmName="bench",
            SegmentedPropertyCategoryCodeSequence=[code("123037004", "SCT", "Anatomical Structure")],
            SegmentedPropertyTypeCodeSequence=[code(value, "SCT", name)]))
    ds.SegmentSequence = segments
    ds.SharedFunctionalGroupsSequence = [item(
        PlaneOrientationSequence=[item(ImageOrientationPatient=src.ImageOrientationPatient)],
        PixelMeasuresSequence=[item(PixelSpacing=src.PixelSpacing, SliceThickness=src.SliceThickness)])]
    frames, groups = [], []
    for n in (1, 2):
        for z, d in enumerate(datasets):
            mask = labels[z] == n
            if not mask.any():
                continue
            frames.append(mask)
            groups.append(item(
                DerivationImageSequence=[item(
                    SourceImageSequence=[item(
                        ReferencedSOPClassUID=d.SOPClassUID, ReferencedSOPInstanceUID=d.SOPInstanceUID,
                        PurposeOfReferenceCodeSequence=[code("121322", "DCM", "Source image for image processing operation")])],
                    DerivationCodeSequence=[code("113076", "DCM", "Segmentation")])],
                FrameContentSequence=[item(DimensionIndexValues=[n, z + 1])],
                PlanePositionSequence=[item(ImagePositionPatient=d.ImagePositionPatient)],
                SegmentIdentificationSequence=[item(ReferencedSegmentNumber=n)]))
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.NumberOfFrames = len(frames)
    ds.ReferencedSeriesSequence = [item(
        SeriesInstanceUID=src.SeriesInstanceUID,
        ReferencedInstanceSequence=[item(ReferencedSOPClassUID=d.SOPClassUID, ReferencedSOPInstanceUID=d.SOPInstanceUID)
                                    for d in datasets])]
    ds.PixelData = pack_bits(np.stack(frames).ravel())
    out = io.BytesIO()
    ds.save_as(out, write_like_original=False)
    return out.getvalue(), len(frames)


def main():
    folder = sys.argv[1]
    blobs = [open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))]
    print(json.dumps({"pydicom": pydicom.__version__, "numpy": np.__version__}), flush=True)
    datasets, volume, _ = assemble(blobs)
    labels = np.where(volume > 100, 1, np.where(volume < -900, 2, 0)).astype(np.uint8)
    for line in sys.stdin:
        t0 = time.perf_counter()
        if line.strip() == "assemble":
            _, vol, _ = assemble(blobs)
            answer = {"shape": list(vol.shape)}
        else:
            seg, frames = write_seg(datasets, labels)
            answer = {"bytes": len(seg), "frames": frames}
        answer["ms"] = (time.perf_counter() - t0) * 1000
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
