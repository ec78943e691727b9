/**
 * POST /segment/series by DICOMweb reference against a real Orthanc (tests/dicom/_orthanc.ts: a
 * plain process on a free port with its own storage, stopped at the end): the 129 CT slices of
 * 3D-IRCADb patient 1 (unpacked into /tmp, nothing derived from them committed) stored by STOW-RS,
 * segmented by study and series UID with store=1 and the `sigmoid` fixture model (a 1x1 conv:
 * 129 slices of 512x512 cost seconds), the SEG found by QIDO-RS (Modality SEG in the study),
 * retrieved by WADO-RS and read back by pydicom to the labels of the route's format=nifti answer
 * for the same series, and the same stored from a job=1 job; then the refusals: a PACS that is down (502), an unknown series (404), a URL
 * or path where a UID goes (400 naming the field), no PACS configured (422), instances and UIDs
 * together (400), store=1 without UIDs (422). Skipped, saying why, without Orthanc or the data.
 */
import { assert, assertEquals } from "@std/assert";
import { parseDataSet } from "../../lib/dicom/parse.ts";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { DicomWebClient } from "../../lib/dicom/dicomweb.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { AUTH, freePort, orthancMissing, startOrthanc } from "../dicom/_orthanc.ts";
import { filesIn, ircadbFolder, pythonMissing, readSegBack } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");

const ircadb = await ircadbFolder();
const pyMissing = await pythonMissing(["pydicom", "numpy"]);
if (orthancMissing) console.log(`skipping the PACS series tests: ${orthancMissing}`);
if (pyMissing) console.log(`skipping the PACS series tests: ${pyMissing}`);
const QUERY = "model=sigmoid&threshold=0.38";

/**
 * The request with the PACS environment `pacs` (unset when undefined), a cheap per-slice estimate
 * and a time budget of `budgetMs` (default ample: two shared cores under other tests' load must not
 * turn this into a timing test; the slow-PACS test sets a short one).
 */
async function ask(
  query: string,
  pacs: string | undefined,
  init: RequestInit = { method: "POST" },
  budgetMs = 600_000,
) {
  if (pacs) Deno.env.set("MEDIMG_DICOMWEB_URL", pacs);
  else Deno.env.delete("MEDIMG_DICOMWEB_URL");
  Deno.env.set("MEDIMG_DICOMWEB_AUTH", AUTH);
  Deno.env.set("MEDIMG_SERIES_MS_PER_SLICE", "1");
  Deno.env.set("MEDIMG_TIME_BUDGET_MS", String(budgetMs));
  const keys = [
    "MEDIMG_DICOMWEB_URL",
    "MEDIMG_DICOMWEB_AUTH",
    "MEDIMG_SERIES_MS_PER_SLICE",
    "MEDIMG_TIME_BUDGET_MS",
  ];
  try {
    return await app.request(`/segment/series?${QUERY}&${query}`, init);
  } finally {
    for (const k of keys) Deno.env.delete(k);
  }
}

/** A problem's status, type and field. */
async function problem(res: Response) {
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const p = await res.json();
  return { status: res.status, field: p.field, detail: p.detail as string };
}

Deno.test({
  name: "PACS: STOW 3D-IRCADb patient 1, segment by UIDs with store=1, QIDO + WADO the SEG back",
  ignore: orthancMissing !== null || !ircadb || pyMissing !== null,
  sanitizeResources: false,
  async fn() {
    const originals = filesIn(`${ircadb}/PATIENT_DICOM`).map((f) => Deno.readFileSync(f));
    assertEquals(originals.length, 129);
    const first = parseDataSet(originals[0]);
    const study = first.string("x0020000d")!, seriesUid = first.string("x0020000e")!;
    const orthanc = await startOrthanc();
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-pacs-seg-" });
    try {
      const client = new DicomWebClient({ bases: [orthanc.base], auth: AUTH });
      const t0 = performance.now();
      assertEquals((await client.storeInstances(originals)).length, 129);
      const stowMs = performance.now() - t0;
      const ref = `study=${study}&series=${seriesUid}`;

      const t1 = performance.now();
      const res = await ask(`${ref}&store=1`, orthanc.base);
      const segMs = performance.now() - t1;
      assertEquals(res.status, 200, await res.clone().text());
      assertEquals(res.headers.get("content-type"), "application/json");
      const body = await res.json();
      assertEquals(body.series.slices, 129);
      assertEquals(body.series.series_instance_uid, seriesUid);
      const stored = body.stored;
      assertEquals(stored.study_instance_uid, study);
      assertEquals(stored.sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4");
      assert(body.volumes["1"].voxels > 0);
      assert(body.timings_ms.retrieve > 0 && body.timings_ms.store > 0);

      // QIDO-RS: the one SEG series of the study is the stored one.
      const segs = await client.searchSeries(study, { Modality: "SEG" });
      assertEquals(segs.map((s) => s["0020000E"]?.Value?.[0]), [stored.series_instance_uid]);
      // WADO-RS: its one instance, read back by pydicom onto the slices of the series.
      const [seg] = await client.retrieveSeries(study, stored.series_instance_uid);
      assertEquals(parseDataSet(seg).string("x00080018"), stored.sop_instance_uid);
      const series = await assembleSeries(originals);
      const back = await readSegBack(seg, series.slices, { "sigmoid label 1": 1 }, dir);

      // The same series by UIDs as NIfTI: the same labels, and the JSON's voxel count.
      const nifti = await ask(`${ref}&format=nifti`, orthanc.base);
      assertEquals(nifti.status, 200, await nifti.clone().text());
      const nii = await readNifti(new Uint8Array(await nifti.arrayBuffer()));
      const labels = new Uint8Array(nii.data.buffer, nii.data.byteOffset, nii.data.byteLength);
      assertEquals(back.labels, labels);
      assertEquals(labels.reduce((n, v) => n + (v === 1 ? 1 : 0), 0), body.volumes["1"].voxels);
      console.log(
        `  Orthanc: STOW 129 slices ${stowMs.toFixed(0)} ms; WADO + segment + SEG + STOW ${
          segMs.toFixed(0)
        } ms (${
          Object.entries(body.timings_ms).map(([k, v]) => `${k} ${Number(v).toFixed(0)}`)
            .join(", ")
        })`,
      );

      // The same with job=1: the STOW-RS runs in the job, whose result has the stored UIDs.
      const posted = await ask(`${ref}&store=1&job=1`, orthanc.base);
      assertEquals(posted.status, 202, await posted.clone().text());
      const job = await posted.json();
      await (await app.request(job.links.events)).text();
      const done = await (await app.request(`${job.links.result}?format=json`)).json();
      assertEquals(done.volumes, body.volumes);
      const again = await client.searchSeries(study, { Modality: "SEG" });
      assertEquals(
        again.map((s) => s["0020000E"]?.Value?.[0]).sort(),
        [stored.series_instance_uid, done.stored.series_instance_uid].sort(),
      );

      // Unknown series: 404; a URL or a path where a UID goes: 400 naming the field.
      const nf = await problem(await ask(`study=${study}&series=1.2.3.999999`, orthanc.base));
      assertEquals(nf.status, 404);
      for (
        const [query, field] of [
          [`study=${study}&series=${encodeURIComponent("http://127.0.0.1:1/x")}`, "series"],
          [`study=${encodeURIComponent("../../system")}&series=${seriesUid}`, "study"],
          [`study=${study}`, "series"],
        ]
      ) {
        const bad = await problem(await ask(query, orthanc.base));
        assertEquals([bad.status, bad.field], [400, field], query);
      }
      // Instances and UIDs together: 400; store=1 for uploaded instances: 422.
      const form = new FormData();
      form.append("instance", new File([originals[0] as BlobPart], "a"));
      const both = await problem(await ask(ref, orthanc.base, { method: "POST", body: form }));
      assertEquals([both.status, both.field], [400, "study"]);
      const form2 = new FormData();
      form2.append("instance", new File([originals[0] as BlobPart], "a"));
      const upload = await problem(
        await ask("store=1", orthanc.base, { method: "POST", body: form2 }),
      );
      assertEquals([upload.status, upload.field], [422, "store"]);
    } finally {
      await orthanc.stop();
      await Deno.remove(dir, { recursive: true });
    }

    // Orthanc stopped: the PACS is down, a 502; no PACS configured: a 422 naming study.
    const ref = `study=${study}&series=${seriesUid}`;
    const down = await problem(await ask(ref, `http://127.0.0.1:${freePort()}/dicom-web`));
    assertEquals(down.status, 502);
    assert(/unreachable/.test(down.detail), down.detail);
    const none = await problem(await ask(ref, undefined));
    assertEquals([none.status, none.field], [422, "study"]);
    assert(/MEDIMG_DICOMWEB_URL/.test(none.detail), none.detail);
  },
});

Deno.test("PACS series: a PACS slower than the request's time budget is a 502 within the budget", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await new Promise((r) => setTimeout(r, 1500));
    return new Response("late");
  });
  try {
    const t0 = performance.now();
    const slow = await problem(
      await ask(
        "study=1.2.3&series=1.2.3.4",
        `http://127.0.0.1:${server.addr.port}/dw`,
        { method: "POST" },
        300,
      ),
    );
    assertEquals(slow.status, 502);
    assert(/in time/.test(slow.detail), slow.detail);
    assert(performance.now() - t0 < 1200, "the budget bounded the wait");
  } finally {
    await server.shutdown();
  }
});

Deno.test("PACS series: cleanup", async () => {
  unloadModels();
  await Deno.remove(root, { recursive: true });
});
