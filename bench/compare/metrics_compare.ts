/**
 * The answers' metrics beside their numpy/scipy twin (reference/metrics_reference.py), timed on
 * real data, and what /segment/slice answers for the shipped fundus-vessels model on DRIVE's 20
 * test photos with their manual masks and fields of view:
 * - slice: seed 004's metrics + AUC of a 565x584 probability map inside the FOV (DRIVE 01);
 * - volume: BraTS regions (dice, HD95, mL) of the BraTS case's labels (240 x 240 x 155) against a
 *   copy shifted 3 voxels in x and 1 in z with label 1 read as 4 in 10 slices;
 * median of 5 runs each side, values compared (max abs difference).
 * Prints markdown. Run: deno run -A bench/compare/metrics_compare.ts
 */
import { maskFromBytes } from "../../lib/decode/mod.ts";
import { scoreMask } from "../../lib/image/metrics.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { BRATS_REGIONS, regionScores } from "../../lib/pipelines/label_metrics.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const REF = new URL("../../reference/", import.meta.url).pathname;
const RUNS = 5;
const median = (t: number[]) => [...t].sort((a, b) => a - b)[t.length >> 1];

function maxDiff(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b);
  if (a && b && typeof a === "object" && typeof b === "object") {
    return Math.max(
      0,
      ...Object.keys(b).map((k) =>
        maxDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      ),
    );
  }
  return a === b ? 0 : Infinity;
}

/** The reference's function timed in Python itself (no process start or file reading). */
async function python(code: string): Promise<{ ms: number; value: unknown }> {
  const script = `import sys, json, time\nsys.path.insert(0, ${JSON.stringify(REF)})\n` +
    `import numpy as np\nfrom metrics_reference import *\n${code}\n` +
    `ts = []\nfor _ in range(${RUNS}):\n    t0 = time.perf_counter(); v = run(); ts.append((time.perf_counter() - t0) * 1000)\n` +
    `print(json.dumps({"ms": sorted(ts)[len(ts) // 2], "value": v}))`;
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script] }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function timed<T>(f: () => T): { ms: number; value: T } {
  const ts: number[] = [];
  let value!: T;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    value = f();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), value };
}

const tmp = await Deno.makeTempDir({ prefix: "metrics_bench_" });
const save = (name: string, a: Uint8Array | Float32Array) =>
  Deno.writeFile(`${tmp}/${name}`, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const rows: string[] = [];
try {
  // slice: the DRIVE photo's green channel as the map (many ties), the manual mask, the FOV
  const d = (f: string) => Deno.readFileSync(`${DATA}drive/png/test/${f}`);
  const { decodeImage } = await import("../../lib/decode/mod.ts");
  const { image } = await decodeImage(d("images/01_test.png"));
  const truth = (await maskFromBytes(d("1st_manual/01_manual1.png"))).mask;
  const fov = (await maskFromBytes(d("mask/01_test_mask.png"))).mask;
  const n = image.width * image.height;
  const probs = new Float32Array(n);
  for (let i = 0; i < n; i++) probs[i] = 1 - image.data[i * 3 + 1] / 255;
  const mask = Uint8Array.from(probs, (p) => (p >= 0.6 ? 1 : 0));
  await Promise.all([save("p", probs), save("t", truth), save("f", fov)]);
  const ours = timed(() => scoreMask(mask, truth, { scores: probs, fov }));
  const ref = await python(
    `p = np.fromfile("${tmp}/p", "<f4"); t = np.fromfile("${tmp}/t", np.uint8); ` +
      `f = np.fromfile("${tmp}/f", np.uint8)\nrun = lambda: slice_metrics(p, t, f, p >= 0.6)`,
  );
  rows.push(
    `| slice metrics + AUC, DRIVE 01 (565x584, FOV) | ${ours.ms.toFixed(1)} | ${
      ref.ms.toFixed(1)
    } | ${maxDiff(ours.value, ref.value).toExponential(1)} |`,
  );

  // volume: the BraTS case against its perturbed copy, 1 mm voxels
  const seg = await readNifti(
    Deno.readFileSync(`${DATA}brats/BraTS2021_00006/BraTS2021_00006_seg.nii.gz`),
  );
  const { width: w, height: h, depth: dz } = seg;
  const t8 = Uint8Array.from(seg.data as ArrayLike<number>);
  const p8 = new Uint8Array(t8.length);
  for (let z = 1; z < dz; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 3; x < w; x++) {
        const v = t8[((z - 1) * h + y) * w + x - 3];
        p8[(z * h + y) * w + x] = v === 1 && z >= 70 && z < 80 ? 4 : v;
      }
    }
  }
  await Promise.all([save("a", p8), save("b", t8)]);
  const spacing = seg.spacing;
  const vOurs = timed(() => regionScores(p8, t8, [w, h, dz], spacing));
  const vRef = await python(
    `a = np.fromfile("${tmp}/a", np.uint8).reshape(${dz}, ${h}, ${w}); ` +
      `b = np.fromfile("${tmp}/b", np.uint8).reshape(${dz}, ${h}, ${w})\n` +
      `run = lambda: label_metrics(a, b, (${spacing[2]}, ${spacing[1]}, ${spacing[0]}), ${
        JSON.stringify(BRATS_REGIONS)
      })`,
  );
  rows.push(
    `| BraTS regions dice + HD95 + mL, 240x240x155 | ${vOurs.ms.toFixed(1)} | ${
      vRef.ms.toFixed(1)
    } | ${maxDiff(vOurs.value, vRef.value).toExponential(1)} |`,
  );
  console.log("| metrics (median of 5) | ours ms | numpy/scipy ms | max abs difference |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log();
  console.log("regions of the perturbed copy:", JSON.stringify(vOurs.value));
} finally {
  await Deno.remove(tmp, { recursive: true });
}

// what the route answers for the shipped fundus-vessels model on the 20 DRIVE test photos
Deno.env.set("MEDIMG_MODELS_DIR", new URL("../../models/", import.meta.url).pathname);
const { app } = await import("../../functions/slice.ts");
const keys = ["miou", "kappa", "accuracy", "sensitivity", "specificity", "auc"] as const;
const sums: Record<string, number> = {}, dice: number[] = [];
for (let k = 1; k <= 20; k++) {
  const id = String(k).padStart(2, "0");
  const form = new FormData();
  const d = (f: string) => new Blob([Deno.readFileSync(`${DATA}drive/png/test/${f}`)]);
  form.append("image", d(`images/${id}_test.png`));
  form.append("mask", d(`1st_manual/${id}_manual1.png`));
  form.append("fov", d(`mask/${id}_test_mask.png`));
  const res = await app.request("/segment/slice?model=fundus-vessels&format=json", {
    method: "POST",
    body: form,
  });
  const j = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(j));
  for (const key of keys) sums[key] = (sums[key] ?? 0) + j.metrics[key];
  sums.vessel_iou = (sums.vessel_iou ?? 0) + j.metrics.iou_per_class.foreground;
  sums.background_iou = (sums.background_iou ?? 0) + j.metrics.iou_per_class.background;
  dice.push(j.ground_truth.dice);
}
console.log();
console.log("| fundus-vessels, DRIVE test 01-20, mean per photo of the answer's | value |");
console.log("| --- | --- |");
for (const [k, v] of Object.entries({ ...sums, dice: dice.reduce((a, b) => a + b, 0) })) {
  console.log(`| ${k} | ${(v / 20).toFixed(4)} |`);
}
