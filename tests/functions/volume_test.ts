import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs-core";
import { createApp } from "../../lib/http/mod.ts";
import { JobQueue } from "../../lib/jobs/mod.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { readNifti, withAffine, writeNifti } from "../../lib/nifti/mod.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import { BRATS_MODALITIES, dicePerLabel } from "../../lib/pipelines/brats.ts";
import {
  createVolumeRoutes,
  type VolumeOptions,
  type VolumeResult,
} from "../../functions/volume.ts";
import { installTinyBrats } from "../models/_fixtures.ts";
import { CASE, downsampled, hasCase } from "../_brats.ts";
import { dataFile } from "../_data.ts";

await setupBackend("wasm");

function form(files: Record<string, Uint8Array>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(files)) {
    f.append(k, new File([v as Uint8Array<ArrayBuffer>], `${k}.nii.gz`));
  }
  return f;
}

interface SseEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const ev: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const i = line.indexOf(":");
      ev[line.slice(0, i)] = line.slice(i + 1).trimStart();
    }
    return { event: ev.event, id: ev.id, data: JSON.parse(ev.data) };
  });
}

async function setup(options: Partial<VolumeOptions> = {}) {
  const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "volume_test_" });
  await installTinyBrats(root);
  const app = createApp().route("/", createVolumeRoutes({ modelsRoot: root, ...options }));
  return { root, app };
}

async function teardown(root: string) {
  await unloadModels();
  await Deno.remove(root, { recursive: true });
}

const inputs = hasCase
  ? Object.fromEntries(
    await Promise.all(
      [...BRATS_MODALITIES, "seg"].map(async (m) => [m, await downsampled(m)] as const),
    ),
  )
  : {};
const files = (names: string[]) => Object.fromEntries(names.map((n) => [n, inputs[n].bytes]));

Deno.test({
  name: "job API end to end on a downsampled BraTS case: 202, SSE progress in order, .nii.gz, JSON",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const { root, app } = await setup();
    try {
      const post = await app.request("/segment/volume?model=tiny-brats&batch=8", {
        method: "POST",
        body: form(files([...BRATS_MODALITIES, "seg"])),
      });
      assertEquals(post.status, 202, await post.clone().text());
      const job = await post.json();
      assertEquals(post.headers.get("location"), `/segment/volume/jobs/${job.id}`);
      assertEquals(job.links.result, `/segment/volume/jobs/${job.id}/result`);

      const sse = await app.request(`/segment/volume/jobs/${job.id}`);
      assertEquals(sse.headers.get("content-type"), "text/event-stream");
      const events = parseSse(await sse.text());
      const ids = events.map((e) => Number(e.id));
      assertEquals(ids, ids.map((_, i) => i), "event ids count from 0 without gaps");
      assertEquals([events[0].event, events[0].data], ["state", { state: "queued" }]);
      assertEquals(events[1].data, { state: "running" });
      const stages = events.filter((e) => e.event === "progress").map((e) => e.data.stage);
      assertEquals([...new Set(stages)], [
        "reorient",
        "preprocess",
        "model",
        "infer",
        "labels",
        "write",
      ]);
      const infer = events.filter((e) => e.event === "progress" && e.data.done !== undefined);
      const total = infer[0].data.total as number;
      assertEquals(
        infer.map((e) => e.data.done),
        infer.map((_, i) => Math.min(8 * (i + 1), total)),
      );
      assertEquals(infer.at(-1)!.data.done, total);
      const last = events.at(-1)!;
      assertEquals(last.event, "result");
      assertEquals((last.data.backend as { name: string }).name, "wasm");

      // the label volume: the input's geometry, labels 0/1/2/4, dropped slices background
      const res = await app.request(`/segment/volume/jobs/${job.id}/result`);
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-type"), "application/gzip");
      assertEquals(res.headers.get("x-backend"), "wasm");
      assert(res.headers.get("server-timing")?.includes("infer"));
      const seg = await readNifti(new Uint8Array(await res.arrayBuffer()));
      const flair = inputs.flair.volume;
      assertEquals(seg.dims, [40, 40, 155]);
      assertEquals(seg.affine, flair.affine);
      assertEquals(seg.datatype, "uint8");
      const counts = new Map<number, number>();
      for (const v of seg.data) counts.set(v, (counts.get(v) ?? 0) + 1);
      assert([...counts.keys()].every((l) => [0, 1, 2, 4].includes(l)), `${[...counts.keys()]}`);
      assert(counts.size > 1, "the fixture model labels some voxels");
      const plane = 40 * 40;
      assert(seg.data.subarray(0, 5 * plane).every((v) => v === 0), "slices 0-4 are background");
      assert(seg.data.subarray(140 * plane).every((v) => v === 0), "slices 140-154 are background");

      const json = await (await app.request(`/segment/volume/jobs/${job.id}/result?format=json`))
        .json();
      for (const l of [1, 2, 4]) {
        assertEquals(json.labels[l].voxels, counts.get(l) ?? 0);
        assertAlmostEquals(json.labels[l].ml, (counts.get(l) ?? 0) / 1000, 1e-9);
      }
      assertEquals(json.dice, dicePerLabel(seg.data, inputs.seg.volume.data));
      assertEquals(json.dice_eps, 1e-5);
      assertEquals(json.preprocess.kept_slices, [5, 140]);
      assertEquals(json.inference.windows, total);
      assertEquals(json.backend.name, "wasm");

      // a late listener gets the whole story again; JSON state on request
      const again = parseSse(await (await app.request(`/segment/volume/jobs/${job.id}`)).text());
      assertEquals(again.length, events.length);
      const state = await (await app.request(`/segment/volume/jobs/${job.id}?format=json`)).json();
      assertEquals(state.state, "done");
    } finally {
      await teardown(root);
    }
  },
});

Deno.test({
  name: "wait=1 answers the same labels at once; tensors are all disposed; too large is a 422",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const { root, app } = await setup();
    try {
      const body = () => form(files([...BRATS_MODALITIES]));
      const first = await app.request("/segment/volume?model=tiny-brats&wait=1&batch=8", {
        method: "POST",
        body: body(),
      });
      assertEquals(first.status, 200, await first.clone().text());
      const before = tf.memory().numTensors;
      const again = await app.request("/segment/volume?model=tiny-brats&wait=1&batch=4", {
        method: "POST",
        body: body(),
      });
      assertEquals(tf.memory().numTensors, before, "every tensor of a request is disposed");
      const a = await readNifti(new Uint8Array(await first.arrayBuffer()));
      const b = await readNifti(new Uint8Array(await again.arrayBuffer()));
      assertEquals(a.data, b.data, "batching does not change the answer");
      const json = await (await app.request(
        "/segment/volume?model=tiny-brats&wait=1&format=json&blend=linear&overlap=0.5",
        { method: "POST", body: body() },
      )).json();
      assertEquals(json.inference.blend, "linear");
      assertEquals(json.dice, undefined);
    } finally {
      await teardown(root);
    }
    const small = await setup({ waitVoxels: 1000 });
    try {
      const res = await small.app.request("/segment/volume?model=tiny-brats&wait=1", {
        method: "POST",
        body: form(files([...BRATS_MODALITIES])),
      });
      assertEquals(res.status, 422);
      assert((await res.json()).detail.includes("drop wait=1"));
    } finally {
      await teardown(small.root);
    }
  },
});

/** The same image stored with its x axis reversed (data and affine), as .nii.gz bytes. */
async function flippedX(v: Volume): Promise<Uint8Array> {
  const { width: w, height: h, depth: d } = v;
  const data = new (v.data.constructor as new (n: number) => typeof v.data)(v.data.length);
  for (let r = 0; r < h * d; r++) {
    for (let x = 0; x < w; x++) data[r * w + x] = v.data[r * w + w - 1 - x];
  }
  const a = flipAffine(v.affine, w);
  return await writeNifti(withAffine(v.header, a, [w, h, d]), data, { dims: [w, h, d] });
}

/** Voxel i' is voxel w - 1 - i: the x column negated, the origin moved to the old last column. */
function flipAffine(affine: number[][], w: number): number[][] {
  return affine.map((row, r) =>
    r === 3 ? [...row] : [-row[0], row[1], row[2], row[3] + row[0] * (w - 1)]
  );
}

Deno.test({
  name: "the same study stored in another axis order gets the same labels, in its own order",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const { root, app } = await setup();
    try {
      const run = async (fs: Record<string, Uint8Array>) => {
        const res = await app.request("/segment/volume?model=tiny-brats&wait=1&batch=8", {
          method: "POST",
          body: form(fs),
        });
        assertEquals(res.status, 200, await res.clone().text());
        return await readNifti(new Uint8Array(await res.arrayBuffer()));
      };
      const plain = await run(files([...BRATS_MODALITIES]));
      const flipped = await run(
        Object.fromEntries(
          await Promise.all(
            BRATS_MODALITIES.map(async (m) => [m, await flippedX(inputs[m].volume)] as const),
          ),
        ),
      );
      const round = (a: number[][]) => a.map((r) => r.map((x) => Math.round(x * 1e6) / 1e6 + 0));
      assertEquals(round(flipped.affine), round(flipAffine(plain.affine, 40)));
      const back = Uint8Array.from(
        { length: plain.data.length },
        (_, i) => flipped.data[i - (i % 40) + 39 - (i % 40)],
      );
      assertEquals(back, plain.data);
    } finally {
      await teardown(root);
    }
  },
});

async function problem(res: Response, status: number, detail: string) {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assert(String(body.detail).includes(detail), `${body.detail} lacks ${detail}`);
  return body;
}

Deno.test({
  name: "bad inputs are 4xx: 3 files, mismatched shapes, non-NIfTI, not multipart, unknown model",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const { root, app } = await setup();
    const post = (body: BodyInit, query = "model=tiny-brats", headers: HeadersInit = {}) =>
      app.request(`/segment/volume?${query}`, { method: "POST", body, headers });
    try {
      const three = await problem(await post(form(files(["flair", "t1", "t1ce"]))), 400, "t2");
      assertEquals(three.field, "t2");
      const full = await readNifti(await Deno.readFile(dataFile(`${CASE}t2.nii.gz`)!));
      const mismatched = {
        ...files(["flair", "t1", "t1ce"]),
        t2: await writeNifti(full.header, full.data),
      };
      const m = await problem(await post(form(mismatched)), 422, "240x240x155");
      assertEquals(m.field, "t2");
      const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 0]);
      const notNifti = await problem(
        await post(form({ ...files(["flair", "t1", "t1ce"]), t2: png })),
        400,
        "t2:",
      );
      assertEquals(notNifti.field, "t2");
      await problem(await post(form({ ...files(BRATS_MODALITIES.slice()), t1c: png })), 400, "t1c");
      await problem(
        await post("x", "model=tiny-brats", { "content-type": "text/plain" }),
        415,
        "multipart",
      );
      await problem(await post(form(files(["flair"])), "model=nope"), 404, "nope");
      await problem(
        await post(form(files(["flair"])), "model=tiny-brats&blend=cubic"),
        400,
        "blend",
      );
      await problem(
        await post(form(files(["flair"])), "model=tiny-brats&overlap=1"),
        400,
        "overlap",
      );
      await problem(await app.request("/segment/volume/jobs/nope"), 404, "nope");
      await problem(await app.request("/segment/volume/jobs/nope/result"), 404, "nope");
      // the next request is served normally
      const ok = await post(
        form(files([...BRATS_MODALITIES])),
        "model=tiny-brats&wait=1&format=json",
      );
      assertEquals(ok.status, 200);
    } finally {
      await teardown(root);
    }
  },
});

Deno.test({
  name: "a full queue is a 503 with Retry-After; a failed job says why in its events and result",
  ignore: !hasCase,
  sanitizeResources: false,
  async fn() {
    const full = await setup({ queue: new JobQueue<VolumeResult>({ maxJobs: 0 }) });
    try {
      const res = await full.app.request("/segment/volume?model=tiny-brats", {
        method: "POST",
        body: form(files([...BRATS_MODALITIES])),
      });
      await problem(res, 503, "queue is full");
      assertEquals(res.headers.get("retry-after"), "30");
    } finally {
      await teardown(full.root);
    }
    // a card that promises 2 labels for a 3-output model: the job fails, saying so
    const { root, app } = await setup();
    try {
      await installTinyBrats(root, "broken", [1, 2]);
      const post = await app.request("/segment/volume?model=broken", {
        method: "POST",
        body: form(files([...BRATS_MODALITIES])),
      });
      assertEquals(post.status, 202);
      const { id } = await post.json();
      const events = parseSse(await (await app.request(`/segment/volume/jobs/${id}`)).text());
      const last = events.at(-1)!;
      assertEquals(last.event, "error");
      const error = last.data.error as { code: string; status: number; message: string };
      assertEquals(error.code, "invalid-input");
      assertEquals(error.status, 422);
      assert(error.message.includes("2 channels"), error.message);
      await problem(await app.request(`/segment/volume/jobs/${id}/result`), 422, "2 channels");
      const state = await (await app.request(`/segment/volume/jobs/${id}?format=json`)).json();
      assertEquals(state.state, "failed");
    } finally {
      await teardown(root);
    }
  },
});
