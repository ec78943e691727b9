/**
 * Seed 001's ResUNet as a tfjs LayersModel, the twin of training/_shared/resunet.py (same layer
 * names; that file says which parts the seed prints and which follow the Kaggle kernel it copies):
 * pre-activation conv blocks (BatchNormalization, ReLU, Conv2D), a stem and residual blocks with
 * convolution + BatchNormalization shortcuts, nearest UpSampling2D and [up, skip] concatenation, a 1x1
 * sigmoid head. Only the exporter builds it; the service loads the written model.json like any
 * Keras-converted LayersModel.
 */
import * as tfl from "@tensorflow/tfjs-layers";

/** Seed 001's filters per level. */
export const RESUNET_FILTERS = [16, 32, 64, 128, 256];

/**
 * The ResUNet for `size` x `size` x 1 inputs (null: any multiple of 16).
 * @example buildResUnet({ size: 256 }).predict(tf.zeros([1, 256, 256, 1]))
 */
export function buildResUnet(
  options: { size: number | null; filters?: number[]; name?: string },
): tfl.LayersModel {
  const f = options.filters ?? RESUNET_FILTERS;
  if (f.length !== 5) throw new RangeError("the ResUNet has 5 filter counts");
  const input = tfl.input({ name: "image", shape: [options.size, options.size, 1] });
  type T = tfl.SymbolicTensor;
  const conv = (name: string, x: T, filters: number, k: number, strides = 1, act?: "sigmoid") =>
    tfl.layers.conv2d({
      name,
      filters,
      kernelSize: k,
      strides,
      padding: "same",
      activation: act ?? "linear",
    }).apply(x) as T;
  const norm = (name: string, x: T) =>
    tfl.layers.batchNormalization({ name, epsilon: 1e-3 }).apply(x) as T;
  const relu = (name: string, x: T) =>
    tfl.layers.activation({ name, activation: "relu" }).apply(x) as T;
  const add = (name: string, a: T, b: T) => tfl.layers.add({ name }).apply([a, b]) as T;
  const block = (name: string, x: T, filters: number, strides = 1) =>
    conv(`${name}_conv`, relu(`${name}_relu`, norm(`${name}_bn`, x)), filters, 3, strides);
  const residual = (name: string, x: T, filters: number, strides = 1) => {
    const res = block(`${name}_b2`, block(`${name}_b1`, x, filters, strides), filters);
    const short = norm(`${name}_short_bn`, conv(`${name}_short`, x, filters, 3, strides));
    return add(`${name}_add`, short, res);
  };

  const stemConv = block("stem_b1", conv("stem_conv", input, f[0], 3), f[0]);
  const stemShort = norm("stem_short_bn", conv("stem_short", input, f[0], 1));
  const e = [add("stem_add", stemConv, stemShort)];
  for (let i = 1; i <= 4; i++) e.push(residual(`enc${i}`, e[i - 1], f[i], 2));
  let d = block("bridge2", block("bridge1", e[4], f[4]), f[4]);
  for (let k = 1; k <= 4; k++) {
    const up = tfl.layers.upSampling2d({ name: `up${k}`, size: [2, 2] }).apply(d) as T;
    const cat = tfl.layers.concatenate({ name: `cat${k}` }).apply([up, e[4 - k]]) as T;
    d = residual(`dec${k}`, cat, f[5 - k]);
  }
  const out = conv("head", d, 1, 1, 1, "sigmoid");
  return tfl.model({ name: options.name ?? "resunet", inputs: input, outputs: out });
}
