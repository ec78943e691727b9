/**
 * A series job rebuilt from its stored inputs (functions/_series_job.ts: the instances as they
 * came, model, threshold, format) answers what the route answers: through a store without the
 * request's in-process work (as a KV or Redis engine runs it in another process), the labels and
 * the numbers equal the synchronous answer's. Four 3D-IRCADb slices (unpacked into /tmp, nothing
 * derived from them committed) and the `sigmoid` fixture model.
 */
import { assert, assertEquals } from "@std/assert";
import { JobQueue, memoryStore } from "../../lib/jobs/mod.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { ircadbFolder } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";
import { seriesInputs, seriesRunner } from "../../functions/_series_job.ts";
import type { SeriesResult } from "../../functions/_series_io.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");
const ircadb = await ircadbFolder();
if (!ircadb) console.log("series_runner_test: skipped, 3D-IRCADb is not under ../shared/data");

const slices = () =>
  [40, 41, 42, 43].map((n) => Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`));

Deno.test({
  name: "series jobs: the runner over stored inputs answers the route's labels and numbers",
  ignore: !ircadb,
  async fn() {
    try {
      const f = new FormData();
      for (const [i, b] of slices().entries()) {
        f.append("instance", new File([b as BlobPart], `image_${i}`));
      }
      const sync = await app.request("/segment/series?model=sigmoid&threshold=0.38&format=nifti", {
        method: "POST",
        body: f,
      });
      assertEquals(sync.status, 200, await sync.clone().text());
      const want = (await readNifti(new Uint8Array(await sync.arrayBuffer()))).data;
      const json = await app.request("/segment/series?model=sigmoid&threshold=0.38", {
        method: "POST",
        body: f,
      });
      assertEquals(json.status, 200);
      const { timings_ms: _t, ...numbers } = await json.json();

      const store = memoryStore("series", new JobQueue<SeriesResult>(), seriesRunner);
      const inputs = seriesInputs(slices().reverse(), []);
      assertEquals(Object.keys(inputs)[0], "instance-00000");
      const job = await store.submit({
        kind: "series",
        params: { model: "sigmoid", threshold: 0.38, format: "nifti" },
        inputs,
        bytes: 1,
      });
      const done = await store.settled(job.id);
      assertEquals(done.state, "done", JSON.stringify(done.error));
      const r = done.result!;
      assertEquals(r.file?.type, "application/gzip");
      const got = (await readNifti(r.file!.bytes)).data;
      assert(want.some((v) => v !== 0), "the fixture model labels some pixels");
      assertEquals(got, want);
      assertEquals((r.summary.series as { slices: number }).slices, 4);
      assertEquals(JSON.parse(JSON.stringify(r.summary)), numbers);
    } finally {
      await unloadModels();
    }
  },
});
