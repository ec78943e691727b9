/**
 * What the three exporters (fundus, cxr, brats) share: PyTorch weights dumped as named float32
 * tensors (base64 little-endian) put into the same net built with tfjs-layers, and the parity check.
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { decodeFloat32 } from "../../lib/models/card.ts";

/** One dumped tensor. */
export interface Stored {
  shape: number[];
  data: string;
}

/** A dumped tensor as a tfjs tensor. */
export function toTensor(s: Stored): tf.Tensor {
  return tf.tensor(decodeFloat32(s.data), s.shape);
}

/** The largest absolute difference between two outputs of one size. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`sizes differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Sets every weighted layer from the dump by layer name, shapes checked; a dumped layer with no tfjs
 * twin is an error too. With `float16`, weights are rounded through float16 first (as they will be
 * stored).
 */
export function setWeights(
  model: tfl.LayersModel,
  weights: Record<string, Stored[]>,
  float16 = false,
): void {
  const left = new Set(Object.keys(weights));
  for (const layer of model.layers) {
    const current = layer.getWeights();
    if (current.length === 0) continue;
    const stored = weights[layer.name];
    if (!stored) throw new Error(`no weights dumped for layer ${layer.name}`);
    left.delete(layer.name);
    layer.setWeights(stored.map((s, i) => {
      const want = current[i].shape.join("x"), got = s.shape.join("x");
      if (want !== got) throw new Error(`${layer.name}[${i}]: tfjs wants ${want}, dump has ${got}`);
      const v = decodeFloat32(s.data);
      return tf.tensor(float16 ? Float32Array.from(new Float16Array(v)) : v, s.shape);
    }));
  }
  if (left.size > 0) throw new Error(`dumped weights of no tfjs layer: ${[...left].join(", ")}`);
}
