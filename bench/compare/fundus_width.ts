/**
 * What a wider fundus-vessels U-Net costs at serving time: the shipped shape (3 poolings, 12 base
 * filters) beside 16 base filters, on one DRIVE-sized input (592x576, the 565x584 photo padded to
 * stride 8), tfjs-wasm as lib/models loads it (accelerate + fast concat, SIMD, one thread).
 * Random weights: the cost does not depend on them. Median of 7 after a warm-up; CPU time (user +
 * system) is printed beside wall time as the steadier figure on a shared machine. Then the wasm
 * heap (which grows to the largest pass and never shrinks) after that pass and after one pass of
 * 1024x1024 (the largest a pass takes, DEFAULT_MAX_PASS_PIXELS), a fresh backend for each width.
 *
 *   deno run -A bench/compare/fundus_width.ts
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs-core";
import { restartWasmBackend, setupBackend, wasmHeapBytes } from "../../lib/models/backend.ts";
import { accelerate, useFastConcat } from "../../lib/models/fast.ts";
import { buildUnet, unetFlops } from "../../lib/models/unet.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await setupBackend("wasm");
useFastConcat();
console.log(`load average ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`);
const [H, W] = [592, 576];
let x = tf.randomUniform([1, H, W, 1], 0, 1, "float32", 1);
const heapMb = () => `${((wasmHeapBytes() ?? 0) / 2 ** 20).toFixed(0)} MB`;
for (const filters of [12, 16]) {
  x.dispose();
  if (!(await restartWasmBackend())) throw new Error("tensors alive: cannot restart the backend");
  x = tf.randomUniform([1, H, W, 1], 0, 1, "float32", 1);
  const o = { inputChannels: 1, levels: 3, filters };
  const model = buildUnet(o);
  accelerate(model);
  const once = () => {
    const t0 = performance.now(), c0 = process.cpuUsage();
    tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  once();
  const runs = Array.from({ length: 7 }, once);
  console.log(
    `filters ${filters}: ${(unetFlops(o, H, W) / 1e9).toFixed(2)} GFLOP, ` +
      `${median(runs.map((r) => r.ms)).toFixed(0)} ms wall, ${
        median(runs.map((r) => r.cpu)).toFixed(0)
      } ms cpu`,
  );
  const heapDrive = heapMb();
  const big = tf.randomUniform([1, 1024, 1024, 1], 0, 1, "float32", 1);
  tf.tidy(() => (model.predict(big) as tf.Tensor).dataSync());
  big.dispose();
  console.log(`  wasm heap: ${heapDrive} after ${W}x${H}, ${heapMb()} after 1024x1024`);
  model.dispose();
}
