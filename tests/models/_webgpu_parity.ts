/**
 * Run by runtime_test.ts in its own process (the backend is global): the fixture models on wasm,
 * then on webgpu (a software adapter allowed by the caller's environment); prints one JSON line
 * {backend, maxDiff, leaked} or {skipped: reason}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../lib/models/backend.ts";
import { segmentImage } from "../../lib/models/infer.ts";
import { loadModel, unloadModels } from "../../lib/models/load.ts";
import { scalePreset } from "../../lib/pipelines/presets.ts";
import { greyImage, makeModelsRoot } from "./_fixtures.ts";

const root = await makeModelsRoot();
const img = scalePreset(greyImage(70, 50, (x, y) => (x * 7 + y * 3) & 255), {}, {});
const names = ["sigmoid", "unet", "conv3", "graph"];
const ref: Float32Array[] = [];
for (const name of names) {
  ref.push((await segmentImage(await loadModel(name, { root }), img, { batch: 3 })).probs.data);
}
await unloadModels();
try {
  await setupBackend("webgpu");
  let maxDiff = 0, leaked = 0;
  for (const [k, name] of names.entries()) {
    const m = await loadModel(name, { root });
    const before = tf.memory().numTensors;
    const { probs } = await segmentImage(m, img, { batch: 3 });
    leaked += tf.memory().numTensors - before;
    for (let i = 0; i < probs.data.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(probs.data[i] - ref[k][i]));
    }
  }
  console.log(JSON.stringify({ backend: tf.getBackend(), maxDiff, leaked }));
} catch (err) {
  console.log(JSON.stringify({ skipped: (err as Error).message }));
}
await unloadModels();
await Deno.remove(root, { recursive: true });
