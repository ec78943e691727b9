/**
 * lib/nifti beside nibabel 5.0 (Debian's python3-nibabel) on the BraTS volumes, in one run: read a
 * .nii.gz from disk to voxels (ours: `readNifti` over a file stream; nibabel: `nib.load` +
 * `np.asanyarray(img.dataobj)`, the stored values scaled, as the seed's reader gives them, and
 * `get_fdata()`), reorient to RAS+ (`toCanonical` / `as_closest_canonical`) and write a uint8 label
 * map as .nii.gz (`writeNifti` / `nib.save`). Median and minimum of RUNS after one warm-up.
 * Prints markdown.
 * Run: deno run -A bench/compare/nifti_bench.ts     (needs ../shared/data and /usr/bin/python3 with nibabel)
 * Under `deno task bench:micro` only our side runs, as Deno.bench cases.
 */
import { readNifti, toCanonical, writeNifti } from "../../lib/nifti/mod.ts";

const DATA = new URL("../../../shared/data/brats/", import.meta.url).pathname;
const CASES: [string, string][] = [
  [
    "BraTS2021 FLAIR, int16 240x240x155 (2.5 MB gz)",
    "BraTS2021_00006/BraTS2021_00006_flair.nii.gz",
  ],
  ["BraTS2021 seg, uint8 240x240x155 (27 kB gz)", "BraTS2021_00006/BraTS2021_00006_seg.nii.gz"],
  [
    "BrainLesion t1c, float32 240x240x155 (1.8 MB gz)",
    "BrainLesion-preprocessed-case-no-GT/t1c.nii.gz",
  ],
  [
    "BrainLesion t1n, float64 240x240x155 (1.9 MB gz)",
    "BrainLesion-preprocessed-case-no-GT/t1n.nii.gz",
  ],
];
const SEG = "BraTS2021_00006/BraTS2021_00006_seg.nii.gz";
const RUNS = 15;

const NIBABEL = `
import sys, time, json, tempfile, os
import numpy as np, nibabel as nib
runs = int(sys.argv[1]); out = {}
def median(f):
    f(); ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
    return [float(np.median(ts)), float(min(ts))]
for p in sys.argv[2:]:
    out[p] = {
        "dataobj": median(lambda: np.asanyarray(nib.load(p).dataobj)),
        "fdata": median(lambda: nib.load(p).get_fdata()),
    }
    img = nib.load(p); np.asanyarray(img.dataobj)
    out[p]["canonical"] = median(lambda: np.asanyarray(nib.as_closest_canonical(img).dataobj))
seg = nib.load(sys.argv[-1]); labels = np.asanyarray(seg.dataobj)
target = os.path.join(tempfile.mkdtemp(), "seg.nii.gz")
out["write"] = median(lambda: nib.save(nib.Nifti1Image(labels, seg.affine, seg.header), target))
print(json.dumps(out))
`;

/** [median, min] ms over RUNS runs after one warm-up. */
async function median(f: () => Promise<unknown> | unknown, runs = RUNS): Promise<number[]> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return [times[times.length >> 1], times[0]];
}

const readFile = async (rel: string) => await readNifti((await Deno.open(DATA + rel)).readable);

if (import.meta.main) {
  const paths = [...CASES.map(([, f]) => DATA + f), DATA + SEG];
  const py = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", NIBABEL, String(RUNS), ...paths],
    stdout: "piped",
  }).output();
  if (!py.success) throw new Error("nibabel side failed");
  const ref = JSON.parse(new TextDecoder().decode(py.stdout));
  const fmt = ([med, min]: number[]) => `${med.toFixed(1)} / ${min.toFixed(1)}`;
  const ratio = (a: number[], b: number[]) =>
    `${(a[0] / b[0]).toFixed(1)}x / ${(a[1] / b[1]).toFixed(1)}x`;
  const rows = [
    "| file | nibabel load + dataobj ms | nibabel get_fdata ms | lib/nifti readNifti ms | speed-up vs dataobj | nibabel as_closest_canonical ms | lib/nifti toCanonical ms |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [label, f] of CASES) {
    const ours = await median(() => readFile(f));
    const volume = await readFile(f);
    const canonical = await median(() => toCanonical(volume));
    const r = ref[DATA + f];
    rows.push(
      `| ${label} | ${fmt(r.dataobj)} | ${fmt(r.fdata)} | ${fmt(ours)} | ${
        ratio(r.dataobj, ours)
      } | ${fmt(r.canonical)} | ${fmt(canonical)} |`,
    );
  }
  const seg = await readFile(SEG);
  const write = await median(() => writeNifti(seg.header, seg.data));
  rows.push(
    "",
    "| write | nibabel nib.save ms | lib/nifti writeNifti ms | speed-up |",
    "| --- | --- | --- | --- |",
    `| BraTS2021 seg, uint8 240x240x155, as .nii.gz | ${fmt(ref.write)} | ${fmt(write)} | ${
      ratio(ref.write, write)
    } |`,
  );
  console.log(`ms median / min of ${RUNS} runs after one warm-up; ${new Date().toISOString()}\n`);
  console.log(rows.join("\n"));
} else {
  let present = true;
  try {
    Deno.statSync(DATA + SEG);
  } catch {
    present = false;
    console.log("../shared/data/brats absent: no nifti benchmarks");
  }
  if (present) {
    const seg = await readFile(SEG);
    const flair = await readFile(CASES[0][1]);
    Deno.bench("nifti read BraTS FLAIR int16 .nii.gz (file stream)", async () => {
      await readFile(CASES[0][1]);
    });
    Deno.bench("nifti read BrainLesion t1n float64 .nii.gz (file stream)", async () => {
      await readFile(CASES[3][1]);
    });
    Deno.bench("nifti toCanonical BraTS FLAIR (LPS -> RAS)", () => {
      toCanonical(flair);
    });
    Deno.bench("nifti write uint8 seg .nii.gz", async () => {
      await writeNifti(seg.header, seg.data);
    });
  }
}
