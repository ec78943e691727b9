/**
 * tfjs backend set-up: `wasm` (XNNPACK, SIMD) by default, `webgpu` when asked for and a hardware
 * adapter is present (a software fallback adapter only with MEDIMG_WEBGPU_ALLOW_FALLBACK), `cpu`
 * only when asked for. The chosen backend is asserted after start-up, because tfjs otherwise falls
 * back silently to whatever else is registered (the slow JS CPU backend when the .wasm cannot be
 * read): here that is an error at start, never a slow service.
 */
import * as tf from "@tensorflow/tfjs-core";
import process from "node:process";
import { UnavailableError } from "../errors.ts";
import { env } from "./_env.ts";

/** Backends this project runs on. */
export const BACKENDS = ["wasm", "webgpu", "cpu"] as const;

/** One of {@link BACKENDS}. */
export type BackendName = typeof BACKENDS[number];

/** The backend could not be started as asked (503); the service must not run on another one. */
export class BackendError extends UnavailableError {
  constructor(message: string) {
    super(message, { backend: "unavailable" });
  }
}

/** What {@link setupBackend} started. */
export interface BackendInfo {
  name: BackendName;
  /** wasm: whether the SIMD binary runs. */
  simd: boolean;
  /** wasm: worker threads (1 where the platform has none, as in Deno). */
  threads: number;
  /** Start-up time in ms (0 when already started). */
  ms: number;
}

interface GpuAdapterLike {
  info?: { description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

let started: { name: BackendName; info: Promise<BackendInfo> } | undefined;

/**
 * The backend the environment asks for: MEDIMG_BACKEND (wasm, webgpu or cpu), default wasm.
 * @example backendFromEnv() // "wasm"
 */
export function backendFromEnv(): BackendName {
  const v = env("MEDIMG_BACKEND") ?? "wasm";
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new BackendError(`MEDIMG_BACKEND must be one of ${BACKENDS.join(", ")}, got ${v}`);
  }
  return v as BackendName;
}

async function register(name: BackendName): Promise<void> {
  if (name === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // Where the .wasm binaries are, for deployments that move them (default: beside the package).
    const dir = env("MEDIMG_TFJS_WASM_DIR");
    if (dir) wasm.setWasmPaths(dir.endsWith("/") ? dir : `${dir}/`);
  } else if (name === "webgpu") {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    if (!adapter) {
      throw new BackendError("webgpu was asked for but this machine has no GPU adapter");
    }
    const info = adapter.info;
    // A software adapter (Mesa llvmpipe) is a GPU in name only: slower than wasm, so not silently.
    const fallback = info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    if (fallback && !env("MEDIMG_WEBGPU_ALLOW_FALLBACK")) {
      throw new BackendError(
        `webgpu was asked for but the only adapter is a software fallback (${
          info?.description || "no description"
        }); set MEDIMG_WEBGPU_ALLOW_FALLBACK=1 to use it anyway`,
      );
    }
    await import("@tensorflow/tfjs-backend-webgpu");
  } else {
    await import("@tensorflow/tfjs-backend-cpu");
  }
}

/**
 * Emscripten's glue, seeing Node's `process`, adds an uncaughtException and an unhandledRejection
 * listener per wasm instance; they close over the instance's memory. Kept here so that a restart
 * (restartWasmBackend) can remove the old instance's and let its heap be collected.
 */
const PROCESS_EVENTS = ["uncaughtException", "unhandledRejection"] as const;
type Listener = (...args: unknown[]) => void;
let instanceListeners: [string, Listener][] = [];
const emitter = process as unknown as {
  listeners(event: string): Listener[];
  off(event: string, listener: Listener): void;
};

async function start(name: BackendName): Promise<BackendInfo> {
  const before = PROCESS_EVENTS.map((e) => new Set(emitter.listeners(e)));
  try {
    return await startBackend(name);
  } finally {
    PROCESS_EVENTS.forEach((e, i) => {
      for (const l of emitter.listeners(e)) {
        if (!before[i].has(l)) instanceListeners.push([e, l]);
      }
    });
  }
}

async function startBackend(name: BackendName): Promise<BackendInfo> {
  const t0 = performance.now();
  await register(name);
  // tfjs logs the reason of a failed init and answers false; the reason is not ours to print twice.
  const warn = console.warn;
  let reason = "";
  console.warn = (...a: unknown[]) => {
    reason += a.map(String).join(" ") + " ";
  };
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    reason += (err as Error)?.message ?? String(err);
  } finally {
    console.warn = warn;
  }
  const active = tf.getBackend();
  if (!ok || active !== name) {
    throw new BackendError(
      `the ${name} backend did not start (active: ${active ?? "none"})${
        reason ? `: ${reason.trim()}` : ""
      }${
        name === "wasm"
          ? "; the process needs read access to @tensorflow/tfjs-backend-wasm's .wasm files" +
            " (or MEDIMG_TFJS_WASM_DIR)"
          : ""
      }`,
    );
  }
  const simd = name === "wasm" && (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  let threads = 1;
  if (name === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    threads = wasm.getThreadsCount();
  }
  return { name, simd, threads, ms: performance.now() - t0 };
}

/**
 * Starts `name` (default from MEDIMG_BACKEND, else wasm) once per isolate and asserts that tfjs
 * really runs on it; a later call with the same name answers at once. Throws BackendError when the
 * backend cannot start (no fallback to another one).
 * @example const info = await setupBackend(); // { name: "wasm", simd: true, threads: 1, ms: 40 }
 */
export async function setupBackend(name: BackendName = backendFromEnv()): Promise<BackendInfo> {
  if (started?.name === name) {
    const info = await started.info;
    if (tf.getBackend() === name) return { ...info, ms: 0 };
  }
  const info = start(name);
  started = { name, info };
  try {
    return await info;
  } catch (err) {
    started = undefined;
    throw err;
  }
}

/**
 * The backend started by {@link setupBackend} if it still runs, else the one the environment asks
 * for, started now: what model loading uses, so that a process that chose webgpu keeps it.
 * @example const info = await activeBackend();
 */
export async function activeBackend(): Promise<BackendInfo> {
  if (started && tf.getBackend() === started.name) {
    try {
      return { ...(await started.info), ms: 0 };
    } catch {
      // It failed to start: start the asked-for one below.
    }
  }
  return await setupBackend();
}

/**
 * tfjs's live tensor count and bytes on the running backend, or null before any model ran: what a
 * health check or a load test watches for leaks.
 * @example tensorStats() // { backend: "wasm", numTensors: 0, numBytes: 0 }
 */
export function tensorStats(): { backend: string; numTensors: number; numBytes: number } | null {
  if (!started) return null;
  const m = tf.memory();
  return { backend: tf.getBackend(), numTensors: m.numTensors, numBytes: m.numBytes };
}

/**
 * Bytes of the wasm backend's heap, or null when wasm is not the running backend. A WebAssembly
 * memory grows to the largest pass it served and never shrinks.
 * @example wasmHeapBytes() // 136314880
 */
export function wasmHeapBytes(): number | null {
  if (!started || tf.getBackend() !== "wasm") return null;
  try {
    const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    return b.wasm?.HEAPU8?.length ?? null;
  } catch {
    return null; // still starting
  }
}

/**
 * Replaces the wasm backend by a fresh instance, so that the old heap (and its memory) can be
 * collected. Refused (false) while any tensor is alive: the caller unloads its models first.
 * @example if (tf.memory().numTensors === 0) await restartWasmBackend();
 */
export async function restartWasmBackend(): Promise<boolean> {
  if (tf.getBackend() !== "wasm" || tf.memory().numTensors > 0) return false;
  const engine = tf.engine() as unknown as {
    registryFactory: Record<string, { factory: () => tf.KernelBackend; priority: number }>;
  };
  const entry = engine.registryFactory.wasm;
  tf.removeBackend("wasm");
  for (const [event, listener] of instanceListeners) emitter.off(event, listener);
  instanceListeners = [];
  tf.registerBackend("wasm", entry.factory, entry.priority);
  started = undefined;
  await setupBackend("wasm");
  return true;
}

/**
 * The GPU origin's choice (functions/volume.ts at start): WebGPU when this machine has a hardware
 * GPU adapter and MEDIMG_BACKEND is not set (a software adapter such as Mesa's llvmpipe only with
 * MEDIMG_WEBGPU_ALLOW_FALLBACK=1, as {@link setupBackend}), else what MEDIMG_BACKEND says (wasm by
 * default). Sets MEDIMG_BACKEND accordingly and returns the line to log (null when it was set).
 * @example const line = await preferGpuBackend("volume"); if (line) console.log(line);
 */
export async function preferGpuBackend(who: string): Promise<string | null> {
  if (env("MEDIMG_BACKEND")) return null;
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const software = adapter?.info?.isFallbackAdapter === true;
  const use = adapter !== null && (!software || env("MEDIMG_WEBGPU_ALLOW_FALLBACK") !== undefined);
  if (use) Deno.env.set("MEDIMG_BACKEND", "webgpu");
  return `${who}: tfjs backend ${
    use
      ? `webgpu (${adapter?.info?.description || "GPU adapter"})`
      : `wasm (${adapter ? "only a software GPU adapter" : "no GPU adapter"})`
  }`;
}
