/**
 * The model runtime with fixture models of known weights (tests/models/_fixtures.ts): backend
 * assertion, registry, lazy loading, replay of every card, resize / pad / tile fitting, blending,
 * threshold and argmax, and no tensor left behind.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { setupBackend } from "../../lib/models/backend.ts";
import { parseCard } from "../../lib/models/card.ts";
import { loadModel, unloadModels } from "../../lib/models/load.ts";
import {
  findModel,
  listModels,
  ModelNotFoundError,
  modelsRoot,
} from "../../lib/models/registry.ts";
import { checkReplay } from "../../lib/models/replay.ts";
import {
  argmax,
  planInference,
  segmentImage,
  thresholdProbs as threshold,
  toMask,
} from "../../lib/models/infer.ts";
import { scalePreset } from "../../lib/pipelines/presets.ts";
import { blendWeights, tileStarts } from "../../lib/models/tiling.ts";
import { greyImage, lcg, makeModelsRoot, sigmoidOf } from "./_fixtures.ts";

const root = await makeModelsRoot();
const opts = { root };
const FIXTURES = ["conv3", "fixed32", "graph", "green", "shrinks", "sigmoid", "twoclass", "unet"];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("backend: wasm with SIMD is the active tfjs backend", async () => {
  const info = await setupBackend("wasm");
  assertEquals(tf.getBackend(), "wasm");
  assertEquals(info.name, "wasm");
  assert(info.simd, "the SIMD binary should run in Deno");
  assertEquals(info.threads, 1);
});

Deno.test("backend: a .wasm that cannot be read is an error at start, not a fallback", async () => {
  const script = new URL("./_backend_fail.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env: { MEDIMG_TFJS_WASM_DIR: "/nonexistent-medimg-wasm" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(text.startsWith("BackendError: the wasm backend did not start"), text);
  assert(!text.includes("started"));
});

Deno.test("backend: an unknown MEDIMG_BACKEND is refused", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_backend_fail.ts", import.meta.url).pathname],
    env: { MEDIMG_BACKEND: "tpu" },
    stdout: "piped",
  }).output();
  assert(new TextDecoder().decode(out.stdout).startsWith("BackendError: MEDIMG_BACKEND must be"));
});

Deno.test("backend: webgpu only on a hardware adapter unless a fallback is allowed; never wasm", async () => {
  const run = async (env: Record<string, string>) =>
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./_backend_fail.ts", import.meta.url).pathname],
        env,
        stdout: "piped",
      }).output()).stdout,
    ).trim();
  const plain = await run({ MEDIMG_BACKEND: "webgpu" });
  const allowed = await run({ MEDIMG_BACKEND: "webgpu", MEDIMG_WEBGPU_ALLOW_FALLBACK: "1" });
  console.log(`${plain}\n${allowed}`);
  const none = "BackendError: webgpu was asked for but this machine has no GPU adapter";
  if (plain.startsWith(none)) return assert(allowed.startsWith(none), allowed);
  // An adapter exists: a hardware one starts as is, a software fallback only when allowed.
  assert(
    plain === "started webgpu: 0 0 0.5 1.5" ||
      plain.includes("only adapter is a software fallback"),
    plain,
  );
  assertEquals(allowed, "started webgpu: 0 0 0.5 1.5");
});

Deno.test("backend: the fixture models on webgpu equal their wasm outputs, nothing leaked", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_webgpu_parity.ts", import.meta.url).pathname],
    env: { MEDIMG_WEBGPU_ALLOW_FALLBACK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const r = JSON.parse(lines[lines.length - 1]);
  if (r.skipped) return console.log(`skipped: ${r.skipped}`);
  assertEquals(r.backend, "webgpu");
  assertEquals(r.leaked, 0);
  assert(r.maxDiff < 1e-5, `max |webgpu - wasm| = ${r.maxDiff}`);
});

Deno.test("registry: lists the fixture models with their cards", async () => {
  const models = await listModels(root);
  assertEquals(models.map((m) => m.name), FIXTURES);
  assert(models.every((m) => m.card && !m.error));
  assertEquals(models.find((m) => m.name === "fixed32")!.card!.inputs[0].shape, [null, 32, 32, 1]);
  assertEquals(await listModels(`${root}/nothing-here`), []);
});

Deno.test("registry: a missing model is a ModelNotFoundError that says how to add one", async () => {
  const err = await assertRejects(() => findModel("ct-liver", root), ModelNotFoundError);
  assert(err.message.includes("not installed"));
  assert(err.message.includes("installed: conv3, fixed32"));
  assert(err.message.includes("models/README.md"));
  await assertRejects(() => findModel("../etc", root), ModelNotFoundError);
});

Deno.test("registry: a broken folder is listed with why", async () => {
  const broken = await Deno.makeTempDir({ prefix: "medimg-models-" });
  await Deno.mkdir(`${broken}/a`);
  await Deno.writeTextFile(`${broken}/a/card.json`, "{");
  await Deno.mkdir(`${broken}/b`);
  await Deno.writeTextFile(`${broken}/b/card.json`, JSON.stringify({ name: "b" }));
  await Deno.mkdir(`${broken}/c`); // no card: not a model folder
  const models = await listModels(broken);
  assertEquals(models.map((m) => m.name), ["a", "b"]);
  assert(models[0].error!.includes("not JSON"));
  assert(models[1].error!.includes("version"));
  await Deno.remove(broken, { recursive: true });
});

Deno.test("registry: the default root is the project's models/ unless MEDIMG_MODELS_DIR", () => {
  const set = Deno.env.get("MEDIMG_MODELS_DIR");
  try {
    Deno.env.delete("MEDIMG_MODELS_DIR");
    assert(modelsRoot().endsWith("/models"));
    Deno.env.set("MEDIMG_MODELS_DIR", "/srv/models/");
    assertEquals(modelsRoot(), "/srv/models");
  } finally {
    if (set === undefined) Deno.env.delete("MEDIMG_MODELS_DIR");
    else Deno.env.set("MEDIMG_MODELS_DIR", set);
  }
});

Deno.test("card: parseCard names the bad field", () => {
  assertThrows(() => parseCard({ name: "x", version: "1", task: "detect" }), Error, "task");
  const ok = { name: "x", version: "1", task: "segmentation", format: "layers" };
  assertThrows(() => parseCard({ ...ok, inputs: [] }), Error, "inputs");
  const inputs = [{ name: "image", shape: [null, 8, 8, 1] }];
  assertThrows(() => parseCard({ ...ok, inputs, output: { activation: "tanh" } }), Error, "output");
  const output = { activation: "sigmoid" };
  assertThrows(
    () => parseCard({ ...ok, inputs, output, tile: { size: 8, overlap: 8 } }),
    Error,
    "tile",
  );
  assertThrows(
    () =>
      parseCard({
        ...ok,
        inputs,
        output,
        replay: {
          inputs: [{ shape: [2], data: "AACAPw==" }],
          output: { shape: [1], data: "AACAPw==" },
          tolerance: 0,
        },
      }),
    Error,
    "replay.inputs[0].data",
  );
  assertEquals(parseCard({ ...ok, inputs, output }).name, "x");
});

Deno.test("load: once per isolate, lazily, with its load time", async () => {
  await unloadModels();
  const a = await loadModel("sigmoid", opts);
  assertEquals(a.cached, false);
  assert(a.loadMs.read > 0 && a.loadMs.warmup > 0);
  assertEquals(a.backend.name, "wasm");
  const b = await loadModel("sigmoid", opts);
  assertEquals(b.cached, true);
  assert(a.model === b.model);
  await assertRejects(() => loadModel("absent", opts), ModelNotFoundError);
});

Deno.test("replay: every fixture card and every shipped model's card recomputes its pair", async () => {
  const shipped = (await listModels(modelsRoot())).map((m) => ({
    name: m.name,
    root: modelsRoot(),
  }));
  const all = [...FIXTURES.map((name) => ({ name, root })), ...shipped];
  for (const { name, root } of all) {
    const loaded = await loadModel(name, { root });
    const r = checkReplay(loaded);
    assert(r.ok, `${name}: max |diff| ${r.maxDiff} > tolerance ${r.tolerance}`);
  }
  console.log(`replayed ${all.length} cards (${shipped.length} shipped in models/)`);
});

Deno.test("replay: a changed weight fails the replay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medimg-models-" });
  await Deno.mkdir(`${dir}/sigmoid`);
  for (const f of ["model.json", "card.json"]) {
    await Deno.copyFile(`${root}/sigmoid/${f}`, `${dir}/sigmoid/${f}`);
  }
  const w = await Deno.readFile(`${root}/sigmoid/weights.bin`);
  new DataView(w.buffer).setFloat32(0, 1.01, true);
  await Deno.writeFile(`${dir}/sigmoid/weights.bin`, w);
  const r = checkReplay(await loadModel("sigmoid", { root: dir }));
  assert(!r.ok && r.maxDiff > 1e-4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("infer: a 1x1 sigmoid model gives sigmoid(v/255 - 0.5) at every pixel, exactly", async () => {
  const loaded = await loadModel("sigmoid", opts);
  const img = greyImage(37, 23, (x, y) => (x * 7 + y * 13) % 256);
  const { probs, plan } = await segmentImage(loaded, scalePreset(img, {}, { channels: "grey" }));
  assertEquals(plan.fit, "pad");
  assertEquals([probs.width, probs.height, probs.channels], [37, 23, 1]);
  for (let i = 0; i < img.data.length; i++) {
    assertAlmostEquals(probs.data[i], sigmoidOf(img.data[i]), 1e-6);
  }
  const mask = threshold(probs, 0.5);
  for (let i = 0; i < img.data.length; i++) assertEquals(mask[i], img.data[i] >= 128 ? 1 : 0);
});

Deno.test("infer: a GraphModel (TF GraphDef) runs as the same LayersModel does", async () => {
  const graph = await loadModel("graph", opts);
  assertEquals(graph.card.format, "graph");
  const img = greyImage(19, 7, (x, y) => (x * 13 + y * 29) % 256);
  const { probs } = await segmentImage(graph, scalePreset(img, {}, {}));
  for (let i = 0; i < img.data.length; i++) {
    assertAlmostEquals(probs.data[i], sigmoidOf(img.data[i]), 1e-6);
  }
});

Deno.test("infer: a fixed 32x32 model is resized to and the mask mapped back to the right pixels", async () => {
  const loaded = await loadModel("fixed32", opts);
  // 64x48: the left half bright, a bright square bottom right.
  const img = greyImage(64, 48, (x, y) => (x < 32 || (x >= 48 && y >= 32) ? 255 : 0));
  const { probs, plan } = await segmentImage(loaded, scalePreset(img, {}, {}));
  assertEquals(plan.fit, "resize");
  assertEquals(plan.size, [32, 32]);
  assertEquals([probs.width, probs.height], [64, 48]);
  const mask = toMask(probs, loaded.card);
  for (let i = 0; i < img.data.length; i++) {
    assertEquals(mask[i], img.data[i] ? 1 : 0, `pixel ${i}`);
  }
});

Deno.test("infer: tiles blended with overlap give the whole-image output (no seam)", async () => {
  const loaded = await loadModel("conv3", opts);
  const img = greyImage(
    77,
    70,
    (x, y) => (Math.sin(x / 3) * 100 + Math.cos(y / 5) * 100 + 128) & 255,
  );
  const x = scalePreset(img, {}, {});
  const whole = await segmentImage(loaded, x, { fit: "pad" });
  assertEquals(whole.plan.tiles, 1);
  for (const batch of [1, 3, 16]) {
    const tiled = await segmentImage(loaded, x, { batch });
    assertEquals(tiled.plan.fit, "tile");
    assertEquals(tiled.plan.tiles, 16); // starts 0,16,32,45 x 0,16,32,38
    assertEquals(tiled.passes, Math.ceil(16 / batch));
    assert(maxAbsDiff(tiled.probs.data, whole.probs.data) < 1e-6);
  }
  // Without overlap the tile edges show: the test can fail.
  const seams = await segmentImage(loaded, x, { fit: "tile", overlap: 0 });
  assert(maxAbsDiff(seams.probs.data, whole.probs.data) > 1e-3);
});

Deno.test("infer: a U-Net tiled with overlap stays close to its whole-image output", async () => {
  const loaded = await loadModel("unet", opts);
  assertEquals(loaded.accelerated, ["up1_tconv", "up0_tconv"]);
  const img = greyImage(96, 80, (x, y) => ((x * x + y * 3) >> 2) & 255);
  const x = scalePreset(img, {}, {});
  const whole = await segmentImage(loaded, x, { fit: "pad" });
  assertEquals(whole.plan.size, [80, 96]);
  const tiled = await segmentImage(loaded, x, { fit: "tile", overlap: 16 });
  const plain = await segmentImage(loaded, x, { fit: "tile", overlap: 0 });
  const blended = maxAbsDiff(tiled.probs.data, whole.probs.data);
  assert(blended < maxAbsDiff(plain.probs.data, whole.probs.data), `blended ${blended}`);
});

Deno.test("infer: a fully convolutional model pads to its stride and crops back", async () => {
  const loaded = await loadModel("unet", opts);
  const plan = planInference(loaded.card, 30, 21);
  assertEquals([plan.fit, plan.size, plan.tiles], ["pad", [32, 24], 1]);
  const { probs } = await segmentImage(
    loaded,
    scalePreset(greyImage(21, 30, (x) => x * 9), {}, {}),
  );
  assertEquals([probs.width, probs.height], [21, 30]);
});

Deno.test("infer: a fully convolutional net tiles an image over maxPassPixels, or refuses to pad it", async () => {
  const loaded = await loadModel("conv3", opts);
  const card = { ...loaded.card, tile: undefined };
  const small = planInference(card, 100, 100, { maxPassPixels: 10_000 });
  assertEquals([small.fit, small.tiles], ["pad", 1]);
  const big = planInference(card, 101, 100, { maxPassPixels: 10_000 });
  assertEquals([big.fit, big.size, big.tiles], ["tile", [512, 512], 1]);
  assertThrows(
    () => planInference(card, 101, 100, { maxPassPixels: 10_000, fit: "pad" }),
    Error,
    "use fit=tile",
  );
});

Deno.test("infer: the pixel cap bounds how many tiles share a pass (the memory a tiled request peaks at)", async () => {
  const card = { ...(await loadModel("conv3", opts)).card, tile: undefined };
  const plan = (maxPassPixels?: number, batch?: number) => {
    const p = planInference(card, 1100, 1000, { maxPassPixels, batch });
    return [p.fit, p.size, p.tiles, p.batch];
  };
  assertEquals(plan(), ["tile", [512, 512], 9, 4]); // 4 tiles of 512x512 = the default 1 Mi pixels
  assertEquals(plan(2 * 512 * 512), ["tile", [512, 512], 9, 2]);
  assertEquals(plan(512 * 512), ["tile", [512, 512], 9, 1]);
  assertEquals(plan(512 * 512 - 1), ["tile", [512, 512], 9, 1]); // never less than one tile
  assertEquals(plan(undefined, 8), ["tile", [512, 512], 9, 4]); // a caller's batch is capped too
  assertEquals(plan(undefined, 2), ["tile", [512, 512], 9, 2]);
});

Deno.test("infer: channels: an RGB model reads green from RGB, takes grey as three equal channels", async () => {
  const loaded = await loadModel("green", opts);
  const rgb = new Uint8Array([255, 0, 255, 0, 255, 0]); // 2x1: magenta, green
  const x = scalePreset({ width: 2, height: 1, channels: 3, data: rgb }, {}, { channels: "rgb" });
  const { probs } = await segmentImage(loaded, x);
  assertAlmostEquals(probs.data[0], sigmoidOf(0), 1e-6);
  assertAlmostEquals(probs.data[1], sigmoidOf(255), 1e-6);
  const grey = scalePreset(greyImage(2, 1, (x) => x * 255), {}, { channels: "rgb" });
  assertEquals(grey.channels, 3);
  const g = await segmentImage(loaded, grey);
  assertAlmostEquals(g.probs.data[1], sigmoidOf(255), 1e-6);
  // A grey model cannot take RGB: 422 with why.
  assertThrows(
    () => scalePreset({ width: 2, height: 1, channels: 3, data: rgb }, {}, { channels: "grey" }),
    Error,
    "takes grey images",
  );
  const sig = await loadModel("sigmoid", opts);
  await assertRejects(() => segmentImage(sig, x), Error, "1-channel (grey) input");
});

Deno.test("infer: two classes: softmax probabilities, argmax labels, mask = not class 0", async () => {
  const loaded = await loadModel("twoclass", opts);
  const img = greyImage(4, 1, (x) => x * 85); // 0, 85, 170, 255 -> logits (2-4v, -2+4v)
  const { probs } = await segmentImage(loaded, scalePreset(img, {}, {}));
  assertEquals(probs.channels, 2);
  assertEquals([...argmax(probs)], [0, 0, 1, 1]);
  assertEquals([...toMask(probs, loaded.card)], [0, 0, 1, 1]);
});

Deno.test("infer: helpers: tile starts, blending weights, threshold, argmax ties", () => {
  assertEquals(tileStarts(100, 40, 8), [0, 32, 60]);
  assertEquals(tileStarts(30, 40, 8), [0]);
  assertEquals(tileStarts(40, 40, 8), [0]);
  assertEquals([...blendWeights(8, 4, true, false)], [1, 1, 1, 1, 1, 1, 1, 0]);
  assertEquals([...blendWeights(8, 8, false, false)], [0, 0, 0.5, 1, 1, 0.5, 0, 0]);
  assertEquals([...blendWeights(4, 0, false, false)], [1, 1, 1, 1]);
  const p = { data: Float32Array.of(0.5, 0.51), width: 2, height: 1, channels: 1 };
  assertEquals([...threshold(p, 0.5)], [0, 1]);
  assertEquals([...argmax({ data: Float32Array.of(0.5, 0.5), width: 1, height: 1, channels: 2 })], [
    0,
  ]);
});

Deno.test("infer: no tensor is left behind, also when the model fails", async () => {
  const sig = await loadModel("sigmoid", opts);
  const conv3 = await loadModel("conv3", opts);
  const shrinks = await loadModel("shrinks", opts);
  const x = scalePreset(greyImage(50, 40, (x, y) => x + y), {}, {});
  const before = tf.memory().numTensors;
  await segmentImage(sig, x);
  await segmentImage(conv3, x, { batch: 2 });
  await assertRejects(() => segmentImage(shrinks, x), Error, "must keep height and width");
  await assertRejects(() => segmentImage(sig, { ...x, channels: 3 }), Error, "1-channel");
  checkReplay(conv3);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test({
  name: "cleanup",
  fn: async () => {
    await unloadModels();
    await Deno.remove(root, { recursive: true });
  },
});

void lcg;
