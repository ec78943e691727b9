/**
 * lib/models/pool.ts: inference spread over Deno Workers gives exactly the in-process result (a
 * small 3D U-Net over the windows of a volume, a 2D U-Net over the tiles of a slice and over the
 * slices of a series, and the whole volume pipeline on the real BraTS case downsampled), and a
 * failing or dying worker fails only its own pass with a typed error, the pool going on after it.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { NotFoundError } from "../../lib/errors.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { inferFitted, planInference } from "../../lib/models/infer.ts";
import { loadModel } from "../../lib/models/load.ts";
import {
  ModelPool,
  pooledModel,
  poolForward,
  workerCount,
  WorkerError,
} from "../../lib/models/pool.ts";
import { layersForward, slidingWindow3d, type Volume4 } from "../../lib/models/sliding3d.ts";
import type { Series } from "../../lib/dicom/series.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { segmentSeries } from "../../lib/pipelines/series.ts";
import { segmentVolume, volumeModel, volumeParams } from "../../lib/pipelines/volume.ts";
import { findModel } from "../../lib/models/registry.ts";
import { downsampled, hasCase } from "../_brats.ts";
import { installTinyBrats, lcg, makeModelsRoot } from "./_fixtures.ts";

await setupBackend("wasm");
const root = await makeModelsRoot();
await installTinyBrats(root);
/** The pool of the parity tests (two workers started once); the last test terminates it. */
const pool = new ModelPool(2);

function volume(c: number, d: number, h: number, w: number): Volume4 {
  return {
    data: lcg(c * d * h * w, 11).map((v) => v * 2),
    channels: c,
    depth: d,
    height: h,
    width: w,
  };
}

/** Bitwise equality of two float arrays (NaN-safe, -0 vs 0 told apart). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assertEquals(a.length, b.length, `${what}: lengths`);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
  assertEquals(diff, 0, `${what}: ${diff} of ${a.length} values differ`);
}

Deno.test({
  name: "windows of a volume over 2 workers: the blended result is bit-for-bit the in-process one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const loaded = await loadModel("tiny-brats", { root });
    const vol = volume(4, 14, 28, 28);
    const options = { patch: [8, 16, 16] as [number, number, number], outChannels: 3, batch: 2 };
    const one = await slidingWindow3d(vol, layersForward(loaded.predict, 4), options);
    assertEquals(one.windows, 8);
    {
      const pooled = pooledModel(loaded, pool)!;
      assertEquals([pooled.root, pooled.name], [root, "tiny-brats"]);
      const two = await slidingWindow3d(vol, poolForward(pooled, 4), {
        ...options,
        concurrency: 4,
      });
      assertSameBits(two.data, one.data, "2 workers vs in process");
      assertEquals(pool.started, 2);
      // the input volume is not consumed by the transfers
      assertSameBits(vol.data, volume(4, 14, 28, 28).data, "input volume");
    }
  },
});

Deno.test({
  name: "tiles of a slice and slices of a series over 2 workers: the in-process maps and labels",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const loaded = await loadModel("unet", { root });
    const width = 100, height = 90;
    const tensor = lcg(width * height, 5).map((v) => (v + 1) / 2);
    const x = { tensor, width, height, channels: 1 };
    const plan = planInference(loaded.card, height, width, { batch: 2 });
    assertEquals([plan.fit, plan.tiles], ["tile", 16]);
    {
      const one = await inferFitted(loaded, x, plan, null);
      const two = await inferFitted(loaded, x, plan, pool);
      assertEquals(two.passes, one.passes);
      assertSameBits(two.probs.data, one.probs.data, "tiled, 2 workers vs in process");

      // a series of 6 slices of 40 x 36 (each tiled: larger than the 32 tile)
      const [w, h, d] = [40, 36, 6];
      const data = Uint8Array.from(lcg(w * h * d, 9), (v) => Math.round((v + 1) * 127));
      const series = {
        volume: { width: w, height: h, depth: d, frames: 1, spacing: [0.7, 0.7, 2.5], data },
        sliceSpacing: 2.5,
      } as unknown as Series;
      const s1 = await segmentSeries(loaded, series, {}, undefined, undefined, undefined, null);
      const s2 = await segmentSeries(loaded, series, {}, undefined, undefined, undefined, pool);
      assert(s1.labels.some((v) => v === 1) && s1.labels.some((v) => v === 0), "a mixed mask");
      assertEquals(s2.labels, s1.labels);
      assertEquals(s2.slices, s1.slices);
      assertEquals(s2.passes, s1.passes);
    }
  },
});

Deno.test({
  name: "a failing pass is a typed error of that pass; a dying worker is replaced",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const workerUrl = new URL("./_pool_crash_worker.ts", import.meta.url);
    const crashing = new ModelPool(2, { workerUrl });
    const input = () => lcg(16 * 16, 3);
    try {
      const ok = await crashing.forward(root, "sigmoid", input(), [1, 16, 16, 1]);
      assertEquals(ok.shape, [1, 16, 16, 1]);
      // a pass that throws in the worker: its typed error, and the worker lives on
      const missing = await assertRejects(
        () => crashing.forward(root, "no-such-model", input(), [1, 16, 16, 1]),
        NotFoundError,
      );
      assert(missing.message.includes("no-such-model"), missing.message);
      assertEquals(crashing.started, 1);
      // an error of no type of ours: a WorkerError that does not repeat its message
      const plain = await assertRejects(
        () => crashing.forward(root, "plain", input(), [1, 16, 16, 1]),
        WorkerError,
        "the server log says why",
      );
      assert(!plain.message.includes("secret"), plain.message);
      // a worker that dies mid-pass: a WorkerError for that pass only
      const others = [1, 2, 3].map(() =>
        crashing.forward(root, "sigmoid", input(), [1, 16, 16, 1])
      );
      const crash = await assertRejects(
        () => crashing.forward(root, "crash", input(), [1, 16, 16, 1]),
        WorkerError,
      );
      assert(crash.message.includes("died during a pass"), crash.message);
      for (const r of await Promise.all(others)) assertEquals(r.data, ok.data);
      // and the pool goes on, with a new worker in the dead one's place
      const after = await crashing.forward(root, "sigmoid", input(), [1, 16, 16, 1]);
      assertEquals(after.data, ok.data);
      // the dead worker's place is filled when a worker is needed there again
      const stats = await crashing.stats();
      assertEquals(crashing.started, 3);
      assertEquals(crashing.running, 2);
      assertEquals(stats.length, 2);
      for (const s of stats) assert(s.heapUsed > 0 && s.rss > 0, JSON.stringify(s));
    } finally {
      crashing.terminate();
    }
    await assertRejects(
      () => crashing.forward(root, "sigmoid", input(), [1, 16, 16, 1]),
      WorkerError,
      "shut down",
    );
  },
});

Deno.test("MEDIMG_WORKERS sets the pool size; 0 and 1 mean no pool", () => {
  const before = Deno.env.get("MEDIMG_WORKERS");
  try {
    Deno.env.set("MEDIMG_WORKERS", "3");
    assertEquals(workerCount(), 3);
    Deno.env.set("MEDIMG_WORKERS", "0");
    assertEquals(workerCount(), 0);
    Deno.env.set("MEDIMG_WORKERS", "two");
    assertThrows(() => workerCount(), RangeError, "MEDIMG_WORKERS");
    Deno.env.delete("MEDIMG_WORKERS");
    // not an origin entry point (useAllCores not called): in process
    assertEquals(workerCount(), 1);
    assertThrows(() => new ModelPool(0), RangeError);
  } finally {
    if (before === undefined) Deno.env.delete("MEDIMG_WORKERS");
    else Deno.env.set("MEDIMG_WORKERS", before);
  }
});

Deno.test({
  name: "the volume pipeline on the real BraTS case (downsampled), 2 workers: the same labels",
  ignore: !hasCase,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const parts = await Promise.all(BRATS_MODALITIES.map((m) => downsampled(m)));
    const volumes: Volume[] = parts.map((p) => p.volume);
    const m = volumeModel((await findModel("tiny-brats", root)).card);
    const p = volumeParams({ batch: 2 }, m);
    const one = await segmentVolume({ volumes }, m, p, root, () => {}, undefined, null);
    {
      const two = await segmentVolume({ volumes }, m, p, root, () => {}, undefined, pool);
      assertEquals(two.summary.labels, one.summary.labels);
      assertEquals(two.nifti, one.nifti);
      assert(Object.values(one.summary.labels).some((l) => l.voxels > 0), "some label found");
    }
  },
});

Deno.test({
  name: "the parity tests ran on 2 workers; terminate stops them and fails what comes after",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    assertEquals([pool.started, pool.running], [2, 2]);
    pool.terminate();
    assertEquals(pool.running, 0);
    await assertRejects(
      () => pool.forward(root, "sigmoid", lcg(4), [1, 2, 2, 1]),
      WorkerError,
      "shut down",
    );
  },
});
