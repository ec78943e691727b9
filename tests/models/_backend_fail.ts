/**
 * Run by runtime_test.ts in its own process: starts the backend and prints the error, if any;
 * once started, a fused conv's values (x * 2 - 0.5, ReLU) on it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../../lib/models/backend.ts";

try {
  await setupBackend();
  const y = tf.fused.conv2d({
    x: tf.tensor4d([0, 0.25, 0.5, 1], [1, 2, 2, 1]),
    filter: tf.tensor4d([2], [1, 1, 1, 1]),
    strides: 1,
    pad: "same",
    bias: tf.tensor1d([-0.5]),
    activation: "relu",
  });
  console.log(`started ${tf.getBackend()}: ${[...(await y.data())].join(" ")}`);
} catch (err) {
  console.log(`${(err as Error).name}: ${(err as Error).message}`);
}
