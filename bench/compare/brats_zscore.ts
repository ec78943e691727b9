/**
 * z-score of the real BraTS case (4 x 155 x 240 x 240 int16 in, 4 x 135 x 240 x 240 out) beside the
 * seed's NumPy loop, in one run, same data, same machine (target: at most half
 * the seed's time). Wall and CPU time, because the build machine is shared: CPU time moves less
 * with other load.
 *
 *   deno run -A bench/compare/brats_zscore.ts [runs=7]
 *
 * The seed's side (bench/compare/brats_zscore.py, run first so the two never share the CPU) times its
 * `standardize` over the stacked float64 array. Ours times lib/pipelines/brats.ts on volumes read
 * by lib/nifti: `bratsPreprocess` (stack + drop slices + z-score, fused for integer volumes) and,
 * apart, the two-pass `zscoreSlices` on an already stacked Float32 array (the path float inputs
 * take).
 */
import process from "node:process";
import { readNifti } from "../../lib/nifti/mod.ts";
import {
  BRATS_MODALITIES,
  bratsPreprocess,
  stackModalities,
  zscoreSlices,
} from "../../lib/pipelines/brats.ts";

const runs = Number(Deno.args[0] ?? 7);
const dir = new URL("../../../shared/data/brats/BraTS2021_00006/", import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => `${median(xs).toFixed(0)} (min ${Math.min(...xs).toFixed(0)})`;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const py = await new Deno.Command("/usr/bin/python3", {
  args: [new URL("./brats_zscore.py", import.meta.url).pathname, dir, String(runs)],
}).output();
if (!py.success) throw new Error(new TextDecoder().decode(py.stderr));
const seed = JSON.parse(new TextDecoder().decode(py.stdout));

const vols = await Promise.all(
  BRATS_MODALITIES.map(async (m) =>
    await readNifti(await Deno.readFile(`${dir}BraTS2021_00006_${m}.nii.gz`))
  ),
);
const wall = { fused: [] as number[], zscore: [] as number[], stack: [] as number[] };
const cpus = { fused: [] as number[], zscore: [] as number[], stack: [] as number[] };
for (let i = 0; i < runs + 1; i++) {
  let t = performance.now(), c = cpu();
  bratsPreprocess(vols);
  const fw = performance.now() - t, fc = cpu() - c;
  t = performance.now(), c = cpu();
  const stack = stackModalities(vols);
  const sw = performance.now() - t, sc = cpu() - c;
  t = performance.now(), c = cpu();
  zscoreSlices(stack);
  const zw = performance.now() - t, zc = cpu() - c;
  if (i === 0) continue; // run 0 warms the JIT
  wall.fused.push(fw), cpus.fused.push(fc), wall.zscore.push(zw), cpus.zscore.push(zc);
  wall.stack.push(sw + zw), cpus.stack.push(sc + zc);
}
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
console.log(
  `z-score of BraTS2021_00006, ${seed.shape.join("x")}; ${runs} runs; ms median (min); load ${
    Deno.loadavg()[0].toFixed(1)
  }`,
);
console.log(`| what | seed (NumPy) | ours (Deno) | ours / seed (median) |`);
console.log(`| --- | --- | --- | --- |`);
console.log(
  `| wall: seed standardize vs bratsPreprocess (stack + drop + z-score from int16) | ${
    fmt(seed.zscore_ms)
  } | ${fmt(wall.fused)} | ${ratio(wall.fused, seed.zscore_ms)} |`,
);
console.log(
  `| CPU: same | ${fmt(seed.zscore_cpu_ms)} | ${fmt(cpus.fused)} | ${
    ratio(cpus.fused, seed.zscore_cpu_ms)
  } |`,
);
console.log(
  `| wall: seed standardize vs stackModalities + zscoreSlices (unfused) | ${
    fmt(seed.zscore_ms)
  } | ${fmt(wall.stack)} | ${ratio(wall.stack, seed.zscore_ms)} |`,
);
console.log(
  `| CPU: same | ${fmt(seed.zscore_cpu_ms)} | ${fmt(cpus.stack)} | ${
    ratio(cpus.stack, seed.zscore_cpu_ms)
  } |`,
);
console.log(
  `| wall: seed standardize vs zscoreSlices alone (Float32 stack in place) | ${
    fmt(seed.zscore_ms)
  } | ${fmt(wall.zscore)} | ${ratio(wall.zscore, seed.zscore_ms)} |`,
);
console.log(
  `| CPU: same | ${fmt(seed.zscore_cpu_ms)} | ${fmt(cpus.zscore)} | ${
    ratio(cpus.zscore, seed.zscore_cpu_ms)
  } |`,
);
