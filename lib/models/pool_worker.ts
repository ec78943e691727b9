/**
 * One model worker of ./pool.ts: its own tfjs backend (started as the pass asks, asserted as
 * in-process by ./backend.ts), the models it was asked for loaded by folder with ./load.ts (so the
 * same kernels and accelerations as in-process: same results), one message at a time. A forward
 * pass answers its output values with the buffer transferred back; an error thrown by a pass is
 * answered (the worker lives on); only an uncaught one kills the worker, which the pool replaces.
 */
/// <reference lib="deno.worker" />
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, setupBackend, wasmHeapBytes } from "./backend.ts";
import { loadModel } from "./load.ts";
import type { PoolReply, PoolRequest } from "./pool.ts";

const loaded = new Set<string>();

async function model(backend: BackendName, root: string, name: string) {
  await setupBackend(backend);
  const m = await loadModel(name, { root });
  loaded.add(`${root}/${name}`);
  return m;
}

async function handle(req: PoolRequest): Promise<PoolReply> {
  if (req.op === "stats") {
    const m = Deno.memoryUsage();
    return {
      id: req.id,
      ok: true,
      stats: {
        backend: loaded.size > 0 ? tf.getBackend() : null,
        heapUsed: m.heapUsed,
        wasmHeap: wasmHeapBytes(),
        rss: m.rss,
        models: [...loaded],
      },
    };
  }
  const t0 = performance.now();
  const m = await model(req.backend, req.root, req.name);
  if (req.op === "load") {
    return { id: req.id, ok: true, ms: m.cached ? 0 : m.loadMs.read + m.loadMs.warmup };
  }
  const y = tf.tidy(() => m.predict(tf.tensor(req.input, req.shape, "float32")));
  try {
    const raw = (await y.data()) as Float32Array;
    // wasm reads out a copy of its heap; other backends may answer their own storage
    const data = tf.getBackend() === "wasm" ? raw : raw.slice();
    return { id: req.id, ok: true, data, shape: y.shape, ms: performance.now() - t0 };
  } finally {
    y.dispose();
  }
}

self.onmessage = async (e: MessageEvent<PoolRequest>) => {
  const req = e.data;
  let reply: PoolReply;
  try {
    reply = await handle(req);
  } catch (err) {
    const x = err as Error & { facts?: Record<string, string | number | boolean | null> };
    reply = {
      id: req.id,
      ok: false,
      error: { name: x?.name ?? "Error", message: x?.message ?? String(err), facts: x?.facts },
    };
  }
  const data = reply.ok ? reply.data : undefined;
  self.postMessage(reply, data ? [data.buffer as ArrayBuffer] : []);
};
