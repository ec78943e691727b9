/**
 * The project's U-Net at 512 x 512 x 1 in tfjs-wasm (as loaded by lib/models: XNNPACK SIMD, one
 * thread) beside the same network in PyTorch CPU (reference/unet_torch.py, /usr/bin/python3), in one
 * run: ms per image (median) and GFLOP/s, for the seed 003 shape (4 levels, 32 filters) and a
 * smaller width (2 levels, 16 filters). tfjs rows: the plain LayersModel, then with
 * lib/models/fast.ts (transposed convs as 1x1 convs, copy-loop Concat). PyTorch rows: 1 thread (as
 * tfjs-wasm in Deno) and all cores. Besides wall time, CPU time of the process (user + system,
 * all its threads) is printed: on a shared, loaded machine it is the steadier figure.
 *
 * deno run -A bench/compare/unet_compare.ts [--repeats 3] [--only small|seed003] [--no-simd]
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../lib/models/backend.ts";
import { accelerate, useFastConcat } from "../../lib/models/fast.ts";
import { buildUnet, unetFlops, type UnetOptions } from "../../lib/models/unet.ts";

const args = Deno.args;
const repeats = Number(args[args.indexOf("--repeats") + 1] ?? 3) || 3;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const SIZE = 512;
const CONFIGS: [string, UnetOptions][] = [
  ["small", { inputChannels: 1, levels: 2, filters: 16 }],
  ["seed003", { inputChannels: 1, levels: 4, filters: 32 }],
];

interface Row {
  net: string;
  runtime: string;
  ms: number;
  min: number;
  cpu: number;
  gflops: number;
}
const rows: Row[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeTfjs(model: { predict(x: tf.Tensor): tf.Tensor | tf.Tensor[] }, x: tf.Tensor) {
  const once = () => {
    const t0 = performance.now(), c0 = process.cpuUsage();
    tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  once(); // warm-up: XNNPACK builds its operators on the first pass
  const runs = Array.from({ length: repeats }, once);
  const ms = runs.map((r) => r.ms);
  return { ms: median(ms), min: Math.min(...ms), cpu: median(runs.map((r) => r.cpu)) };
}

async function torch(
  o: UnetOptions,
  threads: number,
): Promise<{ ms: number; min: number; cpu: number }> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      new URL("../../reference/unet_torch.py", import.meta.url).pathname,
      "bench",
      "--levels",
      String(o.levels),
      "--filters",
      String(o.filters),
      "--size",
      String(SIZE),
      "--threads",
      String(threads),
      "--repeats",
      String(repeats),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  return { ms: r.ms, min: r.min_ms, cpu: r.cpu_ms };
}

// --no-simd: the plain wasm binary, to measure what SIMD gives (set before the backend starts).
if (args.includes("--no-simd")) {
  await import("@tensorflow/tfjs-backend-wasm"); // registers the flag
  tf.env().set("WASM_HAS_SIMD_SUPPORT", false);
}
const info = await setupBackend("wasm");
const cores = navigator.hardwareConcurrency;
console.log(
  `tfjs ${tf.version_core} on ${info.name} (SIMD ${info.simd}, threads ${info.threads}); ` +
    `${cores} cores; load average ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`,
);
for (const [net, o] of CONFIGS) {
  if (only && only !== net) continue;
  const gflop = unetFlops(o, SIZE, SIZE) / 1e9;
  const add = (runtime: string, t: { ms: number; min: number; cpu: number }) => {
    rows.push({ net, runtime, ...t, gflops: gflop / (t.ms / 1000) });
    console.log(
      `${net.padEnd(8)} ${runtime.padEnd(30)} ${t.ms.toFixed(0).padStart(7)} ms wall ${
        t.cpu.toFixed(0).padStart(7)
      } ms cpu`,
    );
  };
  const t1a = await torch(o, 1);
  const x = tf.randomUniform([1, SIZE, SIZE, 1], 0, 1, "float32", 1);
  const model = buildUnet(o);
  add("tfjs-wasm layers", timeTfjs(model, x));
  accelerate(model);
  add("tfjs-wasm + fast tconv", timeTfjs(model, x));
  useFastConcat();
  add("tfjs-wasm + fast tconv + concat", timeTfjs(model, x));
  const t1b = await torch(o, 1);
  add("pytorch cpu, 1 thread", {
    ms: (t1a.ms + t1b.ms) / 2,
    min: Math.min(t1a.min, t1b.min),
    cpu: (t1a.cpu + t1b.cpu) / 2,
  });
  add(`pytorch cpu, ${cores} threads`, await torch(o, cores));
  model.dispose();
  x.dispose();
}

console.log(
  "\n| net | runtime | ms / image (median) | min ms | CPU ms | GFLOP/s (wall) | CPU ms vs PyTorch 1 thread |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  const ref = rows.find((q) => q.net === r.net && q.runtime === "pytorch cpu, 1 thread")!;
  console.log(
    `| ${r.net} | ${r.runtime} | ${r.ms.toFixed(0)} | ${r.min.toFixed(0)} | ${r.cpu.toFixed(0)} | ${
      r.gflops.toFixed(1)
    } | ${(r.cpu / ref.cpu).toFixed(2)}x |`,
  );
}
console.log(`load average after: ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`);
