/**
 * The GPU check: the whole BraTS case (reorient, the seed's preprocessing, brats-demo's sliding
 * windows, labels) on tfjs WebGPU and on wasm, one after the other in one process, printing both
 * times and how far they agree: the largest absolute difference of any probability and the share
 * of voxels given the same label. WebGPU runs in this process (the adapter Deno finds: on a GPU
 * host the GPU; here Mesa's lavapipe, which is software and is used only with
 * MEDIMG_WEBGPU_ALLOW_FALLBACK=1); wasm runs in a model worker (lib/models/pool.ts), so that each
 * side has a tfjs of its own. Times are of the sliding-window inference, the models loaded and
 * warmed first (and, on the whole case, one window run on each side before timing); the
 * preprocessing is shared.
 *
 *   deno task gpu-check [--crop] [--case <path prefix>] [--model brats-demo] [--batch 1]
 *   (the task is: deno run --allow-read --allow-env bench/gpu_check.ts)
 *
 * --crop: a tiny crop (one window, 16 x 96 x 96 voxels of the preprocessed stack around its centre),
 * to try it where WebGPU is software. Default: the whole case,
 * ../shared/data/brats/BraTS2021_00006/BraTS2021_00006_{flair,t1,t1ce,t2}.nii.gz.
 * Prints a JSON line last. Exit code 1 when WebGPU does not start or the labels agree on less than
 * 99.9% of voxels.
 */
import { setupBackend } from "../lib/models/backend.ts";
import { loadModel } from "../lib/models/load.ts";
import { ModelPool, poolForward } from "../lib/models/pool.ts";
import { findModel, modelsRoot } from "../lib/models/registry.ts";
import { layersForward, slidingWindow3d, type Volume4 } from "../lib/models/sliding3d.ts";
import { readNifti } from "../lib/nifti/mod.ts";
import { toCanonical } from "../lib/nifti/orient.ts";
import {
  BRATS_MODALITIES,
  bratsPreprocess,
  probabilitiesToLabels,
} from "../lib/pipelines/brats.ts";
import { volumeModel } from "../lib/pipelines/volume.ts";

const args = Deno.args;
const opt = (name: string, def: string) => args.includes(name) ? args[args.indexOf(name) + 1] : def;
const crop = args.includes("--crop");
const prefix = opt(
  "--case",
  new URL("../../shared/data/brats/BraTS2021_00006/BraTS2021_00006_", import.meta.url).pathname,
);
const name = opt("--model", "brats-demo");
const batch = Number(opt("--batch", "1"));
const root = modelsRoot();

/** A centred [d, h, w] crop of a channels-first volume. */
function centreCrop(v: Volume4, [d, h, w]: [number, number, number]): Volume4 {
  const [D, H, W] = [v.depth, v.height, v.width];
  [d, h, w] = [Math.min(d, D), Math.min(h, H), Math.min(w, W)];
  const [z0, y0, x0] = [(D - d) >> 1, (H - h) >> 1, (W - w) >> 1];
  const data = new Float32Array(v.channels * d * h * w);
  for (let c = 0, o = 0; c < v.channels; c++) {
    for (let z = 0; z < d; z++) {
      for (let y = 0; y < h; y++, o += w) {
        const s = ((c * D + z0 + z) * H + y0 + y) * W + x0;
        data.set(v.data.subarray(s, s + w), o);
      }
    }
  }
  return { data, channels: v.channels, depth: d, height: h, width: w };
}

const m = volumeModel((await findModel(name, root)).card);
const t0 = performance.now();
const volumes = await Promise.all(
  BRATS_MODALITIES.map(async (k) => readNifti(await Deno.readFile(`${prefix}${k}.nii.gz`))),
);
const prep = bratsPreprocess(volumes.map((v) => toCanonical(v).volume), m.params);
const vol: Volume4 = crop ? centreCrop(prep.stack, m.patch) : prep.stack;
console.log(
  `input: ${prefix}*.nii.gz ${volumes[0].width}x${volumes[0].height}x${volumes[0].depth}; ` +
    `inference on ${vol.channels}x${vol.depth}x${vol.height}x${vol.width}${
      crop ? " (--crop)" : ""
    }; ` +
    `read + preprocess ${Math.round(performance.now() - t0)} ms`,
);
const sliding = {
  patch: m.patch,
  overlap: m.overlap,
  blend: m.blend,
  batch,
  outChannels: m.labels.length,
  layout: m.layout,
};

// webgpu, in this process: started and its model loaded first, so that a missing GPU fails fast
let adapter = "";
let gpuForward;
try {
  const info = await setupBackend("webgpu");
  const a = await (navigator as unknown as {
    gpu: { requestAdapter(): Promise<{ info?: Record<string, unknown> } | null> };
  }).gpu.requestAdapter();
  // GPUAdapterInfo's fields are getters: JSON.stringify sees none
  const i = a?.info ?? {};
  adapter = ["vendor", "architecture", "device", "description", "isFallbackAdapter"]
    .map((k) => `${k}=${i[k] ?? ""}`).join(" ");
  const loaded = await loadModel(name, { root });
  console.log(`webgpu: started in ${Math.round(info.ms)} ms on ${adapter}`);
  gpuForward = layersForward(loaded.predict, m.channels, m.layout);
} catch (err) {
  console.log(`webgpu: ${(err as Error).message}`);
  console.log(JSON.stringify({ crop, webgpu: "failed" }));
  Deno.exit(1);
}

/** Inference over `vol`, after one window to warm up (shaders, XNNPACK operators) unless --crop. */
async function timedRun(forward: Parameters<typeof slidingWindow3d>[1]) {
  if (!crop) await slidingWindow3d(centreCrop(vol, m.patch), forward, sliding);
  const t = performance.now();
  const r = await slidingWindow3d(vol, forward, sliding);
  return { ...r, forwardMs: performance.now() - t };
}

// wasm, in a worker of its own
const pool = new ModelPool(1, { backend: "wasm" });
let wasm;
try {
  await pool.warm(root, name);
  wasm = await timedRun(poolForward({ pool, root, name }, m.channels, m.layout));
} finally {
  pool.terminate();
}
const gpu = await timedRun(gpuForward);

let maxDiff = 0;
for (let i = 0; i < wasm.data.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(wasm.data[i] - gpu.data[i]));
}
const grid = { ...vol, zStart: 0, fullDepth: vol.depth };
const la = probabilitiesToLabels(wasm.data, grid, m.card.threshold ?? 0.5, m.labels);
const lb = probabilitiesToLabels(gpu.data, grid, m.card.threshold ?? 0.5, m.labels);
let same = 0, fg = 0, fgSame = 0;
for (let i = 0; i < la.length; i++) {
  if (la[i] === lb[i]) same++;
  if (la[i] || lb[i]) {
    fg++;
    if (la[i] === lb[i]) fgSame++;
  }
}
const agree = (100 * same) / la.length;
const result = {
  crop,
  voxels: la.length,
  windows: wasm.windows,
  wasm_ms: Math.round(wasm.forwardMs),
  webgpu_ms: Math.round(gpu.forwardMs),
  speedup: Math.round((wasm.forwardMs / gpu.forwardMs) * 100) / 100,
  max_abs_prob_diff: maxDiff,
  label_agreement_pct: Math.round(agree * 1e4) / 1e4,
  foreground_agreement_pct: fg ? Math.round(((100 * fgSame) / fg) * 1e4) / 1e4 : 100,
  adapter,
};
console.log(
  `wasm ${result.wasm_ms} ms, webgpu ${result.webgpu_ms} ms (${result.speedup}x) over ${result.windows} windows; ` +
    `max |p_webgpu - p_wasm| = ${
      maxDiff.toExponential(2)
    }; labels agree on ${result.label_agreement_pct}% ` +
    `of ${la.length} voxels (${result.foreground_agreement_pct}% of voxels labelled by either)`,
);
console.log(JSON.stringify(result));
if (agree < 99.9) Deno.exit(1);
