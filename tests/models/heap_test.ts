/**
 * The wasm heap is given back after a request that grew it past MEDIMG_WASM_HEAP_MAX_MB (a
 * WebAssembly memory never shrinks, so without this one large image pins its peak for the
 * process's life): models unloaded, backend restarted, the next request reloads and answers the
 * same numbers.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "@std/assert";
import { wasmHeapBytes } from "../../lib/models/backend.ts";
import { segmentImage } from "../../lib/models/infer.ts";
import { holdModels, loadModel } from "../../lib/models/load.ts";

const MB = 2 ** 20;
// The shipped models, whatever MEDIMG_MODELS_DIR another test file of this process has set.
const root = new URL("../../models", import.meta.url).pathname;
const tick = () => new Promise((r) => setTimeout(r, 1));

function photo(h: number, w: number) {
  const tensor = new Float32Array(h * w);
  for (let i = 0; i < tensor.length; i++) tensor[i] = ((i * 2654435761) >>> 24) / 255;
  return { tensor, width: w, height: h, channels: 1 } as Parameters<typeof segmentImage>[1];
}

const run = (h: number, w: number) =>
  holdModels(async () => {
    const loaded = await loadModel("fundus-vessels", { root });
    const { probs } = await segmentImage(loaded, photo(h, w));
    return { probs: probs.data, cached: loaded.cached, heap: wasmHeapBytes()! };
  });

Deno.test("models: a request that grows the wasm heap past the limit gets it back, same answers after", async () => {
  Deno.env.set("MEDIMG_WASM_HEAP_MAX_MB", "96");
  try {
    const small = await run(64, 64);
    await tick();
    const again = await run(64, 64);
    assert(again.cached, "under the limit the model stays loaded");
    assert(small.heap < 96 * MB, `heap ${small.heap / MB} MB`);

    const big = await run(512, 512);
    assert(big.heap > 96 * MB, `a 512x512 pass should grow the heap past 96 MB (${big.heap / MB})`);
    await tick();
    const fresh = await holdModels(() => Promise.resolve(wasmHeapBytes()!));
    assert(fresh < 96 * MB, `a fresh backend's heap (${fresh / MB} MB) is back under the limit`);
    assertEquals(tf.memory().numTensors, 0, "no tensor survives the restart");
    const after = await run(512, 512);
    assertEquals(after.cached, false, "the model was reloaded on the fresh backend");
    assertEquals(tf.getBackend(), "wasm");
    assertEquals(after.probs, big.probs);
    await tick();
    await holdModels(() => Promise.resolve()); // let this second restart finish inside the test
  } finally {
    Deno.env.delete("MEDIMG_WASM_HEAP_MAX_MB");
  }
});
