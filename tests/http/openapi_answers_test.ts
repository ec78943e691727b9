/**
 * The document and the answers cannot drift: real, valid requests to every route that answers
 * JSON, each answer validated (ajv, JSON Schema 2020-12) against the schema the served
 * /openapi.json gives for its operation, status and media type, and every X-* header it carries
 * documented on that response (X-Request-Id and Server-Timing on all). Real inputs from ../shared/data (skipped, saying so, where absent).
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { assert, assertEquals } from "@std/assert";
import { app as main } from "../../functions/main.ts";
import { createVolumeRoutes } from "../../functions/volume.ts";
import { createApp } from "../../lib/http/mod.ts";
import { encodeMaskPng } from "../../lib/image/png.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti, writeNifti } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { installTinyBrats, makeModelsRoot } from "../models/_fixtures.ts";
import { synthCt } from "../dicom/_series_fixtures.ts";
import { dataFile } from "../_data.ts";

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void;

type Response_ = { headers?: Record<string, unknown>; content?: Record<string, unknown> };
type Operation = { operationId: string; responses: Record<string, Response_> };
type Document = { paths: Record<string, Record<string, Operation>> };

const pointer = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

/** Checks answers of one app against the document that app serves. */
class Contract {
  #ajv = new Ajv2020({ strict: false, allErrors: true });
  /** operationId, status and media type of every answer checked, by any Contract. */
  static checked = new Set<string>();
  private constructor(readonly doc: Document) {
    addFormats(this.#ajv);
    this.#ajv.addFormat("binary", true);
    this.#ajv.addSchema(doc as object, "doc");
  }

  static async of(app: { request(path: string): Response | Promise<Response> }): Promise<Contract> {
    const res = await app.request("/openapi.json");
    assertEquals(res.status, 200);
    return new Contract(await res.json());
  }

  #validate(ref: string, value: unknown, what: string): void {
    const validate = this.#ajv.getSchema(ref);
    assert(validate, `${what}: no schema at ${ref}`);
    if (!validate(value)) {
      throw new Error(
        `${what} does not match its schema:\n${
          this.#ajv.errorsText(validate.errors, {
            separator: "\n",
          })
        }\n${JSON.stringify(value).slice(0, 2000)}`,
      );
    }
  }

  /**
   * Checks an answer of `method path` (path as documented, e.g. /segment/volume/jobs/{id}): its
   * status and media type documented, every X-* header documented there, X-Request-Id and
   * Server-Timing present, and a JSON body valid against its schema (returned).
   */
  async check(method: string, path: string, res: Response): Promise<unknown> {
    const what = `${method.toUpperCase()} ${path} ${res.status}`;
    const op = this.doc.paths[path]?.[method];
    assert(op, `${method} ${path} is not documented`);
    const answer = op.responses[String(res.status)];
    assert(answer, `${what}: status not documented (${await res.clone().text()})`);
    const type = (res.headers.get("content-type") ?? "").split(";")[0].trim();
    assert(answer.content?.[type], `${what}: ${type} not documented`);
    const documented = new Set(Object.keys(answer.headers ?? {}).map((h) => h.toLowerCase()));
    for (const [name] of res.headers) {
      if (name.startsWith("x-")) assert(documented.has(name), `${what}: ${name} not documented`);
    }
    // (that every answer carries them is app_test's: here, that the document says so)
    assert(documented.has("x-request-id") && documented.has("server-timing"));
    Contract.checked.add(`${op.operationId} ${res.status} ${type}`);
    if (type !== "application/json" && type !== "application/problem+json") {
      await res.body?.cancel();
      return undefined;
    }
    const body = await res.json();
    const ref = `doc#/paths/${pointer(path)}/${method}/responses/${res.status}/content/${
      pointer(type)
    }/schema`;
    this.#validate(ref, body, what);
    return body;
  }

  /** Checks a value against a named component schema (an NDJSON line, an event's data). */
  component(name: string, value: unknown): void {
    this.#validate(`doc#/components/schemas/${name}`, value, `${name} ${JSON.stringify(value)}`);
  }
}

/** Runs `fn` with environment variables set, restoring them after (tests run one at a time). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
}

/** The shipped models/ (another test file may have pointed MEDIMG_MODELS_DIR elsewhere). */
const SHIPPED_MODELS = decodeURIComponent(new URL("../../models", import.meta.url).pathname);

const file = async (path: string, name: string) =>
  new File([await Deno.readFile(path) as Uint8Array<ArrayBuffer>], name);

const contract = await Contract.of(main);

const csv = dataFile("siim-pneumothorax/train-rle-sample.csv");
const driveImage = dataFile("drive/png/training/images/21_training.png");
const driveManual = dataFile("drive/png/training/1st_manual/21_manual1.png");
const driveFov = dataFile("drive/png/training/mask/21_training_mask.png");
const rsna = dataFile("rsna-pneumonia/00436515-870c-4b36-a041-de91049b9ab4.dcm");
const ctSmall = dataFile("dicom-conformance/CT_small.dcm");
const mammoPng = dataFile("ddsm-tissue-seg/images/B_3627_1.RIGHT_MLO.png");
const mammoLabels = dataFile("ddsm-tissue-seg/labels/B_3627_1.RIGHT_MLO_LI.png");
const cxrJpeg = dataFile("cxr-lung-masks/images/16660_1_1.jpg");
const BRATS = "brats/BraTS2021_00006/BraTS2021_00006_";
const brats = dataFile(`${BRATS}flair.nii.gz`);

Deno.test("rle: decode, encode and batch answers match their documented schemas", async () => {
  const get = await main.request("/rle/decode?rle=1%202%2010%203&width=4&height=4&format=json");
  const summary = await contract.check("get", "/rle/decode", get) as Record<string, unknown>;
  assertEquals(summary.area, 5);
  const raw = await main.request("/rle/decode?rle=1%202&width=4&height=4&format=raw");
  await contract.check("get", "/rle/decode", raw);
  assertEquals(raw.headers.get("x-image-dtype"), "uint8");
  const coco = await main.request("/rle/decode?format=json", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rle: { size: [4, 5], counts: [3, 4, 13] }, dialect: "coco" }),
  });
  assertEquals((await contract.check("post", "/rle/decode", coco) as { area: number }).area, 4);
  // Errors too: problem+json as documented (extra facts allowed).
  const bad = await main.request("/rle/decode?rle=1%202&width=abc&height=4");
  assertEquals(
    (await contract.check("get", "/rle/decode", bad) as { field: string }).field,
    "width",
  );
  const tooBig = await main.request("/rle/decode?rle=1%202&width=100000&height=100000");
  assertEquals(tooBig.status, 422);
  await contract.check("get", "/rle/decode", tooBig);
  const mask = await encodeMaskPng(Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 1]), 3, 3, 8);
  for (
    const q of ["", "?dialect=kaggle&order=row", "?dialect=coco&counts=array", "?dialect=coco"]
  ) {
    const res = await main.request(`/rle/encode${q}`, {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: mask as Uint8Array<ArrayBuffer>,
    });
    assertEquals((await contract.check("post", "/rle/encode", res) as { area: number }).area, 4);
  }
});

Deno.test({
  name:
    "rle: a real vessel mask encodes, and every /rle/batch line of a real CSV is a RleBatchLine",
  ignore: !csv || !driveManual,
  async fn() {
    const res = await main.request("/rle/encode", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: await Deno.readFile(driveManual!),
    });
    const encoded = await contract.check("post", "/rle/encode", res) as { width: number };
    assertEquals(encoded.width, 565);
    const batch = await main.request("/rle/batch", {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: await Deno.readFile(csv!),
    });
    assertEquals(batch.status, 200);
    const text = await batch.clone().text();
    await contract.check("post", "/rle/batch", batch);
    const lines = text.trim().split("\n").map((l) => JSON.parse(l));
    // 10 rows, one per image: 5 without a mask (-1), 5 with
    assertEquals(lines.filter((l) => l.has_mask).length, 5);
    assertEquals(lines.filter((l) => !l.has_mask).length, 5);
    for (const line of lines) contract.component("RleBatchLine", line);
  },
});

Deno.test({
  name: "dicom: info (plain, phi=1, deidentify=1) and render answers match their schemas",
  ignore: !rsna || !ctSmall,
  async fn() {
    const dcm = await Deno.readFile(rsna!);
    for (const q of ["", "?phi=1", "?deidentify=1", "?deidentify=1&retain=characteristics"]) {
      const res = await main.request(`/dicom/info${q}`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: dcm,
      });
      const info = await contract.check("post", "/dicom/info", res) as Record<string, unknown>;
      assertEquals(info.modality, "CR");
      assertEquals("phi" in info, q === "?phi=1");
    }
    const ct = await Deno.readFile(ctSmall!);
    for (const q of ["?format=json", "?format=json&center=40&width=400", "?format=raw", ""]) {
      const res = await main.request(`/dicom/render${q}`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: ct,
      });
      const body = await contract.check("post", "/dicom/render", res);
      if (q.includes("json")) assertEquals((body as { width: number }).width, 128);
      if (q === "?format=raw") assertEquals(res.headers.get("x-image-dtype"), "int16");
    }
  },
});

Deno.test({
  name: "mammo: preprocess numbers match their schema; image and mask answers' headers documented",
  ignore: !mammoPng || !mammoLabels,
  async fn() {
    const png = await Deno.readFile(mammoPng!);
    const post = (q: string) =>
      main.request(`/mammo/preprocess${q}`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: png,
      });
    const numbers = await contract.check("post", "/mammo/preprocess", await post("?format=json"));
    const { square, lr_flip } = numbers as { square: number; lr_flip: boolean };
    assert(square > 0);
    const image = await post("");
    assertEquals(image.headers.get("x-mammo-square"), String(square));
    await contract.check("post", "/mammo/preprocess", image);
    const form = new FormData();
    form.append("mask", await file(mammoLabels!, "a.png"));
    form.append("mask", await file(mammoLabels!, "b.png"));
    form.append("lr_flip", String(lr_flip));
    const mask = await main.request("/mammo/mask", { method: "POST", body: form });
    await contract.check("post", "/mammo/mask", mask);
    assertEquals(mask.headers.get("x-mammo-square"), String(square));
  },
});

Deno.test({
  name: "slice: /models and a DRIVE photo with image+mask+fov as documented form fields",
  ignore: !driveImage || !driveManual || !driveFov,
  async fn() {
    await withEnv({ MEDIMG_MODELS_DIR: SHIPPED_MODELS }, async () => {
      const models = await contract.check("get", "/models", await main.request("/models"));
      const names = (models as { models: { name: string }[] }).models.map((m) => m.name);
      assert(names.includes("fundus-vessels"), names.join());
      const missing = await main.request("/segment/slice?model=ct-liver", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: await Deno.readFile(driveImage!),
      });
      assertEquals(missing.status, 404);
      await contract.check("post", "/segment/slice", missing);
      const form = new FormData();
      form.append("image", await file(driveImage!, "21_training.png"));
      form.append("mask", await file(driveManual!, "21_manual1.png"));
      form.append("fov", await file(driveFov!, "21_training_mask.png"));
      const res = await main.request("/segment/slice?model=fundus-vessels&format=json&rle=siim", {
        method: "POST",
        body: form,
      });
      const body = await contract.check("post", "/segment/slice", res) as {
        ground_truth: { dice: number };
        fov_pixels: number;
        rle: { value: string };
      };
      assertEquals(res.headers.get("x-model"), "fundus-vessels");
      assert(body.ground_truth.dice > 0.5, `dice ${body.ground_truth.dice}`);
      assert(body.fov_pixels > 0 && body.rle.value.length > 0);
      const png = await main.request("/segment/slice?model=fundus-vessels", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: await Deno.readFile(driveImage!),
      });
      await contract.check("post", "/segment/slice", png);
    });
  },
});

Deno.test({
  name: "cxr: DICOM with heatmap, and a JPEG form with metadata fields, match the schema",
  ignore: !rsna || !cxrJpeg,
  async fn() {
    await withEnv({ MEDIMG_MODELS_DIR: SHIPPED_MODELS }, async () => {
      const dicom = await main.request("/cxr/classify?heatmap=1", {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: await Deno.readFile(rsna!),
      });
      const a = await contract.check("post", "/cxr/classify", dicom) as Record<string, unknown>;
      assert("heatmap" in a);
      const form = new FormData();
      form.append("image", await file(cxrJpeg!, "film.jpg"));
      form.append("age", "58");
      form.append("view", "PA");
      form.append("spacing", "0.5");
      const jpeg = await main.request("/cxr/classify", { method: "POST", body: form });
      const b = await contract.check("post", "/cxr/classify", jpeg) as {
        metadata: { age: { source: string } };
      };
      assertEquals(b.metadata.age.source, "request");
    });
  },
});

/** Every STEP-th voxel in x and y of a real BraTS modality, as .nii.gz (small enough to run fast). */
async function downsampled(what: string, step = 8): Promise<Uint8Array> {
  const v = await readNifti(await Deno.readFile(dataFile(`${BRATS}${what}.nii.gz`)!));
  const w = v.width / step, h = v.height / step;
  const data = new (v.data.constructor as new (n: number) => typeof v.data)(w * h * v.depth);
  for (let z = 0; z < v.depth; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data[(z * h + y) * w + x] = v.data[(z * v.height + y * step) * v.width + x * step];
      }
    }
  }
  return await writeNifti(v.header, data, { dims: [w, h, v.depth] });
}

Deno.test({
  name: "volume: the job, its events' result, its numbers and its deletion match their schemas",
  ignore: !brats,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "openapi_answers_" });
    try {
      await installTinyBrats(root);
      const app = createApp().route("/", createVolumeRoutes({ modelsRoot: root }));
      const volume = await Contract.of(app);
      const files = Object.fromEntries(
        await Promise.all(
          [...BRATS_MODALITIES, "seg"].map(async (m) => [m, await downsampled(m)] as const),
        ),
      );
      const form = () => {
        const f = new FormData();
        for (const [k, v] of Object.entries(files)) {
          f.append(k, new File([v as Uint8Array<ArrayBuffer>], `${k}.nii.gz`));
        }
        return f;
      };
      const waited = await app.request("/segment/volume?model=tiny-brats&wait=1&format=json", {
        method: "POST",
        body: form(),
      });
      const numbers = await volume.check("post", "/segment/volume", waited) as {
        dice: Record<string, number>;
      };
      assert(Object.keys(numbers.dice).length === 3);
      const posted = await app.request("/segment/volume?model=tiny-brats", {
        method: "POST",
        body: form(),
      });
      const job = await volume.check("post", "/segment/volume", posted) as { id: string };
      const path = `/segment/volume/jobs/${job.id}`;
      const events = await app.request(path);
      const text = await events.clone().text();
      await volume.check("get", "/segment/volume/jobs/{id}", events);
      const result = text.split("\n\n").find((b) => b.includes("event: result"));
      assert(result, text);
      const data = result.split("\n").find((l) => l.startsWith("data:"))!.slice(5);
      volume.component("VolumeNumbers", JSON.parse(data));
      await volume.check(
        "get",
        "/segment/volume/jobs/{id}",
        await app.request(`${path}?format=json`),
      );
      for (const format of ["json", "nifti"]) {
        await volume.check(
          "get",
          "/segment/volume/jobs/{id}/result",
          await app.request(`${path}/result?format=${format}`),
        );
      }
      const deleted = await app.request(path, { method: "DELETE" });
      assertEquals(await volume.check("delete", "/segment/volume/jobs/{id}", deleted), {
        id: job.id,
        deleted: true,
      });
    } finally {
      await unloadModels();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("series: JSON numbers match their schema; NIfTI and SEG answers documented", async () => {
  const root = await makeModelsRoot();
  try {
    await withEnv({ MEDIMG_MODELS_DIR: root }, async () => {
      const post = (format: string) => {
        const form = new FormData();
        for (const z of [0, 1, 2]) {
          const bytes = synthCt({ instanceNumber: z + 1, position: [0, 0, 2 * z] });
          form.append("instance", new File([bytes as Uint8Array<ArrayBuffer>], `i${z}.dcm`));
        }
        return main.request(`/segment/series?model=sigmoid&format=${format}`, {
          method: "POST",
          body: form,
        });
      };
      const body = await contract.check("post", "/segment/series", await post("json")) as {
        series: { slices: number };
      };
      assertEquals(body.series.slices, 3);
      await contract.check("post", "/segment/series", await post("nifti"));
      await contract.check("post", "/segment/series", await post("seg"));
      // job=1: the job, its events (the result event's numbers), its result, its deletion
      const job = await contract.check("post", "/segment/series", await post("json&job=1")) as {
        id: string;
      };
      const path = `/segment/series/jobs/${job.id}`;
      const events = await main.request(path);
      const text = await events.clone().text();
      await contract.check("get", "/segment/series/jobs/{id}", events);
      const result = text.split("\n\n").find((b) => b.includes("event: result"));
      assert(result, text);
      contract.component(
        "SeriesNumbers",
        JSON.parse(result.split("\n").find((l) => l.startsWith("data:"))!.slice(5)),
      );
      await contract.check(
        "get",
        "/segment/series/jobs/{id}",
        await main.request(`${path}?format=json`),
      );
      await contract.check(
        "get",
        "/segment/series/jobs/{id}/result",
        await main.request(`${path}/result?format=json`),
      );
      const deleted = await main.request(path, { method: "DELETE" });
      assertEquals(await contract.check("delete", "/segment/series/jobs/{id}", deleted), {
        id: job.id,
        deleted: true,
      });
    });
  } finally {
    unloadModels();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "every operation that answers JSON had a JSON answer checked above",
  ignore: !csv || !driveImage || !rsna || !ctSmall || !mammoPng || !cxrJpeg || !brats,
  fn() {
    const ops = Object.values(contract.doc.paths).flatMap((ops) => Object.values(ops));
    const json = ops.filter((op) =>
      Object.entries(op.responses).some(([s, r]) =>
        s.startsWith("2") && r.content?.["application/json"]
      )
    ).map((op) => op.operationId);
    const checked = [...Contract.checked].filter((c) => c.endsWith(" application/json"));
    for (const id of json) {
      assert(checked.some((c) => c.startsWith(`${id} `)), `${id}: no JSON answer was checked`);
    }
  },
});
