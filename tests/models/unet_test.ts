/**
 * buildUnet against the same network in PyTorch (reference/unet_torch.py `reference`, seeded weights in
 * tfjs layouts): the layer names and weight layouts of the contract give the PyTorch output.
 * Fixture: /usr/bin/python3 reference/unet_torch.py reference --levels 2 --filters 4 --size 16
 *          --channels 1 --out tests/fixtures/unet_torch_reference.json.gz
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "@std/assert";
import { readGzipText } from "../_data.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { decodeFloat32 } from "../../lib/models/card.ts";
import { accelerate, useFastConcat } from "../../lib/models/fast.ts";
import { buildUnet, unetFlops } from "../../lib/models/unet.ts";

interface Stored {
  shape: number[];
  data: string;
}

const ref = JSON.parse(
  await readGzipText(new URL("../fixtures/unet_torch_reference.json.gz", import.meta.url).pathname),
) as {
  levels: number;
  filters: number;
  channels: number;
  weights: Record<string, { kernel: Stored; bias: Stored }>;
  input: Stored;
  output: Stored;
};

const tensor = (s: Stored) => tf.tensor(decodeFloat32(s.data), s.shape);

Deno.test("buildUnet: layer names of the contract, and the PyTorch output with its weights", async () => {
  await setupBackend("wasm");
  const model = buildUnet({
    inputChannels: ref.channels,
    levels: ref.levels,
    filters: ref.filters,
  });
  const names = model.layers.map((l) => l.name);
  assertEquals(names, [
    "image",
    "enc0_conv1",
    "enc0_conv2",
    "enc0_pool",
    "enc1_conv1",
    "enc1_conv2",
    "enc1_pool",
    "bottom_conv1",
    "bottom_conv2",
    "up1_tconv",
    "up1_concat",
    "dec1_conv1",
    "dec1_conv2",
    "up0_tconv",
    "up0_concat",
    "dec0_conv1",
    "dec0_conv2",
    "head",
  ]);
  for (const [name, w] of Object.entries(ref.weights)) {
    const kb = [tensor(w.kernel), tensor(w.bias)];
    model.getLayer(name).setWeights(kb);
    tf.dispose(kb);
  }
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => (model.predict(tensor(ref.input)) as tf.Tensor).dataSync());
  assertEquals(tf.memory().numTensors, before);
  const want = decodeFloat32(ref.output.data);
  assertEquals(got.length, want.length);
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  assert(maxDiff < 1e-5, `max |tfjs - torch| = ${maxDiff}`);
  // The check can fail: outputs are not all the same value.
  assert(Math.max(...want) - Math.min(...want) > 1e-3);
  model.dispose();
});

Deno.test("unetFlops: counts the seed 003 network", () => {
  // enc: 2*512^2*9*(1*32+32*32) ... summed by hand for levels 1 filters 2 at 4x4:
  // enc0 2*16*9*(1*2+2*2)=1728; bottom 2*4*9*(2*4+4*4)=1728; tconv 2*16*4*2=256;
  // dec0 2*16*9*(4*2+2*2)=3456; head 2*16*2=64
  assertEquals(unetFlops({ inputChannels: 1, levels: 1, filters: 2 }, 4, 4), 7232);
});

Deno.test("accelerate + fast concat: the same PyTorch output, no tensor left behind", async () => {
  await setupBackend("wasm");
  const model = buildUnet({
    inputChannels: ref.channels,
    levels: ref.levels,
    filters: ref.filters,
  });
  for (const [name, w] of Object.entries(ref.weights)) {
    const kb = [tensor(w.kernel), tensor(w.bias)];
    model.getLayer(name).setWeights(kb);
    tf.dispose(kb);
  }
  // A batch of two, not square, to catch a wrong row interleave.
  const x = tf.tidy(() => tf.randomUniform([2, 24, 40, 1], 0, 1, "float32", 5));
  const slow = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  assertEquals(accelerate(model), ["up1_tconv", "up0_tconv"]);
  useFastConcat();
  const before = tf.memory().numTensors;
  const fast = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  assertEquals(tf.memory().numTensors, before);
  let maxDiff = 0;
  for (let i = 0; i < fast.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fast[i] - slow[i]));
  assert(maxDiff < 1e-6, `max |fast - slow| = ${maxDiff}`);
  const got = tf.tidy(() => (model.predict(tensor(ref.input)) as tf.Tensor).dataSync());
  const want = decodeFloat32(ref.output.data);
  for (let i = 0; i < got.length; i++) assert(Math.abs(got[i] - want[i]) < 1e-5);
  // Concat of other dtypes and axes still answers as tfjs' own.
  const c = tf.tidy(() =>
    tf.concat(
      [tf.tensor2d([[1], [2]], [2, 1], "int32"), tf.tensor2d([[3], [4]], [2, 1], "int32")],
      1,
    ).arraySync()
  );
  assertEquals(c, [[1, 3], [2, 4]]);
  const f = tf.tidy(() => tf.concat([tf.tensor2d([[1, 2]]), tf.tensor2d([[3, 4]])], 0).arraySync());
  assertEquals(f, [[1, 2], [3, 4]]);
  tf.dispose(x);
  model.dispose();
});
