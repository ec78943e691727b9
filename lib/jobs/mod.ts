/**
 * Jobs: the one job API (store.ts) over three engines: the bounded in-memory queue (queue.ts),
 * Deno KV on a local directory (kv.ts) and Redis with BullMQ (redis.ts, imported only where
 * MEDIMG_REDIS_URL asks for it).
 */
export {
  describeError,
  type Job,
  type JobContext,
  type JobError,
  type JobEvent,
  JobQueue,
  type JobQueueOptions,
  type JobSpec,
  type JobState,
} from "./queue.ts";
export {
  errorOf,
  type JobEngine,
  type JobRecipe,
  type JobRequest,
  type JobRunner,
  type JobStore,
  joinBlobs,
  lazyStore,
  memoryStore,
  splitBlobs,
} from "./store.ts";
