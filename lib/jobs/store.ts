/**
 * The one job API the routes use, whatever keeps the jobs: `submit`, `get`, `result`, `events`,
 * `delete`, `settled`. Three engines stand behind it (chosen by functions/_job_store.ts from the
 * environment): memory (queue.ts: one process owns its jobs, a restart forgets them), Deno KV on a
 * local directory (kv.ts: jobs survive a restart) and Redis with BullMQ (redis.ts: many origins on
 * one queue). A job's work is data, so that another process can do it: its `kind` ("volume",
 * "series"), JSON `params` and input blobs; the kind's runner turns them into the result. Results
 * are stored as JSON with their byte arrays split out as blobs (splitBlobs / joinBlobs).
 */
import {
  BadInputError,
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
  UnsupportedError,
  UpstreamError,
} from "../errors.ts";
import type { Job, JobContext, JobError, JobEvent, JobQueue } from "./queue.ts";

/** Which engine keeps the jobs. */
export type JobEngine = "memory" | "kv" | "redis";

/** A job's work as data: what a runner in any process needs to do it again. */
export interface JobRecipe {
  /** The kind of work ("volume", "series"): picks the runner. */
  kind: string;
  /** The work's parameters, JSON. */
  params: Record<string, unknown>;
  /** The input bytes by name (the request's files, as they came). */
  inputs: Record<string, Uint8Array>;
}

/** Does a kind's work from its params and inputs. */
export type JobRunner<R> = (
  work: { params: Record<string, unknown>; inputs: Record<string, Uint8Array> },
  ctx: JobContext,
) => Promise<R>;

/** What a route submits. */
export interface JobRequest<R> extends JobRecipe {
  /** Bytes the job holds against the bounds while it waits and runs. */
  bytes: number;
  /** Bytes the result holds once finished (memory engine; default 0). */
  resultBytes?: (result: R) => number;
  meta?: Record<string, unknown>;
  /**
   * The same work over inputs this process has already decoded: the memory engine runs it instead
   * of the kind's runner; engines that store the job always run the runner.
   */
  local?: (ctx: JobContext) => Promise<R>;
}

/** The job API of every engine. Ids of another kind are not found. */
export interface JobStore<R> {
  readonly engine: JobEngine;
  readonly kind: string;
  /** Queues a job (PayloadTooLargeError 413 or UnavailableError 503 when over the bounds). */
  submit(req: JobRequest<R>): Promise<Job<R>>;
  /** The job without its result (NotFoundError 404 for an unknown or expired id). */
  get(id: string): Promise<Job<R>>;
  /** The job with its result when done (and the error a failed one threw, as `cause`). */
  result(id: string): Promise<Job<R>>;
  /** Every event from the first, then live ones, ending after `done` or `failed`. */
  events(id: string): AsyncGenerator<JobEvent>;
  /** Forgets a finished or waiting job; false for a running one. */
  delete(id: string): Promise<boolean>;
  /** The job with its result once it has finished. */
  settled(id: string): Promise<Job<R>>;
  /** Stops taking work and lets go of connections (tests, shutdown). */
  close(): Promise<void>;
}

/**
 * The memory engine: the route's own bounded JobQueue, as before. The request's `local` work is
 * run when given (inputs already decoded), else the kind's runner.
 */
export function memoryStore<R>(
  kind: string,
  queue: JobQueue<R>,
  runner?: JobRunner<R>,
): JobStore<R> {
  return {
    engine: "memory",
    kind,
    submit(req) {
      const run = req.local ?? ((ctx: JobContext) => {
        if (!runner) throw new Error(`no runner for jobs of kind ${kind}`);
        return runner({ params: req.params, inputs: req.inputs }, ctx);
      });
      return Promise.resolve(queue.submit({
        bytes: req.bytes,
        run,
        resultBytes: req.resultBytes,
        meta: req.meta,
      }));
    },
    get: (id) => Promise.resolve(queue.get(id)),
    result: (id) => Promise.resolve(queue.get(id)),
    events: (id) => queue.events(id),
    delete: (id) => Promise.resolve(queue.delete(id)),
    settled: (id) => queue.settled(id),
    close: () => Promise.resolve(),
  };
}

/** The error classes by code, to throw a stored failure again as what it was. */
const ERRORS: Record<string, new (message: string, facts?: MedimgError["facts"]) => MedimgError> = {
  "bad-input": BadInputError,
  "invalid-input": InvalidInputError,
  "limit-exceeded": LimitExceededError,
  "unsupported": UnsupportedError,
  "payload-too-large": PayloadTooLargeError,
  "not-found": NotFoundError,
  "unavailable": UnavailableError,
  "upstream": UpstreamError,
};

/**
 * The error a stored failure stands for: the library error of its code (same message and facts),
 * else a plain Error (an internal failure).
 * @example errorOf({ code: "invalid-input", message: "shapes differ" }) // InvalidInputError
 */
export function errorOf(e: JobError): Error {
  const Class = ERRORS[e.code];
  if (Class) return new Class(e.message, (e.facts ?? {}) as MedimgError["facts"]);
  return new Error(e.message);
}

/** NotFoundError for a job id this store does not have. */
export function notFound(id: string): NotFoundError {
  return new NotFoundError(`no job ${JSON.stringify(id)} here: unknown, or expired`, { job: id });
}

/** The bounds every engine applies at submit, and the 413/503 they throw. */
export function checkBounds(
  held: { jobs: number; bytes: number },
  bytes: number,
  max: { maxJobs: number; maxBytes: number },
): void {
  if (bytes > max.maxBytes) {
    throw new PayloadTooLargeError(
      `the job holds ${bytes} bytes, over the queue's bound of ${max.maxBytes}`,
      { limit: max.maxBytes },
    );
  }
  if (held.jobs >= max.maxJobs || held.bytes + bytes > max.maxBytes) {
    throw new UnavailableError(
      `the job queue is full (${held.jobs} of ${max.maxJobs} jobs, ${held.bytes} of ${max.maxBytes} bytes held); retry when a job has finished or expired`,
      { retry_after: 30, jobs: held.jobs, max_jobs: max.maxJobs },
    );
  }
}

/** A value as JSON with its Uint8Arrays taken out as named blobs ({"$blob": "b0"} in their place). */
export function splitBlobs(value: unknown): { json: unknown; blobs: Record<string, Uint8Array> } {
  const blobs: Record<string, Uint8Array> = {};
  let n = 0;
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) {
      const name = `b${n++}`;
      blobs[name] = v;
      return { $blob: name };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return { json: walk(value), blobs };
}

/** The value {@link splitBlobs} split, with its blobs put back. */
export function joinBlobs(json: unknown, blobs: Record<string, Uint8Array>): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.$blob === "string" && Object.keys(o).length === 1) {
        const b = blobs[o.$blob];
        if (!b) throw new Error(`the stored result lacks its blob ${o.$blob}`);
        return b;
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(json);
}

/**
 * A pause before a job's work, for tests that must catch a job while it runs
 * (MEDIMG_JOBS_TEST_DELAY_MS; never set in a deployment).
 */
export async function testDelay(): Promise<void> {
  let ms = 0;
  try {
    ms = Number(Deno.env.get("MEDIMG_JOBS_TEST_DELAY_MS") ?? 0);
  } catch {
    return;
  }
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/**
 * The limit on a job's run time as JobQueue applies it: an abort signal, and a progress callback
 * that throws once the limit has passed. `stop()` clears the timer.
 */
export function runLimit(maxRunMs: number) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), maxRunMs);
  try {
    Deno.unrefTimer(timer);
  } catch {
    // cleared when the job ends
  }
  return {
    signal: abort.signal,
    check(stage: string) {
      if (abort.signal.aborted) {
        throw new UnavailableError(
          `the job ran past its limit of ${maxRunMs} ms and was stopped`,
          { stage, max_run_ms: maxRunMs },
        );
      }
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * A store that opens now, in the background (engines that connect or open files asynchronously,
 * behind routes made synchronously): its worker takes jobs before any request comes, and a
 * failure to open is thrown by every call.
 */
export function lazyStore<R>(
  engine: JobEngine,
  kind: string,
  open: () => Promise<JobStore<R>>,
): JobStore<R> {
  const s = open();
  s.catch(() => {/* thrown by every call */});
  const store = () => s;
  return {
    engine,
    kind,
    submit: async (req) => (await store()).submit(req),
    get: async (id) => (await store()).get(id),
    result: async (id) => (await store()).result(id),
    async *events(id) {
      yield* (await store()).events(id);
    },
    delete: async (id) => (await store()).delete(id),
    settled: async (id) => (await store()).settled(id),
    close: async () => await (await s).close(),
  };
}
