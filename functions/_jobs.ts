/**
 * What every job route answers, whatever its work (/segment/volume, /segment/series): a job's JSON
 * view with its links, its events as Server-Sent Events (state, progress, then result or error),
 * and the choice between a finished job's file and its JSON numbers. The store is used through
 * get/result/events only, so these work on any engine (lib/jobs/store.ts).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { AppEnv } from "../lib/http/mod.ts";
import type { Job, JobStore } from "../lib/jobs/mod.ts";

/** What the job answers read of a store. */
export type JobReader<R> = Pick<JobStore<R>, "get" | "result" | "events">;

/** The JSON view of a job under `base` (its jobs path), with its links. */
export function jobView<R>(job: Job<R>, base: string) {
  return {
    id: job.id,
    state: job.state,
    ...(job.position === undefined ? {} : { position: job.position }),
    model: job.meta.model,
    shape: job.meta.shape,
    created_at: new Date(job.createdAt).toISOString(),
    ...(job.startedAt ? { started_at: new Date(job.startedAt).toISOString() } : {}),
    ...(job.finishedAt ? { finished_at: new Date(job.finishedAt).toISOString() } : {}),
    ...(job.expiresAt ? { expires_at: new Date(job.expiresAt).toISOString() } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.attempts === undefined ? {} : { attempts: job.attempts }),
    links: {
      self: `${base}/${job.id}`,
      events: `${base}/${job.id}`,
      result: `${base}/${job.id}/result`,
    },
  };
}

/**
 * A finished job's answer format: `f` (from ?format=, validated by the route) when given, else
 * "json" when Accept asks for JSON and for no binary type, else `file` (the job's file format).
 * @example resultFormat(c, undefined, "nifti") // "json" with Accept: application/json
 */
export function resultFormat<F extends string>(
  c: Context<AppEnv>,
  f: F | "json" | undefined,
  file: F,
): F | "json" {
  if (f !== undefined) return f;
  const accept = c.req.header("accept") ?? "";
  return /application\/json/.test(accept) &&
      !/application\/(gzip|octet-stream|dicom)/.test(accept)
    ? "json"
    : file;
}

/**
 * A job's events as Server-Sent Events from Last-Event-ID on: `state` and `progress` events as the
 * queue records them, then `result` (the job's links and `summary` of its result) or `error` (why
 * it failed).
 */
export function streamJob<R>(
  c: Context<AppEnv>,
  queue: JobReader<R>,
  id: string,
  base: string,
  summary: (result: R) => Record<string, unknown>,
) {
  const after = Number(c.req.header("last-event-id") ?? -1);
  return streamSSE(c, async (stream) => {
    for await (const ev of queue.events(id)) {
      if (ev.seq <= after) continue;
      const { seq, type, at: _at, ...rest } = ev;
      if (type === "done") {
        const done = await queue.result(id);
        await stream.writeSSE({
          id: String(seq),
          event: "result",
          data: JSON.stringify({
            job: id,
            links: jobView(done, base).links,
            ...summary(done.result!),
          }),
        });
      } else {
        await stream.writeSSE({
          id: String(seq),
          event: type === "failed" ? "error" : type,
          data: JSON.stringify(rest),
        });
      }
    }
  });
}

/**
 * GET <jobs>/{id}: the job's JSON view when `format` is json (or Accept asks for JSON and not for
 * events), else its events as Server-Sent Events ({@link streamJob}).
 */
export async function jobOrEvents<R>(
  c: Context<AppEnv>,
  queue: JobReader<R>,
  format: "events" | "json" | undefined,
  base: string,
  summary: (result: R) => Record<string, unknown>,
) {
  const id = c.req.param("id") ?? "";
  const job = await queue.get(id);
  const accept = c.req.header("accept") ?? "";
  const json = format === "json" ||
    (format === undefined && accept.includes("application/json") &&
      !accept.includes("text/event-stream"));
  if (json) return c.json(jobView(job, base));
  return streamJob(c, queue, id, base, summary);
}
