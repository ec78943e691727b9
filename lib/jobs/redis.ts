/**
 * Many origins on one queue: Redis with BullMQ (npm:bullmq). Each kind is a BullMQ queue
 * (`medimg-<kind>`); every origin that serves the kind runs one worker on it (one job at a time)
 * and answers any job's status, events and result from Redis, whichever origin took the job and
 * whichever runs it. A job's inputs and result are stored in Redis when small (up to
 * MEDIMG_JOBS_BLOB_MAX bytes, default 1 MiB), else as files under MEDIMG_JOBS_SHARED_DIR (a
 * path every origin mounts) when set; its events are a Redis list, replayed from the first, and
 * QueueEvents (BullMQ progress, completed, failed) wakes the listeners of every origin. A worker
 * that dies holding a job stops renewing its lock; once the lock expires (MEDIMG_JOBS_LOCK_MS,
 * default 30 s) another worker's stalled-job check puts the job back and it runs again, its
 * attempt counted (up to MEDIMG_JOBS_MAX_STALLED times, default 2). The lock must outlast the
 * longest stretch a job blocks its event loop (a synchronous step): a live worker that misses its
 * renewal has its job run twice (same result; inputs are kept until the job expires for that).
 * Loaded only when MEDIMG_REDIS_URL is set.
 */
import { Buffer } from "node:buffer";
import { type Job as BullJob, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
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
import type { StoreBounds } from "./kv.ts";
import type { JobError } from "./queue.ts";

/** Where Redis is and how blobs and locks are kept. */
export interface RedisOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Blobs larger than this go to `sharedDir` when it is set (default 1 MiB). */
  blobMax?: number;
  /** A directory every origin mounts, for large inputs and results. */
  sharedDir?: string;
  /** Worker lock, ms: how soon a dead worker's job is retried (default 30000). */
  lockMs?: number;
  /** Times a job may be retried after its worker died (default 2). */
  maxStalled?: number;
}

type Ref = { redis: string } | { file: string };

interface JobData {
  params: Record<string, unknown>;
  inputs: Record<string, Ref>;
  meta: Record<string, unknown>;
  bytes: number;
}

/** The commands used of BullMQ's client (ioredis). */
interface RedisClient {
  set(key: string, value: Uint8Array, ex?: "EX", seconds?: number): Promise<unknown>;
  getBuffer(key: string): Promise<Uint8Array | null>;
  del(...keys: string[]): Promise<number>;
  rpush(key: string, value: string): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  expire(key: string, seconds: number): Promise<number>;
}

interface Stored {
  json: unknown;
  blobs: Record<string, Ref>;
}

/** ioredis options from a redis:// URL. */
function connectionOf(url: string) {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || 0);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

const STATES: Record<string, JobState> = { active: "running", completed: "done", failed: "failed" };

/**
 * The JobStore of a kind on Redis; starts this process's worker for the kind.
 * @example redisStore("volume", runVolume, bounds, { url: "redis://127.0.0.1:6379" })
 */
export function redisStore<R>(
  kind: string,
  runner: JobRunner<R>,
  bounds: StoreBounds,
  options: RedisOptions,
): JobStore<R> {
  const connection = connectionOf(options.url);
  const name = `medimg-${kind}`;
  const prefix = `medimg:${kind}`;
  const blobMax = options.blobMax ?? 1 << 20;
  const lockMs = options.lockMs ?? 30_000;
  const ttlS = Math.max(1, Math.ceil(bounds.ttlMs / 1000));
  const queue = new Queue(name, { connection });
  const queueEvents = new QueueEvents(name, { connection });
  const wake = new Map<string, Set<() => void>>();
  const notify = ({ jobId }: { jobId: string }) => {
    for (const w of [...(wake.get(jobId) ?? [])]) w();
  };
  for (const ev of ["progress", "active", "completed", "failed", "waiting", "removed"] as const) {
    queueEvents.on(ev, notify as never);
  }
  queueEvents.on("error", () => {/* reconnects */});
  const client = async () => (await queue.client) as unknown as RedisClient;
  const eventsKey = (id: string) => `${prefix}:events:${id}`;

  async function put(id: string, what: string, bytes: Uint8Array, expire?: number): Promise<Ref> {
    if (options.sharedDir && bytes.byteLength > blobMax) {
      const dir = `${options.sharedDir}/${id}`;
      await Deno.mkdir(dir, { recursive: true });
      const file = `${dir}/${what.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
      await Deno.writeFile(`${file}.part`, bytes);
      await Deno.rename(`${file}.part`, file);
      return { file };
    }
    const key = `${prefix}:blob:${id}:${what}`;
    const c = await client();
    if (expire) await c.set(key, Buffer.from(bytes), "EX", expire);
    else await c.set(key, Buffer.from(bytes));
    return { redis: key };
  }

  async function take(ref: Ref): Promise<Uint8Array> {
    if ("file" in ref) return await Deno.readFile(ref.file);
    const b = await (await client()).getBuffer(ref.redis);
    if (!b) throw new Error(`the stored blob ${ref.redis} is gone`);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  async function drop(refs: Ref[]): Promise<void> {
    const keys = refs.flatMap((r) => ("redis" in r ? [r.redis] : []));
    if (keys.length) await (await client()).del(...keys);
    for (const r of refs) if ("file" in r) await Deno.remove(r.file).catch(() => {});
  }

  /**
   * A finished job's inputs and events expire with it. The inputs are kept until then, not
   * dropped: a worker that lost its lock (its event loop blocked past it) may still be running
   * the job beside its retry, and both must be able to read them.
   */
  async function expire(id: string, inputs: Record<string, Ref>): Promise<void> {
    const c = await client();
    for (const r of Object.values(inputs)) if ("redis" in r) await c.expire(r.redis, ttlS + 60);
    await c.expire(eventsKey(id), ttlS + 60);
  }

  /** Removes the shared directory's job folders older than a job can live. */
  async function sweepShared(): Promise<void> {
    if (!options.sharedDir) return;
    const old = Date.now() - bounds.maxRunMs - bounds.ttlMs - 60_000;
    for await (const e of Deno.readDir(options.sharedDir)) {
      const path = `${options.sharedDir}/${e.name}`;
      const st = await Deno.stat(path);
      if (st.mtime && st.mtime.getTime() < old) await Deno.remove(path, { recursive: true });
    }
  }

  async function push(id: string, ev: NewEvent): Promise<number> {
    const n = await (await client()).rpush(
      eventsKey(id),
      JSON.stringify({ ...ev, at: Date.now() }),
    );
    return n - 1;
  }

  const worker = new Worker<JobData, Stored>(
    name,
    async (job: BullJob<JobData, Stored>) => {
      const id = job.id!;
      const attempt = job.attemptsStarted;
      await push(id, { type: "state", state: "running", ...(attempt > 1 ? { attempt } : {}) });
      const limit = runLimit(bounds.maxRunMs);
      let pending: Promise<unknown> = Promise.resolve();
      try {
        await testDelay();
        const inputs: Record<string, Uint8Array> = {};
        for (const [k, ref] of Object.entries(job.data.inputs)) inputs[k] = await take(ref);
        const result = await runner({ params: job.data.params, inputs }, {
          id,
          signal: limit.signal,
          progress: (stage, done, total) => {
            limit.check(stage);
            const ev = {
              type: "progress" as const,
              stage,
              ...(done === undefined ? {} : { done }),
              ...(total === undefined ? {} : { total }),
            };
            pending = pending.then(() => push(id, ev)).then((seq) => job.updateProgress({ seq }));
            // handled here so a connection closed while the runner still runs leaves no stray
            // rejection; the run awaits `pending` when the runner returns and sees the error then
            pending.catch(() => {});
          },
        });
        await pending;
        const { json, blobs } = splitBlobs(result);
        const refs: Record<string, Ref> = {};
        for (const [b, bytes] of Object.entries(blobs)) {
          refs[b] = await put(id, `result-${b}`, bytes, ttlS + 60);
        }
        await expire(id, job.data.inputs);
        return { json, blobs: refs };
      } catch (err) {
        await pending.catch(() => {});
        await expire(id, job.data.inputs).catch(() => {});
        throw new UnrecoverableError(JSON.stringify(describeError(err, bounds.statusOf)));
      } finally {
        limit.stop();
        await sweepShared().catch(() => {});
      }
    },
    {
      connection,
      concurrency: 1,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: options.maxStalled ?? 2,
    },
  );
  worker.on("error", () => {/* reconnects; jobs are retried by their lock */});

  async function bull(id: string): Promise<BullJob<JobData, Stored>> {
    const job = await queue.getJob(id) as BullJob<JobData, Stored> | undefined;
    if (!job || job.name !== kind) throw notFound(id);
    // BullMQ removes an expired job only when a later one finishes; its blobs expire on time
    if (job.finishedOn && job.finishedOn + bounds.ttlMs <= Date.now()) throw notFound(id);
    return job;
  }

  function errorFrom(job: BullJob): JobError {
    try {
      const e = JSON.parse(job.failedReason) as JobError;
      if (typeof e.code === "string" && typeof e.message === "string") return e;
    } catch { /* not ours: BullMQ's own reason (stalled too often) */ }
    return {
      code: "internal",
      ...(bounds.statusOf ? { status: 500 } : {}),
      message: `the job failed: ${job.failedReason}`,
    };
  }

  async function view(job: BullJob<JobData, Stored>): Promise<Job<R>> {
    const raw = await job.getState();
    const state = STATES[raw] ?? "queued";
    // place in the waiting line: the waiting jobs run in the order they came
    const position = raw === "waiting"
      ? (await queue.getWaiting()).filter((w) => w.timestamp < job.timestamp).length
      : undefined;
    const error = state === "failed" ? errorFrom(job) : undefined;
    const finished = state === "done" || state === "failed";
    return {
      id: job.id!,
      state,
      createdAt: job.timestamp,
      ...(job.processedOn && state !== "queued" ? { startedAt: job.processedOn } : {}),
      ...(finished && job.finishedOn
        ? { finishedAt: job.finishedOn, expiresAt: job.finishedOn + bounds.ttlMs }
        : {}),
      bytes: job.data.bytes,
      ...(position === undefined ? {} : { position }),
      ...(error ? { error, cause: errorOf(error) } : {}),
      meta: job.data.meta,
      attempts: job.attemptsStarted,
    };
  }

  async function withResult(job: BullJob<JobData, Stored>): Promise<Job<R>> {
    const v = await view(job);
    if (v.state !== "done") return v;
    const stored = job.returnvalue;
    const bytes: Record<string, Uint8Array> = {};
    for (const [b, ref] of Object.entries(stored.blobs)) bytes[b] = await take(ref);
    return { ...v, result: joinBlobs(stored.json, bytes) as R };
  }

  async function* events(id: string): AsyncGenerator<JobEvent> {
    let next = 0;
    while (true) {
      const job = await queue.getJob(id) as BullJob<JobData, Stored> | undefined;
      if (!job) return;
      const raw = await job.getState(); // before the list: a finished job's events are all in it
      const list = await (await client()).lrange(eventsKey(id), next, -1);
      for (const s of list) yield { ...JSON.parse(s), seq: next++ } as JobEvent;
      if (raw === "completed") {
        yield { seq: next, type: "done", at: job.finishedOn ?? Date.now() };
        return;
      }
      if (raw === "failed") {
        yield {
          seq: next,
          type: "failed",
          error: errorFrom(job),
          at: job.finishedOn ?? Date.now(),
        };
        return;
      }
      await new Promise<void>((resolve) => {
        const set = wake.get(id) ?? new Set();
        wake.set(id, set);
        const w = () => {
          set.delete(w);
          if (set.size === 0) wake.delete(id);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(w, 1000);
        set.add(w);
      });
    }
  }

  return {
    engine: "redis",
    kind,
    async submit(req: JobRequest<R>) {
      const counts = await queue.getJobCounts(
        "waiting",
        "active",
        "delayed",
        "prioritized",
        "completed",
        "failed",
      );
      const jobs = Object.values(counts).reduce((n, c) => n + c, 0);
      checkBounds({ jobs, bytes: 0 }, req.bytes, bounds);
      const id = crypto.randomUUID();
      const inputs: Record<string, Ref> = {};
      for (const [k, bytes] of Object.entries(req.inputs)) {
        inputs[k] = await put(id, `in-${k}`, bytes);
      }
      await push(id, { type: "state", state: "queued" });
      const job = await queue.add(kind, {
        params: req.params,
        inputs,
        meta: req.meta ?? {},
        bytes: req.bytes,
      }, {
        jobId: id,
        attempts: 1,
        removeOnComplete: { age: ttlS },
        removeOnFail: { age: ttlS },
      });
      return await view(job as BullJob<JobData, Stored>);
    },
    get: async (id) => await view(await bull(id)),
    result: async (id) => await withResult(await bull(id)),
    async *events(id) {
      await bull(id);
      yield* events(id);
    },
    async delete(id) {
      const job = await queue.getJob(id) as BullJob<JobData, Stored> | undefined;
      if (!job || job.name !== kind) return false;
      if ((await job.getState()) === "active") return false;
      const refs = [
        ...Object.values(job.data.inputs),
        ...Object.values(job.returnvalue?.blobs ?? {}),
      ];
      await job.remove();
      await drop(refs);
      await (await client()).del(eventsKey(id));
      if (options.sharedDir) {
        await Deno.remove(`${options.sharedDir}/${id}`, { recursive: true }).catch(() => {});
      }
      return true;
    },
    async settled(id) {
      await bull(id);
      for await (const _ of events(id)) { /* drain */ }
      return await withResult(await bull(id));
    },
    async close() {
      await worker.close(true);
      await queueEvents.close();
      await queue.close();
    },
  };
}
