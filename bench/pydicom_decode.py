"""pydicom's side of bench/dicom_compare.ts: dcmread + pixel_array from bytes in memory, timed.
Run with Debian's interpreter (pydicom, GDCM, Pillow): /usr/bin/python3 bench/pydicom_decode.py N FILE...
Prints JSON {file: {"ms": mean ms, "handler": name}}."""
import io
import json
import sys
import time

import pydicom
from pydicom import config

runs = int(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    pydicom.dcmread(io.BytesIO(data)).pixel_array  # warm-up, and finds the handler
    handler = None
    for h in config.pixel_data_handlers:
        if h.is_available() and h.supports_transfer_syntax(pydicom.dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID):
            handler = h.__name__.rsplit(".", 1)[-1]
            break
    t0 = time.perf_counter()
    for _ in range(runs):
        pydicom.dcmread(io.BytesIO(data)).pixel_array
    out[path] = {"ms": (time.perf_counter() - t0) * 1000 / runs, "handler": handler}
print(json.dumps(out))
