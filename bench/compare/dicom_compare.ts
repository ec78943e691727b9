/**
 * lib/dicom side by side with pydicom (Debian's, with GDCM and Pillow) on the same files, in one
 * run: parse + one frame's stored values (`dcmread(..).pixel_array` on the Python side), from bytes
 * in memory. Prints a markdown table.
 * Run: deno run -A bench/compare/dicom_compare.ts   (needs ../shared/data and /usr/bin/python3 with pydicom)
 */
import { parseDataSet, readMeta } from "../../lib/dicom/parse.ts";
import { readStoredFrame } from "../../lib/dicom/pixels.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const CASES: [string, string][] = [
  [
    "JPEG baseline 8-bit 1024x1024 (SIIM CR)",
    "siim-pneumothorax/1.2.276.0.7230010.3.1.4.8323329.1000.1517875165.878027.dcm",
  ],
  [
    "native 16-bit 512x512 CT (explicit LE)",
    "dicom-conformance/CT1_UNC.explicit_little_endian.dcm",
  ],
  [
    "JPEG-LS lossless 16-bit 512x512 CT",
    "dicom-conformance/CT1_UNC.not_fragmented_no_bot_jpeg_ls.80.dcm",
  ],
  ["JPEG 2000 lossy 16-bit 1024x1024 MR", "dicom-conformance/MR2_J2KI.dcm"],
  [
    "JPEG lossless 16-bit 512x512 CT (.70)",
    "dicom-conformance/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm",
  ],
  ["RLE lossless 16-bit 512x512 CT", "dicom-conformance/CT0012.not_fragmented_bot_rle.dcm"],
  [
    "JPEG extended 12-bit 512x512 CT (.51)",
    "dicom-conformance/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm",
  ],
];
const RUNS = 30;

const py = await new Deno.Command("/usr/bin/python3", {
  args: [
    new URL("pydicom_decode.py", import.meta.url).pathname,
    String(RUNS),
    ...CASES.map(([, f]) => DATA + f),
  ],
  stdout: "piped",
}).output();
const ref = JSON.parse(new TextDecoder().decode(py.stdout));

const rows = [
  "| file | pydicom ms by handler | lib/dicom ms | speed-up vs pydicom's fastest |",
  "| --- | --- | --- | --- |",
];
for (const [label, f] of CASES) {
  const bytes = await Deno.readFile(DATA + f);
  const once = async () => {
    const ds = parseDataSet(bytes);
    return await readStoredFrame(ds, readMeta(ds), 0);
  };
  await once(); // loads the codec (paid once per isolate; see the cold-start note)
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await once();
  const ours = (performance.now() - t0) / RUNS;
  const p = ref[DATA + f] as Record<string, number>;
  const fastest = Math.min(...Object.values(p));
  const byHandler = Object.entries(p).map(([h, ms]) => `${h} ${ms.toFixed(2)}`).join(", ");
  rows.push(`| ${label} | ${byHandler} | ${ours.toFixed(2)} | ${(fastest / ours).toFixed(1)}x |`);
}
console.log(`pydicom ${RUNS} runs each, lib/dicom ${RUNS} runs each (Deno ${Deno.version.deno})\n`);
console.log(rows.join("\n"));
