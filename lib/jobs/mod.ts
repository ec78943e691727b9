/** Jobs: the bounded in-memory queue for work longer than one request (see queue.ts). */
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
