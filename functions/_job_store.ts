/**
 * Which engine keeps this process's jobs, from the environment, and the registry of job kinds:
 * each route set names its kind ("volume", "series") and the runner that does a kind's work from
 * its stored params and inputs, so that a job taken by one process can run in another.
 *
 * - `MEDIMG_REDIS_URL` set: Redis with BullMQ (lib/jobs/redis.ts), many origins on one queue; large
 *   inputs and results under `MEDIMG_JOBS_SHARED_DIR` when set (over `MEDIMG_JOBS_BLOB_MAX`
 *   bytes, default 1 MiB); a dead worker's job is retried once its lock (`MEDIMG_JOBS_LOCK_MS`,
 *   default 30000) expires, up to `MEDIMG_JOBS_MAX_STALLED` times (default 2).
 * - else `MEDIMG_JOBS_DIR` set: Deno KV in that directory (lib/jobs/kv.ts; needs `--unstable-kv`),
 *   jobs survive a restart. The container (Dockerfile) sets it: the self-hosted origin's default.
 * - else memory (lib/jobs/queue.ts): tests and edge functions; a restart forgets the jobs.
 */
import { env, envInt } from "../lib/http/mod.ts";
import { statusFor } from "../lib/http/problem.ts";
import {
  JobQueue,
  type JobRunner,
  type JobStore,
  lazyStore,
  memoryStore,
} from "../lib/jobs/mod.ts";
import { openKvEngine } from "../lib/jobs/kv.ts";

/** A kind's bounds (the memory engine's JobQueueOptions; KV and Redis apply them too). */
export interface JobBounds {
  maxJobs: number;
  maxBytes: number;
  ttlMs: number;
  maxRunMs: number;
}

/** The stores that hold connections or a database open, closed on SIGTERM and SIGINT. */
const open = new Set<JobStore<unknown>>();

/**
 * Closes the open stores when the process is asked to stop (as lib/http's serve stops the
 * server), else the KV queue listener or the Redis connections would keep it alive. A job
 * running then is left as running: the next start (KV) or another origin (Redis) runs it again.
 */
function closeOnStop(store: JobStore<unknown>): void {
  if (open.size === 0) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      try {
        Deno.addSignalListener(signal, () => {
          for (const s of [...open]) void s.close().catch(() => {});
          open.clear();
        });
      } catch {
        // no signals here
      }
    }
  }
  open.add(store);
}

/**
 * The job kinds of this process and their runners: the engines run a stored job through this
 * registry, by its kind, at the time it runs (the route set made last names the runner).
 */
export const jobKinds: Map<string, JobRunner<unknown>> = new Map();

/** The runner of a kind as registered when the job runs. */
function registered<R>(kind: string): JobRunner<R> {
  return (work, ctx) => {
    const run = jobKinds.get(kind);
    if (!run) throw new Error(`no runner for jobs of kind ${kind} in this process`);
    return run(work, ctx) as Promise<R>;
  };
}

/**
 * The job store of a kind: `queue` when given (tests), else the engine the environment names.
 * @example const jobs = jobStore("volume", runVolumeJob, { maxJobs: 8, ... })
 */
export function jobStore<R>(
  kind: string,
  runner: JobRunner<R>,
  bounds: JobBounds,
  queue?: JobQueue<R>,
): JobStore<R> {
  jobKinds.set(kind, runner as JobRunner<unknown>);
  const run = registered<R>(kind);
  if (queue) return memoryStore(kind, queue, run);
  const full = { ...bounds, statusOf: statusFor };
  const url = env("MEDIMG_REDIS_URL");
  if (url) {
    return opened(lazyStore("redis", kind, async () => {
      const { redisStore } = await import("../lib/jobs/redis.ts");
      return redisStore(kind, run, full, {
        url,
        sharedDir: env("MEDIMG_JOBS_SHARED_DIR"),
        blobMax: envInt("MEDIMG_JOBS_BLOB_MAX", 1 << 20),
        lockMs: envInt("MEDIMG_JOBS_LOCK_MS", 30_000),
        maxStalled: envInt("MEDIMG_JOBS_MAX_STALLED", 2),
      });
    }));
  }
  const dir = env("MEDIMG_JOBS_DIR");
  if (dir) {
    return opened(
      lazyStore("kv", kind, async () => (await openKvEngine(dir)).store(kind, run, full)),
    );
  }
  return memoryStore(kind, new JobQueue<R>(full), run);
}

function opened<R>(store: JobStore<R>): JobStore<R> {
  closeOnStop(store as JobStore<unknown>);
  return store;
}
