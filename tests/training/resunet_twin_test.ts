/**
 * The ResUNet twins (training/_shared/resunet.py and resunet.ts) compute the same: a small ResUNet
 * with random weights and random BatchNorm statistics, built in PyTorch and in tfjs from the same
 * dumped weights, on a random 0-255 input. Guards the details the export relies on: TensorFlow's
 * 0/1 padding of stride-2 'same' convolutions, Keras' BatchNorm epsilon, nearest upsampling, the
 * [up, skip] order. Skipped, saying why, without /usr/bin/python3 with torch.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert } from "@std/assert";
import { setupBackend } from "../../lib/models/backend.ts";
import { setWeights } from "../../training/_shared/export.ts";
import { buildResUnet } from "../../training/_shared/resunet.ts";
import { float32s, maxDiff, python, withoutTorch } from "./_recipe.ts";

const noTorch = await withoutTorch();
if (noTorch) console.log(`skipping the ResUNet twin test: ${noTorch}`);

Deno.test({
  name: "ResUNet: tfjs twin equals PyTorch with trained-like BatchNorm statistics",
  ignore: noTorch !== undefined,
  async fn() {
    await setupBackend("wasm");
    const dump = JSON.parse(
      await python(
        `
import json, torch, recipe
from resunet import ResUNet
torch.manual_seed(3)
m = ResUNet(1, filters=(4, 6, 8, 10, 12))
for b in [x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)]:
    b.running_mean.uniform_(-2, 2); b.running_var.uniform_(0.2, 3)
    b.weight.data.uniform_(0.5, 1.5); b.bias.data.uniform_(-0.5, 0.5)
m.eval()
x = torch.rand(1, 1, 48, 32) * 255
with torch.no_grad(): y = m(x)
print(json.dumps({"weights": {k: [recipe.tensor(w) for w in v] for k, v in m.tfjs_weights().items()},
                  "x": recipe.tensor(x.permute(0, 2, 3, 1).numpy()),
                  "y": recipe.tensor(y.permute(0, 2, 3, 1).numpy())}))
`,
        "training/cxr_pneumothorax",
      ),
    );
    const model = buildResUnet({ size: null, filters: [4, 6, 8, 10, 12] });
    setWeights(model, dump.weights);
    const got = tf.tidy(() =>
      (model.predict(tf.tensor(float32s(dump.x.data), dump.x.shape)) as tf.Tensor)
        .dataSync() as Float32Array
    );
    model.dispose();
    const d = maxDiff(got, float32s(dump.y.data));
    assert(d < 1e-5, `tfjs vs PyTorch ${d}`);
  },
});
