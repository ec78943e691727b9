"""pydicom's side of bench/compare/dicom_compare.ts: dcmread + pixel_array from bytes in memory, timed
with each available pixel handler that supports the file's transfer syntax (GDCM, Pillow, numpy,
RLE). Run with Debian's interpreter: /usr/bin/python3 bench/compare/pydicom_decode.py RUNS FILE...
Prints JSON {file: {handler: mean ms}}."""
import io
import json
import sys
import time

import pydicom
from pydicom import config

runs = int(sys.argv[1])
handlers = [h for h in config.pixel_data_handlers if h.is_available()]
out = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    ts = pydicom.dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID
    out[path] = {}
    for h in handlers:
        if not h.supports_transfer_syntax(ts):
            continue
        config.pixel_data_handlers = [h]
        try:
            pydicom.dcmread(io.BytesIO(data)).pixel_array  # warm-up
        except Exception:
            continue
        t0 = time.perf_counter()
        for _ in range(runs):
            pydicom.dcmread(io.BytesIO(data)).pixel_array
        out[path][h.__name__.rsplit(".", 1)[-1].replace("_handler", "")] = (time.perf_counter() - t0) * 1000 / runs
print(json.dumps(out))
