/**
 * Jobs that survive a restart: Deno KV (a local SQLite database, `--unstable-kv`) in a directory
 * keeps each job's state and events; its inputs and its result live as files beside it (KV values
 * are at most 64 KiB), under `<dir>/blobs/<id>/`. Work is dispatched with kv.enqueue and
 * kv.listenQueue, one job at a time per kind (as the memory engine). One process owns a directory:
 * when it opens it, every job that was running (its process was killed) is queued again, its
 * attempt counted, and queued ones are dispatched again; nothing accepted is lost. A job's run
 * carries a generation number, so a stale queue message (KV may deliver the old one too) is
 * ignored. Many origins on one queue is the Redis engine (redis.ts).
 */
import { describeError, type Job, type JobEvent, type JobState, type NewEvent } from "./queue.ts";
import {
  checkBounds,
  errorOf,
  type JobRequest,
  type JobRunner,
  type JobStore,
  joinBlobs,
  notFound,
  runLimit,
  splitBlobs,
  testDelay,
} from "./store.ts";
import type { MedimgError } from "../errors.ts";
import type { JobError } from "./queue.ts";

/** Bounds and timings of one kind's jobs (as JobQueueOptions). */
export interface StoreBounds {
  maxJobs: number;
  maxBytes: number;
  ttlMs: number;
  maxRunMs: number;
  statusOf?: (err: MedimgError) => number;
}

/** What KV holds of a job (["job", id]); events are ["event", id, seq]. */
interface Record_ {
  id: string;
  kind: string;
  state: JobState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  expiresAt?: number;
  attempts: number;
  /** Which dispatch may run it: bumped whenever the job is queued again. */
  gen: number;
  bytes: number;
  meta: Record<string, unknown>;
  params: Record<string, unknown>;
  inputs: string[];
  /** Events recorded so far. */
  events: number;
  error?: JobError;
}

interface Kind {
  runner: JobRunner<unknown>;
  bounds: StoreBounds;
  /** The kind's jobs run one after another on this chain. */
  chain: Promise<void>;
}

/** File names of blobs: the input's name, made safe. */
const safe = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, "_");

/**
 * The KV engine of one directory; `store(kind, ...)` is the JobStore of one kind. Open it once per
 * process ({@link openKvEngine}).
 */
export class KvEngine {
  readonly dir: string;
  #kv: Deno.Kv;
  #kinds = new Map<string, Kind>();
  #wake = new Map<string, Set<() => void>>();
  #lastSweep = 0;
  #closed = false;

  private constructor(dir: string, kv: Deno.Kv) {
    this.dir = dir;
    this.#kv = kv;
  }

  /** Opens (or creates) the directory's database and starts listening for work. */
  static async open(dir: string): Promise<KvEngine> {
    await Deno.mkdir(`${dir}/blobs`, { recursive: true });
    const engine = new KvEngine(dir, await Deno.openKv(`${dir}/jobs.sqlite3`));
    engine.#kv.listenQueue((msg) => engine.#dispatch(msg as { id: string; gen: number }))
      .catch(() => {/* closed */});
    return engine;
  }

  /**
   * The JobStore of a kind; its jobs left queued or running by a previous process are queued
   * again now.
   */
  store<R>(kind: string, runner: JobRunner<R>, bounds: StoreBounds): JobStore<R> {
    this.#kinds.set(kind, {
      runner: runner as JobRunner<unknown>,
      bounds,
      chain: Promise.resolve(),
    });
    const ready = this.#recover(kind);
    // deno-lint-ignore no-this-alias
    const self = this;
    const job = async (id: string) => {
      await ready;
      const r = await self.#record(id);
      if (!r || r.kind !== kind) throw notFound(id);
      return r;
    };
    return {
      engine: "kv",
      kind,
      async submit(req: JobRequest<R>) {
        await ready;
        return self.view<R>(await self.#submit(kind, req, bounds));
      },
      async get(id) {
        await self.#sweep();
        const r = await job(id);
        if (r.state !== "queued") return self.view<R>(r);
        // place in the waiting line: the kind's queued jobs run in the order they came
        const ahead = (await self.#all()).filter((o) =>
          o.kind === kind && o.state === "queued" && o.createdAt < r.createdAt
        );
        return self.view<R>(r, ahead.length);
      },
      async result(id) {
        await self.#sweep();
        return await self.#withResult<R>(await job(id));
      },
      async *events(id) {
        await job(id);
        yield* self.#events(id);
      },
      async delete(id) {
        const r = await self.#record(id);
        if (!r || r.kind !== kind || r.state === "running") return false;
        await self.#remove(r);
        return true;
      },
      async settled(id) {
        await job(id);
        for await (const _ of self.#events(id)) { /* drain */ }
        return await self.#withResult<R>(await job(id));
      },
      close: () => self.close(),
    };
  }

  /** Stops listening and closes the database. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#kv.close();
    }
    return Promise.resolve();
  }

  /** A job as callers see it (no result). */
  view<R>(r: Record_, position?: number): Job<R> {
    return {
      id: r.id,
      state: r.state,
      createdAt: r.createdAt,
      ...(r.startedAt === undefined ? {} : { startedAt: r.startedAt }),
      ...(r.finishedAt === undefined ? {} : { finishedAt: r.finishedAt }),
      ...(r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt }),
      bytes: r.bytes,
      ...(position === undefined ? {} : { position }),
      ...(r.error ? { error: r.error, cause: errorOf(r.error) } : {}),
      meta: r.meta,
      attempts: r.attempts,
    };
  }

  async #record(id: string): Promise<Record_ | null> {
    return (await this.#kv.get<Record_>(["job", id])).value;
  }

  async #put(r: Record_): Promise<void> {
    await this.#kv.set(["job", r.id], r);
  }

  #blobDir(id: string): string {
    return `${this.dir}/blobs/${id}`;
  }

  async #writeFile(path: string, bytes: Uint8Array): Promise<void> {
    await Deno.writeFile(`${path}.part`, bytes);
    await Deno.rename(`${path}.part`, path);
  }

  async #all(): Promise<Record_[]> {
    const out: Record_[] = [];
    for await (const e of this.#kv.list<Record_>({ prefix: ["job"] })) out.push(e.value);
    return out;
  }

  async #submit<R>(kind: string, req: JobRequest<R>, bounds: StoreBounds): Promise<Record_> {
    await this.#sweep(true);
    const held = (await this.#all()).filter((r) => r.kind === kind);
    checkBounds(
      { jobs: held.length, bytes: held.reduce((n, r) => n + r.bytes, 0) },
      req.bytes,
      bounds,
    );
    const id = crypto.randomUUID();
    await Deno.mkdir(`${this.#blobDir(id)}/in`, { recursive: true });
    for (const [name, bytes] of Object.entries(req.inputs)) {
      await this.#writeFile(`${this.#blobDir(id)}/in/${safe(name)}`, bytes);
    }
    const r: Record_ = {
      id,
      kind,
      state: "queued",
      createdAt: Date.now(),
      attempts: 0,
      gen: 0,
      bytes: req.bytes,
      meta: req.meta ?? {},
      params: req.params,
      inputs: Object.keys(req.inputs),
      events: 0,
    };
    await this.#emit(r, { type: "state", state: "queued" });
    await this.#kv.enqueue({ id, gen: r.gen });
    return r;
  }

  /** Records an event (and the job's new event count) atomically, then wakes its listeners. */
  async #emit(r: Record_, ev: NewEvent): Promise<void> {
    // closed (the process stopping): the job stays as recorded and is run again on the next start
    if (this.#closed) return;
    const seq = r.events++;
    await this.#kv.atomic()
      .set(["event", r.id, seq], { ...ev, seq, at: Date.now() })
      .set(["job", r.id], r)
      .commit();
    for (const wake of [...(this.#wake.get(r.id) ?? [])]) wake();
  }

  async *#events(id: string): AsyncGenerator<JobEvent> {
    let next = 0;
    while (true) {
      const r = await this.#record(id);
      if (!r) return;
      for await (
        const e of this.#kv.list<JobEvent>({
          start: ["event", id, next],
          end: ["event", id, Number.MAX_SAFE_INTEGER],
        })
      ) {
        next = e.value.seq + 1;
        yield e.value;
        if (e.value.type === "done" || e.value.type === "failed") return;
      }
      // woken by this process's events at once; a poll covers another process's writes
      await new Promise<void>((resolve) => {
        const set = this.#wake.get(id) ?? new Set();
        this.#wake.set(id, set);
        const wake = () => {
          set.delete(wake);
          clearTimeout(timer);
          if (set.size === 0) this.#wake.delete(id);
          resolve();
        };
        const timer = setTimeout(wake, 500);
        set.add(wake);
      });
    }
  }

  async #withResult<R>(r: Record_): Promise<Job<R>> {
    const job = this.view<R>(r);
    if (r.state !== "done") return job;
    const dir = `${this.#blobDir(r.id)}/out`;
    const { json, blobs } = JSON.parse(await Deno.readTextFile(`${dir}/result.json`)) as {
      json: unknown;
      blobs: string[];
    };
    const bytes: Record<string, Uint8Array> = {};
    for (const b of blobs) bytes[b] = await Deno.readFile(`${dir}/${b}`);
    return { ...job, result: joinBlobs(json, bytes) as R };
  }

  /** Queues again what a previous process left queued or running. */
  async #recover(kind: string): Promise<void> {
    for (const r of await this.#all()) {
      if (r.kind !== kind || (r.state !== "queued" && r.state !== "running")) continue;
      const wasRunning = r.state === "running";
      r.gen++;
      r.state = "queued";
      delete r.startedAt;
      if (wasRunning) await this.#emit(r, { type: "state", state: "queued", reason: "restart" });
      else await this.#put(r);
      await this.#kv.enqueue({ id: r.id, gen: r.gen });
    }
  }

  #dispatch(msg: { id: string; gen: number }): void {
    // The message is taken now; the job record says what is left to do, and a restart redoes it.
    void this.#record(msg.id).then((r) => {
      const kind = r && this.#kinds.get(r.kind);
      if (!r || !kind || r.gen !== msg.gen || r.state !== "queued") return;
      kind.chain = kind.chain.then(() => this.#run(msg.id, msg.gen, kind)).catch(() => {});
    });
  }

  async #run(id: string, gen: number, kind: Kind): Promise<void> {
    if (this.#closed) return;
    const r = await this.#record(id);
    if (!r || r.gen !== gen || r.state !== "queued") return;
    r.state = "running";
    r.startedAt = Date.now();
    r.attempts++;
    await this.#emit(r, {
      type: "state",
      state: "running",
      ...(r.attempts > 1 ? { attempt: r.attempts } : {}),
    });
    const limit = runLimit(kind.bounds.maxRunMs);
    let pending: Promise<void> = Promise.resolve();
    try {
      await testDelay();
      const inputs: Record<string, Uint8Array> = {};
      for (const name of r.inputs) {
        inputs[name] = await Deno.readFile(`${this.#blobDir(id)}/in/${safe(name)}`);
      }
      const result = await kind.runner({ params: r.params, inputs }, {
        id,
        signal: limit.signal,
        progress: (stage, done, total) => {
          limit.check(stage);
          const ev: NewEvent = {
            type: "progress",
            stage,
            ...(done === undefined ? {} : { done }),
            ...(total === undefined ? {} : { total }),
          };
          pending = pending.then(() => this.#emit(r, ev));
          // handled here so a store closed while the runner still runs leaves no stray rejection;
          // the run awaits `pending` when the runner returns and sees the error then
          pending.catch(() => {});
        },
      });
      await pending;
      const { json, blobs } = splitBlobs(result);
      const out = `${this.#blobDir(id)}/out`;
      await Deno.mkdir(out, { recursive: true });
      for (const [b, bytes] of Object.entries(blobs)) await this.#writeFile(`${out}/${b}`, bytes);
      await this.#writeFile(
        `${out}/result.json`,
        new TextEncoder().encode(JSON.stringify({ json, blobs: Object.keys(blobs) })),
      );
      await Deno.remove(`${this.#blobDir(id)}/in`, { recursive: true }).catch(() => {});
      r.state = "done";
      r.bytes = Object.values(blobs).reduce((n, b) => n + b.byteLength, 0);
      this.#finish(r, kind);
      await this.#emit(r, { type: "done" });
    } catch (err) {
      if (this.#closed) return;
      await pending.catch(() => {});
      r.error = describeError(err, kind.bounds.statusOf);
      r.state = "failed";
      r.bytes = 0;
      this.#finish(r, kind);
      await this.#emit(r, { type: "failed", error: r.error });
    } finally {
      limit.stop();
    }
  }

  #finish(r: Record_, kind: Kind): void {
    r.finishedAt = Date.now();
    r.expiresAt = r.finishedAt + kind.bounds.ttlMs;
  }

  async #remove(r: Record_): Promise<void> {
    await this.#kv.delete(["job", r.id]);
    for await (const e of this.#kv.list({ prefix: ["event", r.id] })) await this.#kv.delete(e.key);
    await Deno.remove(this.#blobDir(r.id), { recursive: true }).catch(() => {});
    for (const wake of [...(this.#wake.get(r.id) ?? [])]) wake();
  }

  /** Forgets finished jobs past their time to live (at most once a second unless forced). */
  async #sweep(force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const r of await this.#all()) {
      if (r.expiresAt !== undefined && r.expiresAt <= now) await this.#remove(r);
    }
  }
}

const engines = new Map<string, Promise<KvEngine>>();

/** The process's engine for a directory (opened once). */
export function openKvEngine(dir: string): Promise<KvEngine> {
  let e = engines.get(dir);
  if (!e) {
    e = KvEngine.open(dir);
    engines.set(dir, e);
  }
  return e;
}

/** Closes and forgets the process's engine for a directory (tests). */
export async function closeKvEngine(dir: string): Promise<void> {
  const e = engines.get(dir);
  engines.delete(dir);
  if (e) await (await e).close();
}
