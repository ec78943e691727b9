/**
 * Jobs kept in Deno KV survive their process: an origin (functions/volume.ts with MEDIMG_JOBS_DIR)
 * takes a job and is killed with SIGKILL while it runs; a new origin on the same directory runs
 * it again (attempt 2, its events say so) and it ends with the labels of an uninterrupted
 * single-process run.
 */
import { assert, assertEquals } from "@std/assert";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { hasCase } from "../_brats.ts";
import {
  events,
  labels,
  type Origin,
  singleProcessLabels,
  startOrigin,
  stopsOnSigterm,
  submit,
  waitFor,
} from "./_origins.ts";

if (!hasCase) console.log("kv_restart_test: skipped, the BraTS case is not under ../shared/data");

Deno.test({
  name: "KV engine: a job whose origin was SIGKILLed mid-job finishes after a restart, same labels",
  ignore: !hasCase,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await setupBackend("wasm");
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "kv_restart_models_" });
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "kv_restart_jobs_" });
    await installTinyBrats(root);
    const env = {
      MEDIMG_MODELS_DIR: root,
      MEDIMG_JOBS_DIR: dir,
      // the job waits this long once running, so that the kill lands mid-job
      MEDIMG_JOBS_TEST_DELAY_MS: "1500",
    };
    const started: Origin[] = [];
    try {
      const reference = await singleProcessLabels(root);
      const a = await startOrigin(env);
      started.push(a);
      const id = await submit(a);
      const [running] = await waitFor(a, [id], ([v]) => v.state === "running");
      assertEquals(running.attempts, 1);
      await a.kill("SIGKILL");

      const b = await startOrigin(env);
      started.push(b);
      const [done] = await waitFor(b, [id], ([v]) => v.state === "done" || v.state === "failed");
      assertEquals(done.state, "done", JSON.stringify(done));
      assertEquals(done.attempts, 2, "the job ran twice: killed, then again after the restart");
      const evs = await events(b, id);
      assertEquals(evs[0], ["state", { state: "queued" }]);
      assertEquals(evs[1], ["state", { state: "running" }]);
      const requeued = evs.findIndex(([e, d]) =>
        e === "state" && (d as { reason?: string }).reason
      );
      assert(requeued > 1, JSON.stringify(evs));
      assertEquals(evs[requeued][1], { state: "queued", reason: "restart" });
      assertEquals(evs[requeued + 1], ["state", { state: "running", attempt: 2 }]);
      assertEquals(evs.at(-1)![0], "result");
      const seg = await labels(b, id);
      assertEquals(seg.length, reference.length);
      assert(reference.some((v) => v !== 0), "the fixture model labels some voxels");
      assert(seg.every((v, i) => v === reference[i]), "same labels as the uninterrupted run");
      // what was delivered can be forgotten, files and all
      const del = await fetch(`${b.url}/segment/volume/jobs/${id}`, { method: "DELETE" });
      assertEquals(await del.json(), { id, deleted: true });
      assertEquals([...Deno.readDirSync(`${dir}/blobs`)], []);
      const gone = await fetch(`${b.url}/segment/volume/jobs/${id}?format=json`);
      assertEquals(gone.status, 404);
      await gone.body?.cancel();
      assert(await stopsOnSigterm(b), "the origin stops on SIGTERM");
    } finally {
      for (const o of started) await o.kill("SIGKILL");
      await unloadModels();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
