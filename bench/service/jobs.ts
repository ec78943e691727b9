/**
 * The job engines' figures (issue 18): what a small job costs on each engine beside memory, and
 * how long a job takes to resume after its origin is killed.
 *
 *   deno run -A --unstable-kv bench/service/jobs.ts [--runs 50]
 *
 * 1. Overhead: submit -> settled -> result of a job whose work is nothing (1 KiB in, 1 KiB out,
 *    and 10 MB in, 10 MB out, about what a BraTS case's four .nii.gz weigh), on memory, Deno KV (a
 *    temp directory) and Redis (a throwaway `redis-server`, skipped when absent), one process,
 *    median and p90 of `--runs` jobs after 3 warm-up jobs.
 * 2. Resume: an origin (functions/volume.ts, the tiny-brats fixture model, the downsampled BraTS
 *    case of the tests) takes a job and is SIGKILLed while it runs. KV: a new origin on the same
 *    directory; the time from its spawn to listening, to the job running again and to done. Redis:
 *    the origin running the job killed; the time from the kill to the job running again on another
 *    origin (the lock, MEDIMG_JOBS_LOCK_MS, is 3000 ms here) and to done.
 */
import { JobQueue, type JobRunner, type JobStore, memoryStore } from "../../lib/jobs/mod.ts";
import { closeKvEngine, openKvEngine } from "../../lib/jobs/kv.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { installTinyBrats } from "../../tests/models/_fixtures.ts";
import { hasCase } from "../../tests/_brats.ts";
import {
  freePort,
  type Origin,
  startOrigin,
  submit,
  view,
  waitFor,
} from "../../tests/jobs/_origins.ts";

const at = Deno.args.indexOf("--runs");
const RUNS = at >= 0 ? Number(Deno.args[at + 1]) : 50;
const bounds = { maxJobs: 1000, maxBytes: 2 ** 31, ttlMs: 600_000, maxRunMs: 600_000 };
const echo: JobRunner<{ out: Uint8Array }> = ({ inputs }) => Promise.resolve({ out: inputs.x });

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `${q(0.5).toFixed(2)} | ${q(0.9).toFixed(2)}`;
}

async function overhead(store: JobStore<{ out: Uint8Array }>, bytes: number): Promise<number[]> {
  const x = new Uint8Array(bytes).map((_, i) => i % 251);
  const times: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const job = await store.submit({ kind: "bench", params: {}, inputs: { x }, bytes });
    const done = await store.settled(job.id);
    if (done.result?.out.byteLength !== bytes) throw new Error(`job ${job.id}: ${done.state}`);
    if (i >= 3) times.push(performance.now() - t0);
    await store.delete(job.id);
  }
  return times;
}

async function startRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const ok = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
    .output().then((o) => o.success, () => false);
  if (!ok) return undefined;
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

const load = () => Deno.loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(
  `## jobs (issue 18)\n\nload average at start: ${load()}, ${navigator.hardwareConcurrency} cores\n`,
);
console.log(`### Overhead of a job whose work is nothing, ms (median | p90 of ${RUNS})\n`);
console.log(
  "| engine | 1 KiB: median | p90 | 10 MB: median | p90 |\n| --- | --- | --- | --- | --- |",
);
const dir = await Deno.makeTempDir({ prefix: "jobs_bench_kv_" });
const redis = await startRedis();
try {
  const engines: [string, () => Promise<JobStore<{ out: Uint8Array }>>][] = [
    ["memory", () => Promise.resolve(memoryStore("bench", new JobQueue({ ...bounds }), echo))],
    ["Deno KV", async () => (await openKvEngine(dir)).store("bench", echo, bounds)],
  ];
  if (redis) {
    engines.push(["Redis (BullMQ)", async () => {
      const { redisStore } = await import("../../lib/jobs/redis.ts");
      return redisStore("bench", echo, bounds, { url: redis.url, blobMax: 2 ** 30 });
    }]);
  }
  for (const [name, make] of engines) {
    const store = await make();
    const small = await overhead(store, 1024);
    const large = await overhead(store, 10_000_000);
    console.log(`| ${name} | ${stats(small)} | ${stats(large)} |`);
    await store.close();
  }
  if (!redis) console.log("\n(Redis skipped: no redis-server)");
} finally {
  await closeKvEngine(dir);
  await Deno.remove(dir, { recursive: true });
}

if (!hasCase) {
  console.log("\nresume: skipped, the BraTS case is not under ../shared/data");
  await redis?.stop();
  Deno.exit(0);
}
await setupBackend("wasm"); // the fixture model is made with tfjs
const root = await Deno.makeTempDir({ prefix: "jobs_bench_models_" });
await installTinyBrats(root);
const origins: Origin[] = [];
const secs = (ms: number) => (ms / 1000).toFixed(2);
try {
  console.log("\n### Resume after SIGKILL mid-job (tiny-brats, 40x40x155 case), s\n");
  const kvDir = await Deno.makeTempDir({ prefix: "jobs_bench_resume_" });
  const env = { MEDIMG_MODELS_DIR: root, MEDIMG_JOBS_DIR: kvDir, MEDIMG_JOBS_TEST_DELAY_MS: "500" };
  const a = await startOrigin(env);
  origins.push(a);
  const id = await submit(a);
  await waitFor(a, [id], ([v]) => v.state === "running");
  await a.kill("SIGKILL");
  const t0 = performance.now();
  const b = await startOrigin(env);
  origins.push(b);
  const tListen = performance.now() - t0;
  await waitFor(b, [id], ([v]) => v.state === "running", 120_000);
  const tRunning = performance.now() - t0;
  await waitFor(b, [id], ([v]) => v.state === "done", 120_000);
  const tDone = performance.now() - t0;
  const fresh = await submit(b);
  const f0 = performance.now();
  await waitFor(b, [fresh], ([v]) => v.state === "done", 120_000);
  const tFresh = performance.now() - f0;
  console.log(
    "| engine | restart to listening | to the job running again | to done | a job on the warm origin, submit to done |",
  );
  console.log("| --- | --- | --- | --- | --- |");
  console.log(
    `| Deno KV (new process, same dir) | ${secs(tListen)} | ${secs(tRunning)} | ${secs(tDone)} | ${
      secs(tFresh)
    } |`,
  );
  for (const o of origins.splice(0)) await o.kill("SIGKILL");
  await Deno.remove(kvDir, { recursive: true });

  if (redis) {
    const renv = {
      MEDIMG_MODELS_DIR: root,
      MEDIMG_REDIS_URL: redis.url,
      MEDIMG_JOBS_LOCK_MS: "3000",
    };
    // the first origin alone takes the job (and sleeps 8 s into it); the second starts, then the
    // first is killed: the time from the kill to the job running again on the second
    const p = await startOrigin({ ...renv, MEDIMG_JOBS_TEST_DELAY_MS: "8000" });
    origins.push(p);
    const killed = await submit(p);
    await waitFor(p, [killed], ([v]) => v.state === "running");
    const q = await startOrigin(renv);
    origins.push(q);
    await p.kill("SIGKILL");
    const k0 = performance.now();
    await waitFor(q, [killed], ([v]) => v.state === "running" && v.attempts === 2, 120_000);
    const rRunning = performance.now() - k0;
    await waitFor(q, [killed], ([v]) => v.state === "done", 120_000);
    const rDone = performance.now() - k0;
    console.log(
      `| Redis (the other origin, lock 3 s) | (up already) | ${secs(rRunning)} after the kill | ${
        secs(rDone)
      } after the kill | |`,
    );
    await view(q, killed);
  }
  console.log(`\nload average at end: ${load()}`);
} finally {
  for (const o of origins) await o.kill("SIGKILL");
  await redis?.stop();
  await Deno.remove(root, { recursive: true });
}
