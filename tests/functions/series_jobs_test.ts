/**
 * POST /segment/series?job=1 (functions/series.ts with functions/_jobs.ts): a series over the
 * request's time budget, a 503 when asked synchronously, runs as a job; its Server-Sent Events are
 * /segment/volume's (state, then one `progress` event per slice with stage infer and done/total,
 * then `result` with the numbers), its result (JSON and NIfTI) equals the synchronous answer for the
 * same series, and DELETE forgets it. Four 3D-IRCADb slices (unpacked into /tmp, nothing derived
 * from them committed) and the `sigmoid` fixture model stand in for a long series.
 */
import { assert, assertEquals } from "@std/assert";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { ircadbFolder } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");
const ircadb = await ircadbFolder();
const QUERY = "model=sigmoid&threshold=0.38";

function form(): FormData {
  const f = new FormData();
  for (const n of [40, 41, 42, 43]) {
    const b = Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`);
    f.append("instance", new File([b as BlobPart], `image_${n}`));
  }
  return f;
}

const post = async (query: string) =>
  await app.request(`/segment/series?${QUERY}&${query}`, { method: "POST", body: form() });

/** The events of a Server-Sent Events answer: [event, data] in order. */
function sse(text: string): [string, Record<string, unknown>][] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const field = (k: string) =>
      block.split("\n").find((l) => l.startsWith(`${k}:`))?.slice(k.length + 1).trim() ?? "";
    return [field("event"), JSON.parse(field("data"))];
  });
}

/** Everything but the timings (which differ from run to run). */
function numbers(body: Record<string, unknown>) {
  const { timings_ms: _t, job: _j, links: _l, ...rest } = body;
  return rest;
}

Deno.test({
  name: "POST /segment/series?job=1: per-slice progress events, and the synchronous answer",
  ignore: !ircadb,
  async fn() {
    const sync = await post("format=json");
    assertEquals(sync.status, 200, await sync.clone().text());
    const want = numbers(await sync.json());
    const syncNifti = await post("format=nifti");
    assertEquals(syncNifti.status, 200);
    const wantLabels = (await readNifti(new Uint8Array(await syncNifti.arrayBuffer()))).data;

    Deno.env.set("MEDIMG_SERIES_MS_PER_SLICE", "100000000");
    try {
      const slow = await post("format=json");
      assertEquals(slow.status, 503);
      assert((await slow.json()).detail.includes("job=1"));

      const res = await post("format=json&job=1");
      assertEquals(res.status, 202, await res.clone().text());
      const job = await res.json();
      assertEquals(res.headers.get("location"), `/segment/series/jobs/${job.id}`);
      assertEquals(job.model, "sigmoid");
      assertEquals(job.shape, [512, 512, 4]);
      assertEquals(job.links.result, `/segment/series/jobs/${job.id}/result`);

      const events = sse(await (await app.request(job.links.events)).text());
      assertEquals(events[0], ["state", { state: "queued" }]);
      assertEquals(events[1], ["state", { state: "running" }]);
      const progress = events.filter(([e]) => e === "progress").map(([, d]) => d);
      assertEquals(progress, [1, 2, 3, 4].map((done) => ({ stage: "infer", done, total: 4 })));
      const [last, result] = events.at(-1)!;
      assertEquals(last, "result");
      assertEquals(numbers(result), want);

      const json = await app.request(`${job.links.result}?format=json`);
      assertEquals(json.status, 200);
      assertEquals(json.headers.get("x-job"), job.id);
      assertEquals(numbers(await json.json()), want);
      const state = await app.request(`${job.links.self}?format=json`);
      assertEquals((await state.json()).state, "done");

      const deleted = await app.request(job.links.self, { method: "DELETE" });
      assertEquals(await deleted.json(), { id: job.id, deleted: true });
      const gone = await app.request(job.links.result);
      assertEquals(gone.status, 404);
      await gone.body?.cancel();

      // A NIfTI job: its result is the synchronous NIfTI's labels.
      const nifti = await (await post("format=nifti&job=1")).json();
      await (await app.request(nifti.links.events)).text();
      const file = await app.request(nifti.links.result);
      assertEquals(file.status, 200);
      assertEquals(file.headers.get("content-type"), "application/gzip");
      assertEquals((await readNifti(new Uint8Array(await file.arrayBuffer()))).data, wantLabels);
      await (await app.request(nifti.links.self, { method: "DELETE" })).body?.cancel();
    } finally {
      Deno.env.delete("MEDIMG_SERIES_MS_PER_SLICE");
    }
    const unknown = await app.request("/segment/series/jobs/nope");
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
  },
});

Deno.test("series jobs: cleanup", async () => {
  unloadModels();
  await Deno.remove(root, { recursive: true });
});
