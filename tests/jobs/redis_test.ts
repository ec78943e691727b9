/**
 * Many origins on one Redis queue (BullMQ): two origins (functions/volume.ts with MEDIMG_REDIS_URL)
 * on a throwaway redis-server; several jobs submitted to the first, which is SIGKILLed while it
 * runs one; every job finishes on the second (the killed one's after its 3 s lock expired, attempt
 * 2), the second answers every job's status, events and result, with the labels of a
 * single-process run. Inputs over 64 KiB go to the shared directory. Skipped, saying so, where
 * Debian's redis-server is absent.
 */
import { assert, assertEquals } from "@std/assert";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { hasCase } from "../_brats.ts";
import {
  events,
  freePort,
  labels,
  type Origin,
  singleProcessLabels,
  startOrigin,
  stopsOnSigterm,
  submit,
  waitFor,
} from "./_origins.ts";

const hasRedis = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);
if (!hasRedis) {
  console.log("redis_test: skipped, redis-server is not installed (Debian redis-server)");
}
if (!hasCase) console.log("redis_test: skipped, the BraTS case is not under ../shared/data");

/** A redis-server on a free port, nothing saved. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const until = Date.now() + 10_000;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (err) {
      if (Date.now() > until) throw err;
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

Deno.test({
  name: "Redis engine: an origin SIGKILLed mid-job; the other finishes every job and answers them",
  ignore: !hasRedis || !hasCase,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await setupBackend("wasm");
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "redis_models_" });
    const shared = await Deno.makeTempDir({ dir: "/tmp", prefix: "redis_shared_" });
    await installTinyBrats(root);
    const redis = await startRedis();
    const env = {
      MEDIMG_MODELS_DIR: root,
      MEDIMG_REDIS_URL: redis.url,
      MEDIMG_JOBS_SHARED_DIR: shared,
      MEDIMG_JOBS_BLOB_MAX: String(64 * 1024),
      // short, yet past the longest synchronous step of this job on 2 loaded cores
      MEDIMG_JOBS_LOCK_MS: "3000",
      MEDIMG_JOBS_TEST_DELAY_MS: "1500",
    };
    const started: Origin[] = [];
    try {
      const reference = await singleProcessLabels(root);
      const [a, b] = await Promise.all([startOrigin(env), startOrigin(env)]);
      started.push(a, b);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await submit(a));
      // followed live from the other origin while it waits, runs and ends (QueueEvents wake it)
      const live = events(b, ids[2]);
      // one job at a time per origin: two running means the first origin holds one
      const vs = await waitFor(
        a,
        ids,
        (vs) => vs.filter((v) => v.state === "running").length === 2,
      );
      assertEquals(vs.find((v) => v.state === "queued")?.position, 0, JSON.stringify(vs));
      // large inputs went to the shared directory while the job waits or runs
      assert([...Deno.readDirSync(shared)].length > 0, "inputs over the blob limit are files");
      await a.kill("SIGKILL");

      const done = await waitFor(b, ids, (vs) => vs.every((v) => v.state === "done"), 60_000);
      // the killed origin's job ran again on the other (under a heavy load a live worker may miss
      // its lock too and run its job twice: more attempts, same answer)
      const retried = ids[done.findIndex((v) => (v.attempts as number) >= 2)];
      assert(retried, `no job ran twice: ${JSON.stringify(done)}`);
      const evs = await events(b, retried);
      assertEquals(evs[0], ["state", { state: "queued" }]);
      const running = evs.filter(([e, d]) =>
        e === "state" && (d as { state: string }).state === "running"
      );
      assertEquals(running[0][1], { state: "running" });
      assertEquals(running[1][1], { state: "running", attempt: 2 });
      assertEquals(evs.at(-1)![0], "result");
      const followed = await live;
      assertEquals(followed[0], ["state", { state: "queued" }]);
      assert(followed.some(([e]) => e === "progress"), JSON.stringify(followed));
      assertEquals(followed.at(-1)![0], "result");
      assert(reference.some((v) => v !== 0), "the fixture model labels some voxels");
      for (const id of ids) {
        const seg = await labels(b, id);
        assertEquals(seg.length, reference.length);
        assert(seg.every((v, i) => v === reference[i]), `job ${id}: same labels as one process`);
      }
      const del = await fetch(`${b.url}/segment/volume/jobs/${retried}`, { method: "DELETE" });
      assertEquals(await del.json(), { id: retried, deleted: true });
      const gone = await fetch(`${b.url}/segment/volume/jobs/${retried}?format=json`);
      assertEquals(gone.status, 404);
      await gone.body?.cancel();
      assert(await stopsOnSigterm(b), "the origin stops on SIGTERM");
    } finally {
      for (const o of started) await o.kill("SIGKILL");
      await redis.stop();
      await unloadModels();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(shared, { recursive: true });
    }
  },
});
