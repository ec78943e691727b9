/**
 * Model inference on every core: a pool of Deno Workers (./pool_worker.ts), each with its own tfjs
 * backend and its own copy of the models it was asked to run (loaded by folder on first use, with
 * lib/models/load.ts as in-process). A forward pass goes to the pool as a Float32Array whose buffer
 * is transferred, not copied, and comes back the same way. The windows of a volume
 * (sliding3d.ts), the tiles of a large slice (tiling.ts) and the slices of a series
 * (lib/pipelines/series.ts) are dispatched together and accumulated in their own order, so the
 * result is bit-for-bit the one worker's: every worker runs the same kernels on the same batch.
 *
 * Size: `MEDIMG_WORKERS` (0 or 1: no pool, inference stays in-process, no Worker). Unset, it is 1,
 * except on a self-hosted origin whose entry point calls {@link useAllCores} (functions/volume.ts,
 * functions/series.ts and functions/main.ts when run as the main module): there it is
 * `navigator.hardwareConcurrency`, or 1 with the webgpu backend (one GPU queue serves them all).
 * An edge platform (Deno Deploy's DENO_DEPLOYMENT_ID, Supabase's SB_REGION) always gets 1.
 *
 * Workers start lazily (on the first pass that needs one, up to the size), are reused across
 * requests and terminated by {@link ModelPool.terminate} (called on SIGTERM/SIGINT by the entry
 * points through {@link shutdownPool}, and by tests). A worker that dies of an uncaught error
 * fails the one pass it was running with a {@link WorkerError}; the pool replaces it on the next
 * pass and the other passes go on. (A V8 out-of-memory abort is not such a death: it ends the whole
 * process, workers being threads of it.)
 */
import { MedimgError, type ProblemFacts } from "../errors.ts";
import * as errors from "../errors.ts";
import { BackendError, backendFromEnv, type BackendName } from "./backend.ts";
import { ModelCardError } from "./card.ts";
import { env } from "./_env.ts";
import type { LoadedModel } from "./load.ts";
import type { PatchForward, PatchLayout } from "./sliding3d.ts";
import type { TileRunner } from "./tiling.ts";

/** A pass failed in a worker, or the worker running it died (maps to 500, with this message). */
export class WorkerError extends MedimgError {
  constructor(message: string, facts: ProblemFacts = {}) {
    super("worker-failed", message, facts);
  }
}

/** What a worker says about itself ({@link ModelPool.stats}). */
export interface WorkerStats {
  /** Index of the worker in the pool. */
  worker: number;
  backend: string | null;
  /** V8 heap of the worker's isolate in use, bytes (Deno.memoryUsage() in the worker). */
  heapUsed: number;
  /** The worker's wasm heap, bytes (null when wasm is not its backend or not started). */
  wasmHeap: number | null;
  /** The process's resident set as the worker reads it (workers are threads: shared). */
  rss: number;
  /** Models loaded in it. */
  models: string[];
}

/** A pass's answer: the output values and shape, and the ms the worker spent on it. */
export interface PoolAnswer {
  data: Float32Array;
  shape: number[];
  ms: number;
}

/** A message to a worker (./pool_worker.ts). */
export type PoolRequest =
  | {
    id: number;
    op: "forward";
    backend: BackendName;
    root: string;
    name: string;
    input: Float32Array;
    shape: number[];
  }
  | { id: number; op: "load"; backend: BackendName; root: string; name: string }
  | { id: number; op: "stats" };

/** A worker's answer. */
export type PoolReply =
  | { id: number; ok: true; data?: Float32Array; shape?: number[]; ms?: number; stats?: unknown }
  | { id: number; ok: false; error: { name: string; message: string; facts?: ProblemFacts } };

type Job = {
  request: PoolRequest;
  transfer: Transferable[];
  resolve: (r: PoolReply & { ok: true }) => void;
  reject: (e: Error) => void;
};

interface Slot {
  index: number;
  worker: Worker;
  job: Job | null;
  /** Jobs for this worker only (load, stats), run before shared ones. */
  own: Job[];
}

/** Options of {@link ModelPool}. */
export interface PoolOptions {
  /** The worker module (default ./pool_worker.ts; tests give one that can be made to crash). */
  workerUrl?: URL;
  /** Backend of every worker (default MEDIMG_BACKEND, else wasm, read at each pass). */
  backend?: BackendName;
}

/** Typed errors a worker's pass may throw, rebuilt by name on this side. */
const TYPED: Record<string, unknown> = {
  ...errors,
  ModelCardError,
  BackendError,
  ModelNotFoundError: errors.NotFoundError,
};

/** The error a worker sent, as the typed error of that name where lib knows it. */
function rebuild(e: { name: string; message: string; facts?: ProblemFacts }): Error {
  const known = TYPED[e.name];
  if (
    e.name !== "MedimgError" && typeof known === "function" &&
    known.prototype instanceof MedimgError
  ) {
    const Cls = known as new (m: string, f?: ProblemFacts) => MedimgError;
    const err = new Cls(e.message, e.facts ?? {});
    Object.assign(err.facts, e.facts ?? {});
    return err;
  }
  // Not one of ours: its message may hold internals, so it goes to the log, not to the caller.
  console.error(`model worker: unexpected ${e.name}: ${e.message}`);
  return new WorkerError("a model pass failed in a worker; the server log says why");
}

/**
 * A fixed number of model workers, started on demand.
 * @example
 * const pool = new ModelPool(2);
 * const { data } = await pool.forward("models", "brats-demo", batch, [1, 24, 160, 160, 4]);
 * pool.terminate();
 */
export class ModelPool {
  readonly size: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #next = 0;
  #started = 0;
  #closed = false;
  #url: URL;
  #backend?: BackendName;

  constructor(size: number, options: PoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`a pool needs a positive whole number of workers, got ${size}`);
    }
    this.size = size;
    this.#url = options.workerUrl ?? new URL("./pool_worker.ts", import.meta.url);
    this.#backend = options.backend;
  }

  /** Workers running now (they start on demand, and a dead one is gone until replaced). */
  get running(): number {
    return this.#slots.length;
  }

  /** Workers started so far, replacements included. */
  get started(): number {
    return this.#started;
  }

  /**
   * One forward pass of the model in folder `root/name` on `input` of `shape` (the model's own
   * layout). The input's buffer is transferred to the worker (the caller's array is left empty);
   * a view into a larger buffer is copied first.
   */
  async forward(
    root: string,
    name: string,
    input: Float32Array,
    shape: number[],
  ): Promise<PoolAnswer> {
    const own = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength
      ? input
      : input.slice();
    const r = await this.#submit(
      {
        id: 0,
        op: "forward",
        backend: this.#backend ?? backendFromEnv(),
        root,
        name,
        input: own,
        shape,
      },
      [own.buffer as ArrayBuffer],
    );
    return { data: r.data!, shape: r.shape!, ms: r.ms ?? 0 };
  }

  /**
   * Starts every worker and loads the model in each (a warm pool: the first request then pays
   * no load); answers each worker's load ms.
   */
  async warm(root: string, name: string): Promise<number[]> {
    const backend = this.#backend ?? backendFromEnv();
    const all = Array.from(
      { length: this.size },
      (_, i) => this.#direct(i, { id: 0, op: "load", backend, root, name }),
    );
    return (await Promise.all(all)).map((r) => r.ms ?? 0);
  }

  /** Every worker's memory and models (starting those not yet running). */
  async stats(): Promise<WorkerStats[]> {
    const all = Array.from(
      { length: this.size },
      (_, i) => this.#direct(i, { id: 0, op: "stats" }),
    );
    return (await Promise.all(all)).map((r, i) => ({ ...(r.stats as WorkerStats), worker: i }));
  }

  /** Stops every worker; passes still waiting or running fail with a WorkerError. */
  terminate(): void {
    this.#closed = true;
    const err = () => new WorkerError("the model pool was shut down");
    for (const job of this.#queue.splice(0)) job.reject(err());
    for (const slot of this.#slots.splice(0)) {
      slot.worker.terminate();
      slot.job?.reject(err());
      for (const job of slot.own.splice(0)) job.reject(err());
    }
  }

  #submit(request: PoolRequest, transfer: Transferable[]): Promise<PoolReply & { ok: true }> {
    if (this.#closed) return Promise.reject(new WorkerError("the model pool was shut down"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, transfer, resolve, reject });
      this.#pump();
    });
  }

  /** Runs `request` on worker `i` (started if needed) once it is free, before shared passes. */
  #direct(i: number, request: PoolRequest): Promise<PoolReply & { ok: true }> {
    if (this.#closed) return Promise.reject(new WorkerError("the model pool was shut down"));
    while (this.#slots.length <= i) this.#slots.push(this.#spawn(this.#slots.length));
    const slot = this.#slots[i];
    return new Promise((resolve, reject) => {
      slot.own.push({ request, transfer: [], resolve, reject });
      this.#pump();
    });
  }

  #spawn(index: number): Slot {
    const worker = new Worker(this.#url, { type: "module" });
    this.#started++;
    const slot: Slot = { index, worker, job: null, own: [] };
    worker.onmessage = (e: MessageEvent<PoolReply>) => {
      const job = slot.job;
      slot.job = null;
      if (job) {
        const reply = e.data;
        if (reply.ok) job.resolve(reply);
        else job.reject(rebuild(reply.error));
      }
      this.#pump();
    };
    const died = (why: string) => {
      const i = this.#slots.indexOf(slot);
      if (i < 0) return;
      this.#slots.splice(i, 1);
      this.#slots.forEach((s, k) => (s.index = k));
      worker.terminate();
      console.error(`model worker ${index} died: ${why}`);
      const err = () =>
        new WorkerError(`model worker ${index} died during a pass; the pool replaces it`, {
          worker: index,
        });
      slot.job?.reject(err());
      slot.job = null;
      for (const job of slot.own.splice(0)) job.reject(err());
      this.#pump();
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      died(e.message || "uncaught error");
    };
    worker.onmessageerror = () => died("a message could not be read");
    return slot;
  }

  #send(slot: Slot, job: Job): void {
    slot.job = job;
    const request = { ...job.request, id: ++this.#next } as PoolRequest;
    try {
      slot.worker.postMessage(request, job.transfer);
    } catch (err) {
      slot.job = null;
      job.reject(new WorkerError(`could not send to a model worker: ${(err as Error).message}`));
      queueMicrotask(() => this.#pump());
    }
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (!slot.job && slot.own.length > 0) this.#send(slot, slot.own.shift()!);
    }
    while (this.#queue.length > 0 && !this.#closed) {
      let slot = this.#slots.find((s) => !s.job);
      if (!slot && this.#slots.length < this.size) {
        slot = this.#spawn(this.#slots.length);
        this.#slots.push(slot);
      }
      if (!slot) return;
      this.#send(slot, this.#queue.shift()!);
    }
  }
}

let allCores = false;

/**
 * Called by a self-hosted origin's entry point: unset MEDIMG_WORKERS then means every core.
 * @example if (import.meta.main) { useAllCores(); serve(app); }
 */
export function useAllCores(): void {
  allCores = true;
}

/** Whether this isolate runs on an edge platform (no Workers worth having there). */
function onEdge(): boolean {
  return env("DENO_DEPLOYMENT_ID") !== undefined || env("SB_REGION") !== undefined ||
    typeof Worker === "undefined";
}

/**
 * The pool size this process uses: MEDIMG_WORKERS, else (see the module's header) every core on a
 * self-hosted origin with wasm, else 1.
 * @example workerCount() // 16 on a 16-core origin, 1 in an edge function
 */
export function workerCount(): number {
  const v = env("MEDIMG_WORKERS");
  if (v !== undefined && v !== "") {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`MEDIMG_WORKERS must be a whole number >= 0, got ${v}`);
    }
    return onEdge() ? Math.min(n, 1) : n;
  }
  if (!allCores || onEdge()) return 1;
  let backend: BackendName = "wasm";
  try {
    backend = backendFromEnv();
  } catch {
    // a bad MEDIMG_BACKEND is reported where the backend starts
  }
  return backend === "webgpu" ? 1 : Math.max(1, navigator.hardwareConcurrency || 1);
}

let shared: ModelPool | undefined;

/**
 * The process's pool, made on first use, or null when {@link workerCount} is 0 or 1 (inference in
 * process). Its workers start lazily.
 * @example const pool = modelPool(); if (pool) await pool.warm(root, "brats-demo");
 */
export function modelPool(): ModelPool | null {
  const n = workerCount();
  if (n <= 1) return null;
  if (shared && shared.size !== n) shutdownPool();
  shared ??= new ModelPool(n);
  return shared;
}

/** Terminates the process's pool, if any (shutdown, tests); the next use makes a new one. */
export function shutdownPool(): void {
  shared?.terminate();
  shared = undefined;
}

/** A model as the pool runs it: the pool and the model's folder. */
export interface PooledModel {
  pool: ModelPool;
  root: string;
  name: string;
}

/**
 * Where `loaded`'s passes go: the process's pool with the model's folder, or undefined when
 * inference stays in process.
 * @example const pooled = pooledModel(loaded); // undefined with MEDIMG_WORKERS=1
 */
export function pooledModel(
  loaded: Pick<LoadedModel, "dir">,
  pool: ModelPool | null = modelPool(),
): PooledModel | undefined {
  if (!pool) return undefined;
  const dir = loaded.dir.replace(/\/+$/, "");
  const cut = dir.lastIndexOf("/");
  return { pool, root: cut < 0 ? "." : dir.slice(0, cut) || "/", name: dir.slice(cut + 1) };
}

/**
 * A pooled model as sliding3d's {@link PatchForward}: a batch of `n` windows packed in `layout` with
 * `channels` channels. Pass `concurrency: pool.size` to slidingWindow3d to keep every worker busy.
 */
export function poolForward(
  m: PooledModel,
  channels: number,
  layout: PatchLayout = "NDHWC",
): PatchForward {
  return async (batch, n, [d, h, w]) => {
    const shape = layout === "NDHWC" ? [n, d, h, w, channels] : [n, channels, d, h, w];
    return (await m.pool.forward(m.root, m.name, batch, shape)).data;
  };
}

/**
 * A pooled model as tiling's {@link TileRunner} (NHWC tiles of `channels` channels); answers the
 * output's channels, and a WorkerError when the model did not keep the tiles' height and width.
 */
export function poolTileRunner(m: PooledModel, channels: number): TileRunner {
  return async (batch, count, height, width) => {
    const r = await m.pool.forward(m.root, m.name, batch, [count, height, width, channels]);
    const [n, h, w, k] = r.shape;
    if (r.shape.length !== 4 || n !== count || h !== height || w !== width) {
      throw new ModelCardError(
        `${m.name} answered shape [${r.shape}] for input [${count},${height},${width},${channels}]; ` +
          "a segmentation model must keep height and width",
      );
    }
    return { data: r.data, channels: k };
  };
}
