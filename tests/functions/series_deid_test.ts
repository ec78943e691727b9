/**
 * deidentify=1 on the SEG of /segment/series (format=seg, a job's SEG, the runner another process
 * would run) and of /segment/slice?format=seg (issue 17): read back with pydicom, the SEG's
 * PatientName, PatientID and StudyInstanceUID are replaced (UIDs keyed by MEDIMG_DEID_KEY) and its
 * labels are those of the plain SEG; dciodvfy finds no error. deidentify=1 where no SEG is answered
 * is a 400 naming `deidentify`. Real 3D-IRCADb slices (unpacked into /tmp, nothing derived from
 * them committed) and the `sigmoid` fixture model.
 */
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { replaceUid } from "../../lib/dicom/deidentify.ts";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { unloadModels } from "../../lib/models/load.ts";
import {
  dciodvfyErrors,
  ircadbFolder,
  pythonMissing,
  readSegBack,
  runPython,
  synthCt,
  which,
} from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const KEY = "series-deid-test-key";
const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
Deno.env.set("MEDIMG_DEID_KEY", KEY);
const { app } = await import("../../functions/series.ts");
const { app: sliceApp } = await import("../../functions/slice.ts");
const { seriesInputs, seriesRunner } = await import("../../functions/_series_job.ts");

const ircadb = await ircadbFolder();
const pyMissing = await pythonMissing(["pydicom", "numpy"]);
if (!ircadb || pyMissing) console.log(`skipping the deidentify tests: ${pyMissing ?? "no IRCADb"}`);
const dciodvfy = await which("dciodvfy");
const QUERY = "model=sigmoid&threshold=0.38";
const NAMES = { "sigmoid label 1": 1 };

/**
 * image_40 and image_41 of patient 1 with a PatientID (3D-IRCADb leaves it empty), written by
 * pydicom into /tmp, so that a replaced ID is seen to differ from the source's.
 */
const copies = ircadb && !pyMissing
  ? await runPython<string[]>([
    "-c",
    [
      "import json, sys, tempfile, pydicom",
      "out = tempfile.mkdtemp(prefix='medimg-deid-src-', dir='/tmp')",
      "paths = []",
      "for n in (40, 41):",
      "    ds = pydicom.dcmread(f'{sys.argv[1]}/PATIENT_DICOM/image_{n}')",
      "    ds.PatientID = 'IRCADB-01'",
      "    paths.append(f'{out}/image_{n}')",
      "    ds.save_as(paths[-1])",
      "print(json.dumps(paths))",
    ].join("\n"),
    ircadb,
  ])
  : [];
const instances = () => copies.map((f) => Deno.readFileSync(f));

function form(files: Uint8Array[]): FormData {
  const f = new FormData();
  files.forEach((b, i) => f.append("instance", new File([b as BlobPart], `image_${i}`)));
  return f;
}

const post = (query: string, files: Uint8Array[] = instances()) =>
  app.request(`/segment/series?${QUERY}&${query}`, { method: "POST", body: form(files) });

/** PatientName, PatientID, StudyInstanceUID and PatientIdentityRemoved as pydicom reads them. */
function identity(path: string): Promise<Record<string, string>> {
  const script = [
    "import json, sys, pydicom",
    "ds = pydicom.dcmread(sys.argv[1])",
    "print(json.dumps({k: str(ds.get(k, '')) for k in",
    "  ['PatientName', 'PatientID', 'StudyInstanceUID', 'PatientIdentityRemoved']}))",
  ].join("\n");
  return runPython(["-c", script, path]);
}

/**
 * The SEG `bytes` de-identified: pydicom reads replaced identity (the source's replaced UIDs,
 * keyed by KEY) and the labels of `plain`, the SEG of the same request without deidentify=1.
 */
async function checkDeidentified(bytes: Uint8Array, plain: Uint8Array, files: Uint8Array[]) {
  const series = await assembleSeries(files);
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-deid-" });
  try {
    const want = await readSegBack(plain, series.slices, NAMES, dir);
    const source = await identity(`${dir}/seg.dcm`);
    assertEquals([source.PatientName, source.PatientID], ["liver_01^patient", "IRCADB-01"]);
    const replaced = await Promise.all(
      series.slices.map(async (s) => ({
        ...s,
        sopInstanceUID: await replaceUid(s.sopInstanceUID!, KEY),
      })),
    );
    const back = await readSegBack(bytes, replaced, NAMES, dir);
    assertEquals(back.labels, want.labels);
    assert(want.labels.some((v) => v === 1), "the SEG holds a segment");
    const id = await identity(`${dir}/seg.dcm`);
    assertNotEquals(id.PatientName, source.PatientName);
    assertNotEquals(id.PatientID, source.PatientID);
    assertEquals(id.StudyInstanceUID, await replaceUid(series.studyInstanceUID!, KEY));
    assertNotEquals(id.StudyInstanceUID, source.StudyInstanceUID);
    assertEquals(id.PatientIdentityRemoved, "YES");
    if (dciodvfy) assertEquals(await dciodvfyErrors(dciodvfy, `${dir}/seg.dcm`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const bytesOf = async (res: Response) => {
  assertEquals(res.status, 200, await res.clone().text());
  return new Uint8Array(await res.arrayBuffer());
};

Deno.test({
  name: "POST /segment/series?format=seg&deidentify=1: patient and study replaced, same labels",
  ignore: !ircadb || pyMissing !== null,
  sanitizeResources: false,
  async fn() {
    const files = instances();
    const plain = await bytesOf(await post("format=seg"));
    await checkDeidentified(await bytesOf(await post("format=seg&deidentify=1")), plain, files);

    // a job: the stored params carry deidentify, so the runner of another process replaces too
    const runner = await seriesRunner({
      params: { model: "sigmoid", threshold: 0.38, format: "seg", deidentify: true },
      inputs: seriesInputs(files, []),
    }, { id: "t", progress: () => {}, signal: new AbortController().signal });
    await checkDeidentified(runner.file!.bytes, plain, files);

    // and the route's own job=1
    const accepted = await post("format=seg&deidentify=1&job=1");
    assertEquals(accepted.status, 202, await accepted.clone().text());
    const where = accepted.headers.get("location")!;
    await accepted.body?.cancel();
    let res = await app.request(`${where}/result`);
    for (let i = 0; i < 200 && res.status === 202; i++) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      res = await app.request(`${where}/result`);
    }
    await checkDeidentified(await bytesOf(res), plain, files);
  },
});

Deno.test({
  name: "POST /segment/slice?format=seg&deidentify=1: patient and study replaced, same mask",
  ignore: !ircadb || pyMissing !== null,
  async fn() {
    const [dicom] = instances();
    const ask = (query: string) =>
      sliceApp.request(`/segment/slice?${QUERY}&${query}`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: dicom as BodyInit,
      });
    const plain = await bytesOf(await ask("format=seg"));
    await checkDeidentified(await bytesOf(await ask("format=seg&deidentify=1")), plain, [dicom]);
  },
});

Deno.test({
  name: "deidentify=1 without a SEG answer is a 400 naming deidentify",
  async fn() {
    const ct = [synthCt({ instanceNumber: 1 })];
    for (const format of ["json", "nifti"]) {
      const res = await post(`format=${format}&deidentify=1`, ct);
      assertEquals(res.status, 400);
      const problem = await res.json();
      assertEquals(problem.field, "deidentify");
      assert(problem.detail.includes(`format=${format}`), problem.detail);
    }
    const res = await post("deidentify=1", ct);
    assertEquals(res.status, 400);
    assertEquals((await res.json()).field, "deidentify");
    const slice = await sliceApp.request(`/segment/slice?${QUERY}&format=png&deidentify=1`, {
      method: "POST",
      headers: { "content-type": "application/dicom" },
      body: ct[0] as BodyInit,
    });
    assertEquals(slice.status, 400);
    const problem = await slice.json();
    assertEquals(problem.field, "deidentify");
    assert(problem.detail.includes("format=png"), problem.detail);
  },
});

Deno.test("series deidentify: cleanup", async () => {
  unloadModels();
  Deno.env.delete("MEDIMG_DEID_KEY");
  if (copies.length) await Deno.remove(copies[0].replace(/\/[^/]+$/, ""), { recursive: true });
  await Deno.remove(root, { recursive: true });
});
