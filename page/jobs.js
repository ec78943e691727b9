/**
 * Following a job of the service (a 202 with {id, links}): its server-sent events (state, progress
 * once per step, then result or error) shown in the status line and the progress bar, until the
 * result event, whose data is the answer's numbers.
 */
import { ProblemError } from "./api.js";
import { progressBar, statusLine } from "./state.js";

/**
 * The numbers the job's result event carries; a ProblemError when the job fails (the problem the
 * route would have answered) or its event stream is lost. `what` names the job in the status line.
 * @example const summary = await followJob(job.links.events, "Series job")
 */
export function followJob(events, what) {
  progressBar.hidden = false;
  progressBar.removeAttribute("value");
  return new Promise((resolve, reject) => {
    const es = new EventSource(events);
    const data = (e) => JSON.parse(e.data || "{}");
    es.addEventListener("state", (e) => {
      statusLine.textContent = `${what}: ${data(e).state}…`;
    });
    es.addEventListener("progress", (e) => {
      const d = data(e);
      if (d.total) [progressBar.max, progressBar.value] = [d.total, d.done ?? 0];
      statusLine.textContent = `${what}: ${d.stage}${d.total ? ` ${d.done} of ${d.total}` : ""}…`;
    });
    es.addEventListener("result", (e) => {
      es.close();
      progressBar.value = progressBar.max;
      resolve(data(e));
    });
    es.addEventListener("error", (e) => {
      if (e.data) {
        // The job failed: the event carries the problem the route would have answered.
        es.close();
        const err = data(e).error ?? {};
        reject(
          new ProblemError({
            title: `The ${what.toLowerCase()} failed`,
            status: err.status,
            detail: err.message,
            code: err.code,
            ...err.facts,
          }, events),
        );
      } else if (es.readyState === EventSource.CLOSED) {
        reject(
          new ProblemError({
            title: "Progress lost",
            detail: `the event stream ${events} could not be read`,
          }, events),
        );
      } // else the browser reconnects and the server replays from Last-Event-ID
    });
  });
}
