/**
 * Small models with known weights, saved as standard tfjs artifacts + card.json into a temporary
 * models root, so tests know every output exactly.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { setupBackend } from "../../lib/models/backend.ts";
import { encodeFloat32, type ModelCard } from "../../lib/models/card.ts";
import { fileHandler } from "../../lib/models/io.ts";
import { makeReplay } from "../../lib/models/replay.ts";
import { buildUnet } from "../../lib/models/unet.ts";

/** Deterministic values in [-1, 1). */
export function lcg(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function setWeights(layer: tfl.layers.Layer, ...values: Float32Array[]): void {
  const ts = layer.getWeights().map((w, i) => tf.tensor(values[i], w.shape));
  layer.setWeights(ts);
  tf.dispose(ts);
}

function conv(name: string, filters: number, k: number, activation: string) {
  return tfl.layers.conv2d({
    name,
    filters,
    kernelSize: k,
    padding: "same",
    activation: activation as "relu",
  });
}

function card(name: string, over: Partial<ModelCard>): ModelCard {
  return {
    name,
    version: "0.0.1",
    task: "segmentation",
    description: "test fixture",
    not_for: "clinical use",
    format: "layers",
    inputs: [{ name: "image", shape: [null, null, null, 1], layout: "NHWC", channels: "grey" }],
    fully_convolutional: true,
    stride: 1,
    preprocess: { preset: "scale", params: { channels: "grey" } },
    output: { activation: "sigmoid", meaning: "foreground probability", classes: ["bg", "fg"] },
    threshold: 0.5,
    license: "CC0",
    ...over,
  };
}

async function save(root: string, model: tfl.LayersModel, c: ModelCard, replayShape: number[]) {
  const dir = `${root}/${c.name}`;
  await model.save(fileHandler(dir));
  const n = replayShape.reduce((a, b) => a * b, 1);
  const data = lcg(n, 7).map((v) => (v + 1) / 2);
  c.replay = makeReplay((x) => model.predict(x) as tf.Tensor, [{ shape: replayShape, data }], 1e-5);
  await Deno.writeTextFile(`${dir}/card.json`, JSON.stringify(c, null, 1));
  model.dispose();
}

/**
 * Writes the fixture models into a new temporary folder and answers its path:
 * - `sigmoid`: 1x1 conv, weight 1, bias -0.5, sigmoid, any size: p = sigmoid(v/255 - 0.5).
 * - `fixed32`: the same with a fixed 32x32 input (resized to and from).
 * - `conv3`: 3x3 conv (8, ReLU) -> 3x3 conv (8, ReLU) -> 1x1 sigmoid, seeded weights, tiles of
 *   32 with overlap 16 (receptive radius 2 <= the blending margin 4).
 * - `green`: RGB input, 1x1 conv weights (0, 1, 0), bias -0.5, sigmoid: the green plane.
 * - `twoclass`: 1x1 conv to 2 channels (+x, -x), softmax.
 * - `unet`: buildUnet levels 2, filters 4, seeded, stride 4, tiles 32 overlap 8.
 * - `shrinks`: a 2x2 max-pool: its output is half the input (a broken segmentation model).
 * - `graph`: the `sigmoid` model as a GraphModel (TF GraphDef JSON, as tensorflowjs_converter
 *   writes for a SavedModel): Conv2D 1x1 -> BiasAdd -> Sigmoid.
 */
export async function makeModelsRoot(): Promise<string> {
  await setupBackend("wasm");
  const root = await Deno.makeTempDir({ prefix: "medimg-models-" });

  let m = tfl.sequential({
    layers: [tfl.layers.conv2d({
      name: "c",
      inputShape: [null, null, 1],
      filters: 1,
      kernelSize: 1,
      activation: "sigmoid",
    })],
  });
  setWeights(m.layers[0], Float32Array.of(1), Float32Array.of(-0.5));
  await save(root, m, card("sigmoid", {}), [1, 4, 4, 1]);

  m = tfl.sequential({
    layers: [tfl.layers.conv2d({
      name: "c",
      inputShape: [32, 32, 1],
      filters: 1,
      kernelSize: 1,
      activation: "sigmoid",
    })],
  });
  setWeights(m.layers[0], Float32Array.of(1), Float32Array.of(-0.5));
  await save(
    root,
    m,
    card("fixed32", {
      inputs: [{ name: "image", shape: [null, 32, 32, 1], channels: "grey" }],
      fully_convolutional: false,
    }),
    [1, 32, 32, 1],
  );

  m = tfl.sequential({
    layers: [
      tfl.layers.inputLayer({ inputShape: [null, null, 1] }),
      conv("a", 8, 3, "relu"),
      conv("b", 8, 3, "relu"),
      conv("head", 1, 1, "sigmoid"),
    ],
  });
  setWeights(m.getLayer("a"), lcg(72, 2), lcg(8, 3).map((v) => v * 0.1));
  setWeights(m.getLayer("b"), lcg(576, 4).map((v) => v / 4), lcg(8, 5).map((v) => v * 0.1));
  setWeights(m.getLayer("head"), lcg(8, 6), Float32Array.of(0));
  await save(root, m, card("conv3", { tile: { size: 32, overlap: 16 } }), [1, 8, 8, 1]);

  m = tfl.sequential({
    layers: [tfl.layers.conv2d({
      name: "c",
      inputShape: [null, null, 3],
      filters: 1,
      kernelSize: 1,
      activation: "sigmoid",
    })],
  });
  setWeights(m.layers[0], Float32Array.of(0, 1, 0), Float32Array.of(-0.5));
  await save(
    root,
    m,
    card("green", {
      inputs: [{ name: "image", shape: [null, null, null, 3], channels: "rgb" }],
      preprocess: { preset: "scale", params: { channels: "rgb" } },
    }),
    [1, 4, 4, 3],
  );

  m = tfl.sequential({
    layers: [tfl.layers.conv2d({
      name: "c",
      inputShape: [null, null, 1],
      filters: 2,
      kernelSize: 1,
      activation: "softmax",
    })],
  });
  setWeights(m.layers[0], Float32Array.of(-4, 4), Float32Array.of(2, -2));
  await save(
    root,
    m,
    card("twoclass", { output: { activation: "softmax", classes: ["bg", "fg"] } }),
    [1, 4, 4, 1],
  );

  const unet = buildUnet({ inputChannels: 1, levels: 2, filters: 4 });
  for (const [i, layer] of unet.layers.entries()) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    setWeights(
      layer,
      ...ws.map((w, j) => lcg(w.size, 100 + 2 * i + j).map((v) => (j === 0 ? v * 0.5 : v * 0.05))),
    );
  }
  await save(
    root,
    unet,
    card("unet", { stride: 4, tile: { size: 32, overlap: 8 } }),
    [1, 16, 16, 1],
  );

  await writeGraphModel(root);

  m = tfl.sequential({
    layers: [tfl.layers.maxPooling2d({ inputShape: [null, null, 1], poolSize: 2 })],
  });
  await save(root, m, card("shrinks", {}), [1, 4, 4, 1]);
  return root;
}

const b64 = (s: string) => btoa(s);
const FLOAT = { type: "DT_FLOAT" };
const dims = (...d: number[]) => ({ dim: d.map((n) => ({ size: String(n) })) });

/** The `graph` fixture: a hand-written GraphDef with its weights, and its card. */
async function writeGraphModel(root: string): Promise<void> {
  const dir = `${root}/graph`;
  await Deno.mkdir(dir);
  const constNode = (name: string, shape: number[]) => ({
    name,
    op: "Const",
    attr: { dtype: FLOAT, value: { tensor: { dtype: "DT_FLOAT", tensorShape: dims(...shape) } } },
  });
  const json = {
    format: "graph-model",
    generatedBy: "tests/models/_fixtures.ts",
    convertedBy: null,
    modelTopology: {
      node: [
        {
          name: "image",
          op: "Placeholder",
          attr: { dtype: FLOAT, shape: { shape: dims(-1, -1, -1, 1) } },
        },
        constNode("w", [1, 1, 1, 1]),
        constNode("b", [1]),
        {
          name: "conv",
          op: "Conv2D",
          input: ["image", "w"],
          attr: {
            T: FLOAT,
            strides: { list: { i: ["1", "1", "1", "1"] } },
            padding: { s: b64("SAME") },
            data_format: { s: b64("NHWC") },
            dilations: { list: { i: ["1", "1", "1", "1"] } },
          },
        },
        {
          name: "add",
          op: "BiasAdd",
          input: ["conv", "b"],
          attr: { T: FLOAT, data_format: { s: b64("NHWC") } },
        },
        { name: "prob", op: "Sigmoid", input: ["add"], attr: { T: FLOAT } },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [{
      paths: ["weights.bin"],
      weights: [
        { name: "w", shape: [1, 1, 1, 1], dtype: "float32" },
        { name: "b", shape: [1], dtype: "float32" },
      ],
    }],
  };
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(json));
  await Deno.writeFile(`${dir}/weights.bin`, new Uint8Array(Float32Array.of(1, -0.5).buffer));
  const c = card("graph", { format: "graph" });
  const data = lcg(16, 7).map((v) => (v + 1) / 2);
  const want = data.map((v) => 1 / (1 + Math.exp(-(v - 0.5))));
  c.replay = {
    inputs: [{ shape: [1, 4, 4, 1], data: encodeFloat32(data) }],
    output: { shape: [1, 4, 4, 1], data: encodeFloat32(want) },
    tolerance: 1e-6,
  };
  await Deno.writeTextFile(`${dir}/card.json`, JSON.stringify(c, null, 1));
}

/** A grey Uint8 image whose value at (x, y) is f(x, y). */
export function greyImage(width: number, height: number, f: (x: number, y: number) => number) {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, channels: 1 as const, data };
}

/** sigmoid(v / 255 - 0.5) in float32, what `sigmoid` gives for sample v. */
export function sigmoidOf(v: number): number {
  return Math.fround(1 / (1 + Math.exp(-(Math.fround(v / 255) - 0.5))));
}

/** A tiny fully convolutional 3D U-Net with fixed weights, installed as `tiny-brats` in a temp root. */
export async function installTinyBrats(root: string, name = "tiny-brats", labels = [1, 2, 4]) {
  const model = buildUnet({
    dims: 3,
    inputChannels: 4,
    levels: 1,
    filters: 4,
    outputChannels: 3,
    inputSize: [8, 16, 16],
  });
  model.setWeights(
    model.getWeights().map((w, j) =>
      tf.tidy(() => {
        const v = Float32Array.from(
          { length: w.size },
          (_, i) => Math.sin(i * 0.91 + j * 1.7) * 0.4,
        );
        return tf.tensor(v, w.shape);
      })
    ),
  );
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await model.save(fileHandler(dir));
  model.dispose();
  const card = {
    name,
    version: "0.0.1",
    task: "segmentation",
    format: "layers",
    not_for: "anything: a test fixture with fixed arbitrary weights",
    inputs: [{ name: "volume", shape: [null, 8, 16, 16, 4], layout: "NDHWC" }],
    preprocess: { preset: "brats", params: { dropDepth: 155, dropHead: 5, dropTail: 15 } },
    output: { activation: "sigmoid", classes: ["NCR", "ED", "ET"] },
    label_values: labels,
    threshold: 0.5,
  };
  await Deno.writeTextFile(`${dir}/card.json`, JSON.stringify(card));
}
