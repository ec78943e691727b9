/**
 * A bounded in-memory job queue for work too long for one request (3D segmentation): jobs run one
 * (or `concurrency`) at a time in arrival order; the number of jobs held and the bytes they hold
 * (inputs while waiting or running, results until fetched or expired) are capped; finished jobs
 * expire after a time to live; a failed job keeps why it failed; progress is a list of events that
 * a listener can replay from the start and then follow live (what Server-Sent Events need).
 * In memory on purpose: one origin process owns its jobs; a restart forgets them. Expired jobs are
 * swept on every call (no timers are left behind).
 */
import {
  MedimgError,
  NotFoundError,
  PayloadTooLargeError,
  type ProblemFacts,
  UnavailableError,
} from "../errors.ts";

/** Where a job is. `expired` is only ever reported by lookups of a removed job's id. */
export type JobState = "queued" | "running" | "done" | "failed";

/**
 * One event of a job's life, in order; `seq` counts from 0. `state` events say queued and running;
 * the last event is `done` or `failed`.
 */
export type JobEvent =
  | {
    seq: number;
    type: "state";
    state: JobState;
    /** The run this is (engines that store jobs re-run one a crash stopped: 2, 3, ...). */
    attempt?: number;
    /** Why a job is queued again ("restart": its process stopped while it ran). */
    reason?: string;
    at: number;
  }
  | { seq: number; type: "progress"; stage: string; done?: number; total?: number; at: number }
  | { seq: number; type: "done"; at: number }
  | { seq: number; type: "failed"; error: JobError; at: number };

/** A job event before the queue numbers and stamps it. */
export type NewEvent = JobEvent extends infer E ? E extends JobEvent ? Omit<E, "seq" | "at"> : never
  : never;

/** Why a job failed: the library error's code and message (code "internal" for anything else). */
export interface JobError {
  code: string;
  message: string;
  /** The HTTP status the error maps to, when the queue was given a mapping. */
  status?: number;
  facts?: ProblemFacts;
}

/** What a running job's work function gets. */
export interface JobContext {
  id: string;
  /** Reports a stage and optionally how much of it is done. */
  progress(stage: string, done?: number, total?: number): void;
  /** Aborted when the job runs past `maxRunMs`. */
  signal: AbortSignal;
}

/** A job as callers see it. */
export interface Job<R> {
  id: string;
  state: JobState;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a finished job will be forgotten (ms since the epoch). */
  expiresAt?: number;
  /** Bytes the job holds against the queue's byte bound. */
  bytes: number;
  /** Place in the waiting line (0 = next), while queued. */
  position?: number;
  result?: R;
  error?: JobError;
  /** The error a failed job threw, to re-throw where its typed mapping is wanted. */
  cause?: unknown;
  /** Free-form facts the submitter attached (model name, shapes). */
  meta: Record<string, unknown>;
  /** Runs started so far (engines that store jobs; a crash and restart makes it 2). */
  attempts?: number;
}

/** Bounds and timings of a {@link JobQueue}. */
export interface JobQueueOptions {
  /** Jobs held at once, waiting, running or finished (default 16). */
  maxJobs?: number;
  /** Bytes held at once by all jobs (default 1 GiB). */
  maxBytes?: number;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** How long a finished job (result or failure) is kept, ms (default 15 minutes). */
  ttlMs?: number;
  /** A job running longer is aborted and fails, ms (default 30 minutes). */
  maxRunMs?: number;
  /** HTTP status of a library error, to put in failure reasons (default: none). */
  statusOf?: (err: MedimgError) => number;
  /** Clock (tests). */
  now?: () => number;
}

/** What a job submits: the bytes it holds while it waits and runs, and the work. */
export interface JobSpec<R> {
  /** Bytes of input held until the job finishes. */
  bytes: number;
  /** The work; its result is kept until the job expires. */
  run: (ctx: JobContext) => Promise<R>;
  /** Bytes the result holds once finished (default 0). */
  resultBytes?: (result: R) => number;
  meta?: Record<string, unknown>;
}

interface Entry<R> {
  job: Job<R>;
  spec?: JobSpec<R>;
  events: JobEvent[];
  listeners: Set<() => void>;
}

/**
 * Why a job failed, from what it threw: a library error keeps its code, message and facts (and
 * the status `statusOf` gives); anything else is "internal", named by its class only.
 * @example describeError(new InvalidInputError("shapes differ")) // { code: "invalid-input", ... }
 */
export function describeError(err: unknown, statusOf?: (e: MedimgError) => number): JobError {
  if (err instanceof MedimgError) {
    return {
      code: err.code,
      message: err.message,
      ...(statusOf ? { status: statusOf(err) } : {}),
      ...(Object.keys(err.facts).length ? { facts: err.facts } : {}),
    };
  }
  const name = err instanceof Error ? err.name : "Error";
  return {
    code: "internal",
    ...(statusOf ? { status: 500 } : {}),
    message: `the job failed unexpectedly (${name})`,
  };
}

/**
 * The queue. Submit work, look jobs up, follow their events.
 * @example
 * const q = new JobQueue<Uint8Array>({ maxJobs: 8, maxBytes: 512 << 20 });
 * const job = q.submit({ bytes: body.length, run: async (ctx) => { ctx.progress("infer", 1, 4); return out; } });
 * for await (const ev of q.events(job.id)) console.log(ev);
 */
export class JobQueue<R> {
  readonly maxJobs: number;
  readonly maxBytes: number;
  readonly concurrency: number;
  readonly ttlMs: number;
  readonly maxRunMs: number;
  #jobs = new Map<string, Entry<R>>();
  #waiting: string[] = [];
  #running = 0;
  #now: () => number;
  #statusOf?: (err: MedimgError) => number;

  constructor(options: JobQueueOptions = {}) {
    this.maxJobs = options.maxJobs ?? 16;
    this.maxBytes = options.maxBytes ?? 2 ** 30;
    this.concurrency = options.concurrency ?? 1;
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
    this.maxRunMs = options.maxRunMs ?? 30 * 60_000;
    this.#now = options.now ?? Date.now;
    this.#statusOf = options.statusOf;
  }

  /** Bytes held by all jobs now. */
  get bytes(): number {
    let n = 0;
    for (const e of this.#jobs.values()) n += e.job.bytes;
    return n;
  }

  /** Jobs held now. */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Queues a job, or throws: PayloadTooLargeError when it alone is over the byte bound,
   * UnavailableError (503, with retry_after) when the queue is full by count or bytes.
   */
  submit(spec: JobSpec<R>): Job<R> {
    this.sweep();
    if (spec.bytes > this.maxBytes) {
      throw new PayloadTooLargeError(
        `the job holds ${spec.bytes} bytes, over the queue's bound of ${this.maxBytes}`,
        { limit: this.maxBytes },
      );
    }
    if (this.#jobs.size >= this.maxJobs || this.bytes + spec.bytes > this.maxBytes) {
      throw new UnavailableError(
        `the job queue is full (${this.#jobs.size} of ${this.maxJobs} jobs, ${this.bytes} of ${this.maxBytes} bytes held); retry when a job has finished or expired`,
        { retry_after: 30, jobs: this.#jobs.size, max_jobs: this.maxJobs },
      );
    }
    const id = crypto.randomUUID();
    const job: Job<R> = {
      id,
      state: "queued",
      createdAt: this.#now(),
      bytes: spec.bytes,
      meta: spec.meta ?? {},
    };
    this.#jobs.set(id, { job, spec, events: [], listeners: new Set() });
    this.#emit(id, { type: "state", state: "queued" });
    this.#waiting.push(id);
    this.#pump();
    return this.get(id);
  }

  /** A snapshot of the job, or NotFoundError (404) for an unknown or expired id. */
  get(id: string): Job<R> {
    this.sweep();
    const e = this.#jobs.get(id);
    if (!e) {
      throw new NotFoundError(`no job ${JSON.stringify(id)} here: unknown, or expired`, {
        job: id,
      });
    }
    const position = e.job.state === "queued" ? this.#waiting.indexOf(id) : undefined;
    return { ...e.job, ...(position === undefined ? {} : { position }) };
  }

  /** Removes a finished job now (its result was delivered); a waiting job is cancelled. */
  delete(id: string): boolean {
    const e = this.#jobs.get(id);
    if (!e || e.job.state === "running") return false;
    this.#waiting = this.#waiting.filter((w) => w !== id);
    this.#remove(id);
    return true;
  }

  /**
   * Every event of the job from the first, then live ones, ending after `done` or `failed`
   * (or when the job is removed).
   */
  async *events(id: string): AsyncGenerator<JobEvent> {
    this.get(id);
    let next = 0;
    while (true) {
      const e = this.#jobs.get(id);
      if (!e) return;
      while (next < e.events.length) {
        const ev = e.events[next++];
        yield ev;
        if (ev.type === "done" || ev.type === "failed") return;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          e.listeners.delete(wake);
          resolve();
        };
        e.listeners.add(wake);
      });
    }
  }

  /** Resolves with the job once it has finished (done or failed). */
  async settled(id: string): Promise<Job<R>> {
    for await (const _ of this.events(id)) { /* drain */ }
    return this.get(id);
  }

  /** Forgets finished jobs past their time to live. */
  sweep(): void {
    const now = this.#now();
    for (const [id, e] of this.#jobs) {
      if (e.job.expiresAt !== undefined && e.job.expiresAt <= now) this.#remove(id);
    }
  }

  #remove(id: string): void {
    const e = this.#jobs.get(id);
    if (!e) return;
    this.#jobs.delete(id);
    for (const wake of [...e.listeners]) wake();
  }

  #emit(id: string, ev: NewEvent): void {
    const e = this.#jobs.get(id);
    if (!e) return;
    e.events.push({ ...ev, seq: e.events.length, at: this.#now() } as JobEvent);
    for (const wake of [...e.listeners]) wake();
  }

  #pump(): void {
    while (this.#running < this.concurrency && this.#waiting.length > 0) {
      const id = this.#waiting.shift()!;
      const e = this.#jobs.get(id);
      if (!e?.spec) continue;
      this.#running++;
      this.#start(id, e).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  async #start(id: string, e: Entry<R>): Promise<void> {
    const spec = e.spec!;
    const abort = new AbortController();
    const limit = setTimeout(() => abort.abort(), this.maxRunMs);
    try {
      Deno.unrefTimer(limit);
    } catch {
      // Platforms without unrefTimer keep the timer; it is cleared when the job ends.
    }
    e.job.state = "running";
    e.job.startedAt = this.#now();
    this.#emit(id, { type: "state", state: "running" });
    const ctx: JobContext = {
      id,
      signal: abort.signal,
      progress: (stage, done, total) => {
        if (abort.signal.aborted) {
          throw new UnavailableError(
            `the job ran past its limit of ${this.maxRunMs} ms and was stopped`,
            { stage, max_run_ms: this.maxRunMs },
          );
        }
        this.#emit(id, {
          type: "progress",
          stage,
          ...(done === undefined ? {} : { done }),
          ...(total === undefined ? {} : { total }),
        });
      },
    };
    try {
      // Let the submitter answer (202) before synchronous work starts.
      await new Promise((r) => setTimeout(r, 0));
      const result = await spec.run(ctx);
      e.job.result = result;
      e.job.bytes = spec.resultBytes?.(result) ?? 0;
      e.job.state = "done";
      this.#finish(e);
      this.#emit(id, { type: "done" });
    } catch (err) {
      e.job.error = describeError(err, this.#statusOf);
      e.job.cause = err;
      e.job.bytes = 0;
      e.job.state = "failed";
      this.#finish(e);
      this.#emit(id, { type: "failed", error: e.job.error });
    } finally {
      clearTimeout(limit);
      e.spec = undefined;
    }
  }

  #finish(e: Entry<R>): void {
    e.job.finishedAt = this.#now();
    e.job.expiresAt = e.job.finishedAt + this.ttlMs;
  }
}
