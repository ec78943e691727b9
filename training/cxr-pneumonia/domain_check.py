"""How far the service's input path is from the training path, measured with the trained model.

Training films are 256 px copies of the RSNA DICOMs (INTER_AREA 1024 -> 256, then our steps with
4x the spacing); the service gets the 1024 px DICOM (our steps directly). On the 16 DICOMs of
../shared/data/rsna-pneumonia this runs both paths through the two-input model and reports the
probability differences; for 0004cfab, also in the training set's folder, the shipped PNG itself.

  /usr/bin/python3 training/cxr-pneumonia/domain_check.py /tmp/cxr/runs/both/best.pt
"""
import json
import os
import sys

import cv2
import numpy as np
import pydicom
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "../../reference"))
import cxr_preprocess as P  # noqa: E402
from model import CxrNet  # noqa: E402

DATA = os.path.join(HERE, "../../../shared/data")
torch.set_num_threads(1)


def main():
    model = CxrNet("both")
    model.load_state_dict(torch.load(sys.argv[1]))
    model.eval()

    def prob(x, f):
        with torch.no_grad():
            return float(torch.sigmoid(model(torch.from_numpy(x)[None, None], torch.from_numpy(f)[None]))[0])

    rows = []
    folder = f"{DATA}/rsna-pneumonia"
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".dcm")):
        ds = pydicom.dcmread(os.path.join(folder, name))
        img = ds.pixel_array.astype(np.uint8)
        sp = [float(v) for v in ds.PixelSpacing]
        f = P.features(float(ds.PatientAge), str(ds.ViewPosition))
        small = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
        row = {"file": name, "dicom_path": prob(P.preprocess(img, sp), f),
               "training_path": prob(P.preprocess(small, [s * 4 for s in sp]), f)}
        png = f"{DATA}/cxr-pneumonia/images/rsna/{name[:-4]}.png"
        if os.path.exists(png):
            row["shipped_png"] = prob(P.preprocess(cv2.imread(png, cv2.IMREAD_GRAYSCALE), [s * 4 for s in sp]), f)
        rows.append(row)
    d = np.array([abs(r["dicom_path"] - r["training_path"]) for r in rows])
    json.dump({"films": len(rows), "max_abs_diff": round(float(d.max()), 4),
               "mean_abs_diff": round(float(d.mean()), 4), "rows": rows}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
