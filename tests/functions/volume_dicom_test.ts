/**
 * /segment/volume with DICOM in and out, one 4D NIfTI in, and probs=1 (issues 17 and 19). A 64 x 64
 * x 32 crop of the BraTS case around its tumour is written by tests/fixtures/make_brats_dicom.py
 * into /tmp as NIfTI files and as four DICOM MR series with the same voxels and geometry (never
 * committed); the tiny-brats fixture model (with brats-demo's card `segments`) segments each form.
 */
import { assert, assertEquals } from "@std/assert";
import { zipSync } from "fflate";
import { createApp } from "../../lib/http/mod.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { replaceUid } from "../../lib/dicom/deidentify.ts";
import { parseDataSet } from "../../lib/dicom/parse.ts";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { readNifti, writeNifti } from "../../lib/nifti/mod.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { createVolumeRoutes } from "../../functions/volume.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { CASE, hasCase } from "../_brats.ts";
import { dataFile } from "../_data.ts";
import {
  dciodvfyErrors,
  filesIn,
  pythonMissing,
  readSegBack,
  which,
} from "../dicom/_series_fixtures.ts";

await setupBackend("wasm");

const pyMissing = hasCase ? await pythonMissing(["nibabel", "pydicom", "numpy"]) : "no case";
if (hasCase && pyMissing) console.log(`skipping the BraTS DICOM tests: ${pyMissing}`);
const ready = hasCase && !pyMissing;
const dciodvfy = ready ? await which("dciodvfy") : undefined;

/** The fixture folder: <m>.nii.gz, <m>/IM*.dcm for each modality, seg.nii.gz, t2_shifted/. */
const dir = ready ? await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_dicom_" }) : "";
if (ready) {
  const script = new URL("../fixtures/make_brats_dicom.py", import.meta.url).pathname;
  const prefix = dataFile(`${CASE}flair.nii.gz`)!.replace(/flair\.nii\.gz$/, "");
  const { code, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: [script, prefix, dir],
  }).output();
  if (code !== 0) throw new Error(`make_brats_dicom.py: ${new TextDecoder().decode(stderr)}`);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
}

const nifti = (m: string) => Deno.readFileSync(`${dir}/${m}.nii.gz`);
const instances = (m: string) => filesIn(`${dir}/${m}`).map((f) => Deno.readFileSync(f));

/** A multipart form: a part per file, a list repeating the field. */
function form(parts: Record<string, Uint8Array | Uint8Array[]>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(parts)) {
    for (const [i, b] of (Array.isArray(v) ? v : [v]).entries()) {
      f.append(k, new File([b as Uint8Array<ArrayBuffer>], `${k}_${i}`));
    }
  }
  return f;
}

const niftiParts = () => Object.fromEntries(BRATS_MODALITIES.map((m) => [m, nifti(m)]));
/** flair, t1, t2 as repeated instance parts; t1ce as one zip of its folder. */
function dicomParts(t2 = "t2"): Record<string, Uint8Array | Uint8Array[]> {
  const zip = zipSync(
    Object.fromEntries(instances("t1ce").map((b, i) => [`t1ce/IM${i + 1}`, b])),
    { level: 1 },
  );
  return { flair: instances("flair"), t1: instances("t1"), t1ce: zip, t2: instances(t2) };
}

async function setup() {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_dicom_models_" });
  await installTinyBrats(root);
  const demo = JSON.parse(
    await Deno.readTextFile(new URL("../../models/brats-demo/card.json", import.meta.url)),
  );
  const cardPath = `${root}/tiny-brats/card.json`;
  const card = JSON.parse(await Deno.readTextFile(cardPath));
  await Deno.writeTextFile(cardPath, JSON.stringify({ ...card, segments: demo.segments }));
  const app = createApp().route("/", createVolumeRoutes({ modelsRoot: root }));
  const post = (query: string, body: FormData) =>
    app.request(`/segment/volume?model=tiny-brats&batch=8&${query}`, { method: "POST", body });
  return { root, app, post, segments: demo.segments as { label: number; name: string }[] };
}

async function teardown(root: string) {
  await unloadModels();
  await Deno.remove(root, { recursive: true });
}

async function volumeOf(res: Response): Promise<Volume> {
  assertEquals(res.status, 200, res.status === 200 ? "" : await res.clone().text());
  assertEquals(res.headers.get("content-type"), "application/gzip");
  return await readNifti(new Uint8Array(await res.arrayBuffer()));
}

async function problem(res: Response, status: number, field: string, detail: string) {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(body.field, field, JSON.stringify(body));
  assert(String(body.detail).includes(detail), `${body.detail} lacks ${detail}`);
}

const round = (a: number[][]) => a.map((r) => r.map((x) => Math.round(x * 1e4) / 1e4 + 0));

Deno.test({
  name:
    "four DICOM series (instance parts and a zip) and one 4D NIfTI give the NIfTI crop's labels",
  ignore: !ready,
  sanitizeResources: false,
  async fn() {
    const { root, post } = await setup();
    try {
      const want = await volumeOf(await post("wait=1", form(niftiParts())));
      assertEquals(want.dims, [64, 64, 32]);
      const present = new Set(want.data);
      assert(present.size > 1, `the fixture model labels some voxels: ${[...present]}`);

      const fromDicom = await volumeOf(await post("wait=1", form(dicomParts())));
      assertEquals(fromDicom.dims, want.dims);
      assertEquals(round(fromDicom.affine), round(want.affine), "the crop's affine, from LPS");
      assertEquals(fromDicom.data, want.data, "the same labels in the same voxel order");

      // the four crops as the frames of one 4D NIfTI (flair, t1, t1ce, t2)
      const vols = await Promise.all(BRATS_MODALITIES.map((m) => readNifti(nifti(m))));
      const n = want.data.length;
      const stacked = new Int16Array(4 * n);
      vols.forEach((v, k) => stacked.set(v.data as Int16Array, k * n));
      const image = await writeNifti(vols[0].header, stacked, { dims: [64, 64, 32, 4] });
      const fromImage = await volumeOf(await post("wait=1", form({ image })));
      assertEquals(fromImage.data, want.data);
      assertEquals(round(fromImage.affine), round(want.affine));
    } finally {
      await teardown(root);
    }
  },
});

Deno.test({
  name: "format=seg: the SEG over the T1CE series reads back (pydicom) as the labels; dciodvfy",
  ignore: !ready,
  sanitizeResources: false,
  async fn() {
    const { root, app, post, segments } = await setup();
    const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_seg_" });
    try {
      // a job: its result as labels and as the SEG
      const job = await post("", form(dicomParts()));
      assertEquals(job.status, 202, await job.clone().text());
      const { id } = await job.json();
      await (await app.request(`/segment/volume/jobs/${id}`)).text(); // events to the end
      const labels = await volumeOf(await app.request(`/segment/volume/jobs/${id}/result`));
      const res = await app.request(`/segment/volume/jobs/${id}/result?format=seg`);
      assertEquals(res.status, 200, await res.clone().text());
      assertEquals(res.headers.get("content-type"), "application/dicom");
      assert(res.headers.get("content-disposition")?.includes(`${id}_seg.dcm`));
      const seg = new Uint8Array(await res.arrayBuffer());
      const byAccept = await app.request(`/segment/volume/jobs/${id}/result`, {
        headers: { accept: "application/dicom" },
      });
      assertEquals(byAccept.headers.get("content-type"), "application/dicom");
      assertEquals(new Uint8Array(await byAccept.arrayBuffer()).length, seg.length);

      const t1ce = await assembleSeries(instances("t1ce"));
      const names = Object.fromEntries(segments.map((s) => [s.name, s.label]));
      const back = await readSegBack(seg, t1ce.slices, names, tmp);
      assertEquals(back.labels, labels.data as Uint8Array, "labels -> SEG -> pydicom -> labels");
      assert(back.read.worst_position_error < 1e-6, `${back.read.worst_position_error}`);
      const present = [...new Set(labels.data)].filter((l) => l !== 0).sort();
      assertEquals(
        back.read.segments.map((s: { label: string }) => s.label),
        segments.filter((s) => present.includes(s.label)).map((s) => s.name),
        "one segment per label present, named by the card",
      );
      assertEquals(back.read.modality, "SEG");
      assertEquals(back.read.patient_name, "BraTS^Crop");
      assertEquals(back.read.frame_of_reference_uid, t1ce.frameOfReferenceUID);
      if (dciodvfy) assertEquals(await dciodvfyErrors(dciodvfy, `${tmp}/seg.dcm`), []);

      // wait=1 with deidentify=1: the patient is gone, the labels are the same
      const anon = await post("wait=1&format=seg&deidentify=1", form(dicomParts()));
      assertEquals(anon.status, 200, await anon.clone().text());
      const bytes = new Uint8Array(await anon.arrayBuffer());
      const ds = parseDataSet(bytes);
      assert(ds.string("x00100020") !== "BRATS-00006", "PatientID replaced");
      assertEquals(ds.string("x00120062"), "YES", "PatientIdentityRemoved");
      // the SEG references the source instances by their replaced UIDs (MEDIMG_DEID_KEY unset)
      const replaced = await Promise.all(
        t1ce.slices.map(async (s) => ({
          ...s,
          sopInstanceUID: await replaceUid(s.sopInstanceUID!, ""),
        })),
      );
      const again = await readSegBack(bytes, replaced, names, tmp);
      assertEquals(again.labels, back.labels);
      if (dciodvfy) assertEquals(await dciodvfyErrors(dciodvfy, `${tmp}/seg.dcm`), []);
    } finally {
      await teardown(root);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "refusals: SEG of NIfTI input, a series off the others' grid, a 4D NIfTI of 3 or 1 volumes",
  ignore: !ready,
  sanitizeResources: false,
  async fn() {
    const { root, app, post } = await setup();
    try {
      await problem(await post("wait=1&format=seg", form(niftiParts())), 415, "format", "NIfTI");
      await problem(await post("deidentify=1", form(niftiParts())), 415, "deidentify", "NIfTI");
      const job = await post("", form(niftiParts()));
      assertEquals(job.status, 202);
      const { id } = await job.json();
      await (await app.request(`/segment/volume/jobs/${id}`)).text();
      await problem(
        await app.request(`/segment/volume/jobs/${id}/result?format=seg`),
        415,
        "format",
        "DICOM SEG",
      );
      // T2 moved 5 mm: the series is not co-registered with the others
      await problem(await post("wait=1", form(dicomParts("t2_shifted"))), 422, "t2", "affine");
      // a broken instance is named by its modality
      const t1 = instances("t1");
      t1[3] = t1[3].slice(0, 400);
      await problem(await post("wait=1", form({ ...dicomParts(), t1 })), 400, "t1", "t1:");

      const v = await readNifti(nifti("flair"));
      const n = v.data.length;
      const three = await writeNifti(v.header, new Int16Array(3 * n), { dims: [64, 64, 32, 3] });
      await problem(await post("wait=1", form({ image: three })), 422, "image", "64x64x32x3");
      await problem(await post("wait=1", form({ image: nifti("flair") })), 422, "image", "3D");
      await problem(
        await post("wait=1", form({ image: three, flair: nifti("flair") })),
        400,
        "image",
        "not both",
      );
    } finally {
      await teardown(root);
    }
  },
});

Deno.test({
  name:
    "probs=1: float32 probabilities per label in the input's geometry; the labels follow from them",
  ignore: !ready,
  sanitizeResources: false,
  async fn() {
    const { root, post } = await setup();
    try {
      for (const threshold of [0.5, 0.3]) {
        const q = `wait=1&threshold=${threshold}`;
        const labels = await volumeOf(await post(q, form(niftiParts())));
        const res = await post(`${q}&probs=1`, form(dicomParts()));
        assert(res.headers.get("content-disposition")?.includes("_probs.nii.gz"));
        const probs = await volumeOf(res);
        assertEquals(probs.dims, [64, 64, 32, 3]);
        assertEquals(probs.datatype, "float32");
        assertEquals(round(probs.affine), round(labels.affine));
        const n = labels.data.length, p = probs.data as Float32Array, values = [1, 2, 4];
        let differ = 0, outside = 0;
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let k = 1; k < 3; k++) if (p[k * n + i] > p[best * n + i]) best = k;
          const label = p[best * n + i] >= threshold ? values[best] : 0;
          if (label !== labels.data[i]) differ++;
          for (let k = 0; k < 3; k++) if (!(p[k * n + i] >= 0 && p[k * n + i] <= 1)) outside++;
        }
        assertEquals(differ, 0, `threshold ${threshold}: ${differ} voxels disagree`);
        assertEquals(outside, 0, "probabilities in [0, 1]");
      }
    } finally {
      await teardown(root);
    }
  },
});
