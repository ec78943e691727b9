import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  importanceMap,
  type PatchForward,
  type Size3,
  slidingWindow3d,
  type Volume4,
  windowStarts,
} from "../../lib/models/sliding3d.ts";

await tf.setBackend("cpu");

/** A deterministic channels-first volume with smooth and rough parts. */
function volume(c: number, d: number, h: number, w: number): Volume4 {
  const data = new Float32Array(c * d * h * w);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) + ((i * 7919) % 13) / 13;
  return { data, channels: c, depth: d, height: h, width: w };
}

/** A tiny fully convolutional tfjs model: pointwise (1x1x1) or with a 3x3x3 first layer. */
function tinyModel(cin: number, cout: number, kernel: 1 | 3): tfl.LayersModel {
  const input = tfl.input({ shape: [null, null, null, cin] });
  const h = tfl.layers.conv3d({
    filters: 5,
    kernelSize: kernel,
    padding: "same",
    activation: "relu",
  })
    .apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.conv3d({ filters: cout, kernelSize: 1, activation: "sigmoid" })
    .apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  model.setWeights(
    model.getWeights().map((w, j) => {
      const n = w.size;
      const v = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3 + j) * 0.5);
      return tf.tensor(v, w.shape);
    }),
  );
  return model;
}

function tfForward(model: tfl.LayersModel, cin: number): PatchForward {
  return (batch, n, [d, h, w]) =>
    tf.tidy(() => {
      const x = tf.tensor5d(batch, [n, d, h, w, cin]);
      return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    }).slice();
}

/** The model over the whole volume in one pass, channels-first out. */
function fullPass(model: tfl.LayersModel, vol: Volume4, cout: number): Float32Array {
  const { channels: C, depth: D, height: H, width: W } = vol;
  return tf.tidy(() => {
    const x = tf.expandDims(tf.transpose(tf.tensor4d(vol.data, [C, D, H, W]), [1, 2, 3, 0]), 0);
    const y = model.predict(x) as tf.Tensor;
    return tf.transpose(tf.squeeze(y, [0]), [3, 0, 1, 2]).dataSync() as Float32Array;
  }).slice(0, cout * D * H * W);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("windowStarts: MONAI's dense patch starts, last window flush with the end", () => {
  assertEquals(windowStarts(240, 160, 0.25), [0, 80]);
  assertEquals(windowStarts(240, 160, 0), [0, 80]);
  assertEquals(windowStarts(135, 24, 0.5), [0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 111]);
  assertEquals(windowStarts(20, 24, 0.5), [0]);
  assertEquals(windowStarts(24, 24, 0.5), [0]);
  assertEquals(windowStarts(25, 24, 0.9), [0, 1]);
});

Deno.test("importanceMap: peak 1 at the centre, positive everywhere, symmetric", () => {
  for (const blend of ["gaussian", "linear", "constant"] as const) {
    const p: Size3 = [5, 8, 9];
    const m = importanceMap(p, blend);
    let max = 0, min = Infinity;
    for (const v of m) [max, min] = [Math.max(max, v), Math.min(min, v)];
    assertEquals(max, 1);
    assert(min > 0, `${blend}: min ${min}`);
    // mirror symmetry along x
    for (let i = 0; i < 9; i++) assertEquals(m[i], m[8 - i]);
  }
  const g = importanceMap([24, 160, 160], "gaussian");
  // sigma = 0.125 x patch: exp(-d^2 / 2 sigma^2) per axis, d from the centre between two voxels;
  // divided by the largest value (the 8 voxels half a voxel from the centre)
  const corner = Math.exp(-(11.5 ** 2) / 18 - 2 * (79.5 ** 2) / 800) /
    Math.exp(-(0.5 ** 2) / 18 - 2 * (0.5 ** 2) / 800);
  assertAlmostEquals(g[0] / corner, 1, 1e-5);
});

Deno.test("no seams: a model that predicts a constant gives that constant everywhere", async () => {
  const vol = volume(2, 13, 17, 19);
  const forward: PatchForward = (_b, n, [d, h, w]) => new Float32Array(n * d * h * w * 2).fill(0.7);
  for (const blend of ["gaussian", "linear", "constant"] as const) {
    const r = await slidingWindow3d(vol, forward, {
      patch: [6, 8, 7],
      overlap: 0.4,
      blend,
      outChannels: 2,
      batch: 3,
    });
    assert(r.windows > 20);
    for (const v of r.data) assertAlmostEquals(v, 0.7, 1e-6);
  }
});

Deno.test("sliding window equals one full forward pass of a pointwise tfjs model", async () => {
  const model = tinyModel(4, 3, 1);
  const vol = volume(4, 11, 23, 18);
  const full = fullPass(model, vol, 3);
  for (const blend of ["gaussian", "linear"] as const) {
    for (const batch of [1, 4]) {
      const r = await slidingWindow3d(vol, tfForward(model, 4), {
        patch: [4, 8, 8],
        overlap: 0.25,
        blend,
        batch,
        outChannels: 3,
      });
      assertEquals(r.windows, 4 * 4 * 3);
      assert(maxAbsDiff(r.data, full) < 2e-6, `${blend} batch ${batch}`);
    }
  }
  model.dispose();
});

Deno.test("a 3x3x3 model: one window that covers the volume equals the full pass; padding is cut off", async () => {
  const model = tinyModel(4, 3, 3);
  const vol = volume(4, 8, 12, 10);
  const full = fullPass(model, vol, 3);
  const exact = await slidingWindow3d(vol, tfForward(model, 4), {
    patch: [8, 12, 10],
    outChannels: 3,
  });
  assertEquals(exact.windows, 1);
  assert(maxAbsDiff(exact.data, full) < 1e-6);
  // a window larger than the volume is zero-padded past the end, as 'same' padding pads the full
  // pass: equal again.
  const padded = await slidingWindow3d(vol, tfForward(model, 4), {
    patch: [8, 16, 10],
    outChannels: 3,
  });
  assert(maxAbsDiff(padded.data, full) < 1e-6, "zero padding equals 'same' padding");
  model.dispose();
});

Deno.test("NCDHW layout gives the same blend as NDHWC", async () => {
  const vol = volume(2, 9, 10, 11);
  // out channel k = input channel k scaled, computed in each layout
  const ndhwc: PatchForward = (b) => b.map((v) => 2 * v);
  const ncdhw: PatchForward = (b) => b.map((v) => 2 * v);
  const a = await slidingWindow3d(vol, ndhwc, { patch: [4, 4, 4], outChannels: 2 });
  const b = await slidingWindow3d(vol, ncdhw, {
    patch: [4, 4, 4],
    outChannels: 2,
    layout: "NCDHW",
  });
  assert(maxAbsDiff(a.data, b.data) < 1e-6);
  for (let i = 0; i < vol.data.length; i++) assertAlmostEquals(a.data[i], 2 * vol.data[i], 1e-5);
});

Deno.test("progress is reported per forward call, in order, ending at the total", async () => {
  const vol = volume(1, 10, 10, 10);
  const seen: [number, number][] = [];
  await slidingWindow3d(vol, (b) => b, {
    patch: [4, 4, 4],
    overlap: 0,
    outChannels: 1,
    batch: 5,
    onProgress: (d, t) => void seen.push([d, t]),
  });
  assertEquals(seen, [[5, 27], [10, 27], [15, 27], [20, 27], [25, 27], [27, 27]]);
});

Deno.test("bad options and a model returning the wrong size are errors", async () => {
  const vol = volume(1, 4, 4, 4);
  await slidingWindow3d(vol, () => new Float32Array(3), { patch: [2, 2, 2], outChannels: 1 })
    .then(() => assert(false), (e) => assertEquals(e.name, "InvalidInputError"));
  await slidingWindow3d(vol, (b) => b, { patch: [2, 2, 2], outChannels: 1, overlap: 1 })
    .then(() => assert(false), (e) => assertEquals(e.name, "InvalidInputError"));
  await slidingWindow3d(vol, (b) => b, { patch: [2, 0, 2], outChannels: 1 })
    .then(() => assert(false), (e) => assertEquals(e.name, "InvalidInputError"));
});

Deno.test("fastConv3dOnWasm: conv3d and conv3dTranspose equal to the cpu backend's", async () => {
  const { setupBackend } = await import("../../lib/models/backend.ts");
  const cases: [number[], number[], number[], "same" | "valid"][] = [
    [[1, 6, 9, 7, 3], [3, 3, 3, 3, 5], [1, 1, 1], "same"],
    [[2, 5, 8, 8, 4], [3, 3, 3, 4, 2], [1, 1, 1], "valid"],
    [[1, 7, 10, 9, 2], [3, 1, 3, 2, 3], [1, 2, 2], "same"],
    [[1, 4, 6, 6, 2], [1, 1, 1, 2, 3], [1, 1, 1], "same"],
    [[1, 6, 6, 6, 2], [2, 2, 2, 2, 2], [2, 2, 2], "valid"], // depth stride 2: original kernel
  ];
  const values = (n: number, seed: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.71 + seed));
  const run = () =>
    cases.map(([xs, fs, st, pad]) =>
      tf.tidy(() => {
        const x = tf.tensor5d(values(xs.reduce((a, b) => a * b), 1), xs as never);
        const f = tf.tensor5d(values(fs.reduce((a, b) => a * b), 2), fs as never);
        return tf.conv3d(x, f, st as [number, number, number], pad).dataSync() as Float32Array;
      }).slice()
    );
  // conv3dTranspose: [x shape, filter [kd, kh, kw, out, in], output shape, strides, pad]
  const tcases: [number[], number[], number[], number, "same" | "valid"][] = [
    [[2, 4, 8, 8, 6], [2, 2, 2, 3, 6], [2, 8, 16, 16, 3], 2, "same"],
    [[1, 4, 8, 8, 1], [2, 2, 2, 1, 1], [1, 8, 16, 16, 1], 2, "valid"],
    [[1, 3, 5, 4, 2], [3, 3, 3, 3, 2], [1, 6, 10, 8, 3], 2, "same"],
    [[1, 3, 5, 4, 2], [3, 3, 3, 3, 2], [1, 5, 7, 6, 3], 1, "valid"],
  ];
  const runT = () =>
    tcases.map(([xs, fs, os, st, pad]) =>
      tf.tidy(() => {
        const x = tf.tensor5d(values(xs.reduce((a, b) => a * b), 3), xs as never);
        const f = tf.tensor5d(values(fs.reduce((a, b) => a * b), 4), fs as never);
        return tf.conv3dTranspose(x, f, os as never, st, pad).dataSync() as Float32Array;
      }).slice()
    );
  await tf.setBackend("cpu");
  const want = run(), wantT = runT();
  await setupBackend("wasm");
  const unpatched = runT();
  assert(
    unpatched.some((g, i) => maxAbsDiff(g, wantT[i]) > 0.1),
    "tfjs-backend-wasm 4.22's own conv3dTranspose is wrong (if this fails, it was fixed)",
  );
  const { fastConv3dOnWasm } = await import("../../lib/models/sliding3d.ts");
  assert(fastConv3dOnWasm());
  const before = tf.memory().numTensors;
  const got = run();
  assertEquals(tf.memory().numTensors, before);
  got.forEach((g, i) =>
    assert(maxAbsDiff(g, want[i]) < 1e-5, `case ${i}: ${maxAbsDiff(g, want[i])}`)
  );
  const gotT = runT();
  gotT.forEach((g, i) => assert(maxAbsDiff(g, wantT[i]) < 1e-6, `transpose case ${i}`));
  await tf.setBackend("cpu");
});

const gpuAdapter = await (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
  ?.requestAdapter().catch(() => null);
if (!gpuAdapter) {
  console.log(
    "skipping the WebGPU vs wasm test: no GPU adapter (on Debian, mesa-vulkan-drivers gives a CPU one, lavapipe)",
  );
}

Deno.test({
  name: "WebGPU and wasm agree on a tiny 3D U-Net through the sliding window",
  ignore: !gpuAdapter,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { setupBackend } = await import("../../lib/models/backend.ts");
    const { buildUnet } = await import("../../lib/models/unet.ts");
    const { fastConv3dOnWasm, layersForward } = await import("../../lib/models/sliding3d.ts");
    await setupBackend("wasm");
    fastConv3dOnWasm();
    const model = buildUnet({
      dims: 3,
      inputChannels: 4,
      levels: 2,
      filters: 4,
      outputChannels: 3,
    });
    model.setWeights(
      model.getWeights().map((w, j) => {
        const v = Float32Array.from({ length: w.size }, (_, i) => Math.sin(i * 0.37 + j) * 0.3);
        return tf.tensor(v, w.shape);
      }),
    );
    const vol = volume(4, 12, 20, 18);
    const opts = { patch: [8, 16, 16] as Size3, outChannels: 3, batch: 2, overlap: 0.5 };
    const forward = layersForward((x) => model.predict(x) as tf.Tensor, 4);
    const onWasm = await slidingWindow3d(vol, forward, opts);
    // lavapipe is a software adapter: lib/models refuses it unless told
    Deno.env.set("MEDIMG_WEBGPU_ALLOW_FALLBACK", "1");
    const gpu = await setupBackend("webgpu");
    assertEquals(gpu.name, "webgpu");
    assertEquals(tf.getBackend(), "webgpu");
    const onGpu = await slidingWindow3d(vol, forward, opts);
    const diff = maxAbsDiff(onWasm.data, onGpu.data);
    console.log(
      `WebGPU vs wasm: ${onGpu.windows} windows, max abs difference ${diff.toExponential(2)}`,
    );
    assert(diff < 1e-4, `max abs difference ${diff}`);
    let spread = 0;
    for (const v of onGpu.data) spread = Math.max(spread, Math.abs(v - 0.5));
    assert(spread > 1e-3, "the outputs are not all the same value");
    model.dispose();
    await tf.setBackend("cpu");
  },
});
