/**
 * Loads an installed model once per isolate, lazily on first use: card, tfjs artifacts (LayersModel
 * or GraphModel) from the local file system, a warm-up pass, and the time each took.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { GraphModel } from "@tensorflow/tfjs-converter";
import { activeBackend, type BackendInfo, restartWasmBackend, wasmHeapBytes } from "./backend.ts";
import { env } from "./_env.ts";
import { type ModelCard, ModelCardError } from "./card.ts";
import { accelerate, useFastConcat } from "./fast.ts";
import { fastConv3dOnWasm } from "./sliding3d.ts";
import { fileHandler } from "./io.ts";
import { findModel, modelsRoot } from "./registry.ts";

/** A model ready to run. */
export interface LoadedModel {
  name: string;
  card: ModelCard;
  dir: string;
  model: tfl.LayersModel | GraphModel;
  backend: BackendInfo;
  /** Layers computed by lib/models/fast.ts' faster equivalent (wasm). */
  accelerated: string[];
  /** ms: reading and building the artifacts, and the first (warm-up) pass. */
  loadMs: { read: number; warmup: number };
  /**
   * One forward pass; the caller disposes the result (run it inside `tf.tidy`).
   * Inputs are in the card's order.
   */
  predict(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor;
}

/** Options for {@link loadModel}. */
export interface LoadOptions {
  /** Models root (default modelsRoot()). */
  root?: string;
}

const cache = new Map<string, Promise<LoadedModel>>();

function modelFormat(json: unknown): string | undefined {
  return typeof json === "object" && json !== null
    ? (json as { format?: string }).format
    : undefined;
}

async function load(name: string, root: string): Promise<LoadedModel> {
  const { card, dir } = await findModel(name, root);
  const backend = await activeBackend();
  const t0 = performance.now();
  const declared = modelFormat(JSON.parse(await Deno.readTextFile(`${dir}/model.json`)));
  const expected = card.format === "graph" ? "graph-model" : "layers-model";
  if (declared !== undefined && declared !== expected) {
    throw new ModelCardError(`${name}: card.json says ${card.format}, model.json is a ${declared}`);
  }
  let model: tfl.LayersModel | GraphModel;
  try {
    model = card.format === "graph"
      // The converter is only imported for graph models: less to load at a cold start.
      ? await (await import("@tensorflow/tfjs-converter")).loadGraphModel(fileHandler(dir))
      : await tfl.loadLayersModel(fileHandler(dir));
  } catch (err) {
    if (err instanceof ModelCardError) throw err;
    throw new ModelCardError(`${name}: the tfjs artifacts do not load: ${(err as Error).message}`);
  }
  let accelerated: string[] = [];
  if (backend.name === "wasm") {
    useFastConcat();
    // tfjs-backend-wasm 4.22's Conv3D is a scalar loop and its conv3dTranspose is wrong (off by up
    // to 4 against cpu and webgpu): both replaced, so 3D models load right wherever they load.
    fastConv3dOnWasm();
    if (card.format === "layers") accelerated = accelerate(model as tfl.LayersModel);
  }
  const read = performance.now() - t0;
  const predict = card.format === "graph"
    ? (x: tf.Tensor | tf.Tensor[]) => (model as GraphModel).execute(x) as tf.Tensor
    : (x: tf.Tensor | tf.Tensor[]) => (model as tfl.LayersModel).predict(x) as tf.Tensor;
  const loaded: LoadedModel = {
    name,
    card,
    dir,
    model,
    backend,
    accelerated,
    loadMs: { read, warmup: 0 },
    predict,
  };
  const t1 = performance.now();
  try {
    const image = card.inputs.findIndex((inp) => inp.shape.length === 4);
    const stride = card.stride ?? 1;
    const out = tf.tidy(() => {
      const inputs = card.inputs.map((inp, i) => {
        const shape = inp.shape.map((d, axis) => {
          if (d !== null) return d;
          if (axis === 0) return 1;
          // Not 1x1: a pooling net would pool it to nothing, which XNNPACK does not survive.
          if (i === image && axis < 3) return card.tile?.size ?? Math.ceil(32 / stride) * stride;
          return 1;
        });
        return tf.zeros(shape);
      });
      return predict(inputs.length === 1 ? inputs[0] : inputs);
    });
    // Read back asynchronously: webgpu in Deno cannot read synchronously.
    try {
      await out.data();
    } finally {
      out.dispose();
    }
  } catch (err) {
    model.dispose();
    throw new ModelCardError(
      `${name}: a pass on zeros of the card's input shapes failed: ${(err as Error).message}`,
    );
  }
  loaded.loadMs.warmup = performance.now() - t1;
  return loaded;
}

/**
 * The model `name` from the models root, loaded on first use and kept for the isolate's life.
 * `cached` says whether this call found it loaded (else it paid `loadMs`).
 * @example const { model, card, loadMs } = await loadModel("ct-liver");
 */
export async function loadModel(
  name: string,
  options: LoadOptions = {},
): Promise<LoadedModel & { cached: boolean }> {
  const key = `${options.root ?? modelsRoot()}\0${name}`;
  if (restarting) await restarting;
  let p = cache.get(key);
  const cached = p !== undefined;
  if (!p) {
    p = load(name, options.root ?? modelsRoot());
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return { ...(await p), cached };
}

/**
 * Disposes every loaded model and forgets it (tests; a hot reload of the models folder).
 * @example await unloadModels();
 */
export async function unloadModels(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) {
    try {
      (await p).model.dispose();
    } catch {
      // A failed load left nothing to dispose.
    }
  }
}

/** Default MEDIMG_WASM_HEAP_MAX_MB: a fundus photo of DRIVE's size needs about 130 MB. */
export const DEFAULT_WASM_HEAP_MAX_MB = 256;

let holders = 0;
let restarting: Promise<void> | undefined;

/**
 * Runs `fn` (load a model and run it) with the loaded models kept alive; when the last holder is
 * done and one request grew the wasm heap past MEDIMG_WASM_HEAP_MAX_MB (default 256), the models
 * are unloaded and the wasm backend restarted, so that the heap's peak is given back instead of
 * pinned for the process's life (a WebAssembly memory never shrinks). The next request reloads
 * its model (here: restart 7-24 ms, reload 30-95 ms). Every route that runs a model wraps its work in this.
 * @example const answer = await holdModels(async () => run(await loadModel("fundus-vessels")));
 */
export async function holdModels<T>(fn: () => Promise<T>): Promise<T> {
  if (restarting) await restarting;
  holders++;
  try {
    return await fn();
  } finally {
    holders--;
    if (holders === 0) setTimeout(trimWasmHeap, 0);
  }
}

async function trimWasmHeap(): Promise<void> {
  const max = Number(env("MEDIMG_WASM_HEAP_MAX_MB") ?? DEFAULT_WASM_HEAP_MAX_MB) * 2 ** 20;
  const bytes = wasmHeapBytes();
  if (holders > 0 || restarting || bytes === null || !(bytes > max)) return;
  restarting = (async () => {
    await unloadModels();
    if (!(await restartWasmBackend())) {
      console.warn(`wasm heap at ${Math.round(bytes / 2 ** 20)} MB kept: tensors still alive`);
    }
  })().finally(() => (restarting = undefined));
  await restarting;
}
