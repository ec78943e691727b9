/**
 * Grad-CAM (Selvaraju et al. 2017) for a tfjs layers model whose first input is the image: the
 * activations of a conv layer, the gradient of the model's output with respect to them (the head
 * applied layer by layer from those activations), their spatial mean as channel weights, and the
 * ReLU of the weighted sum. The gradients it needs (dense, ReLU, mean, concat) all have kernels in
 * tfjs' inference-only wasm backend. And the map's overlay (jet colours, half opacity) on the film.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { InvalidInputError } from "../errors.ts";

/** The class-activation map on the layer's grid (ReLU'd, not normalised) and the model's output. */
export interface GradCam {
  /** The model's (first) output value. */
  value: number;
  width: number;
  height: number;
  data: Float32Array;
}

const camModels = new WeakMap<tfl.LayersModel, tfl.LayersModel>();

function camModel(model: tfl.LayersModel, layer: string): tfl.LayersModel {
  let m = camModels.get(model);
  if (!m) {
    m = tfl.model({
      inputs: model.inputs[0],
      outputs: model.getLayer(layer).output as tfl.SymbolicTensor,
    });
    camModels.set(model, m);
  }
  return m;
}

/**
 * The model's output from the activations of `layer`, by applying every later layer in the graph's
 * order (the image branch before `layer` is skipped; other inputs are taken as given).
 */
function headFrom(
  model: tfl.LayersModel,
  layer: string,
  activations: tf.Tensor,
  inputs: Record<string, tf.Tensor>,
): tf.Tensor {
  const known = new Map<string, tf.Tensor>(Object.entries(inputs));
  known.set(layer, activations);
  for (const l of model.layers) {
    if (known.has(l.name)) continue;
    const from = l.inboundNodes[0]?.inboundLayers.map((x) => x.name) ?? [];
    if (from.length === 0 || !from.every((n) => known.has(n))) continue;
    const xs = from.map((n) => known.get(n)!);
    known.set(l.name, l.apply(xs.length === 1 ? xs[0] : xs) as tf.Tensor);
  }
  const out = known.get(model.outputLayers[0].name);
  if (!out) throw new InvalidInputError(`the model's output does not follow from layer ${layer}`);
  return out;
}

/**
 * Grad-CAM of `model` on `layer` for one example: `inputs` in the model's input order, the image
 * first (its branch up to `layer` runs once). Every tensor made here is disposed before it returns.
 * @example const cam = gradCam(model, "b4", [tf.tensor4d(x, [1, 224, 224, 1]), tf.tensor2d(f, [1, 6])])
 */
export function gradCam(model: tfl.LayersModel, layer: string, inputs: tf.Tensor[]): GradCam {
  const maps = camModel(model, layer);
  return tf.tidy(() => {
    const a = maps.predict(inputs[0]) as tf.Tensor4D;
    const others: Record<string, tf.Tensor> = {};
    for (let i = 1; i < inputs.length; i++) others[model.inputLayers[i].name] = inputs[i];
    const { value, grad } = tf.valueAndGrad((act: tf.Tensor) =>
      tf.sum(headFrom(model, layer, act, others))
    )(a);
    const weights = tf.mean(grad, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(a, weights), 3));
    return {
      value: value.dataSync()[0],
      data: cam.dataSync() as Float32Array,
      height: a.shape[1],
      width: a.shape[2],
    };
  });
}

function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}

/**
 * The map upsampled bilinearly (half-pixel centres), normalised to its maximum, in jet colours at
 * half opacity over the size x size grey film: RGB.
 * @example camOverlay(image8, 224, cam.data, cam.width, cam.height)
 */
export function camOverlay(
  film: Uint8Array,
  size: number,
  cam: Float32Array,
  gw: number,
  gh: number,
): Uint8Array {
  let max = 0;
  for (const v of cam) max = Math.max(max, v);
  const out = new Uint8Array(size * size * 3);
  const k = max > 0 ? 1 / max : 0;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * gh / size - 0.5, 0), gh - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, gh - 1), wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * gw / size - 0.5, 0), gw - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, gw - 1), wx = fx - x0;
      const v = k * ((1 - wy) * ((1 - wx) * cam[y0 * gw + x0] + wx * cam[y0 * gw + x1]) +
        wy * ((1 - wx) * cam[y1 * gw + x0] + wx * cam[y1 * gw + x1]));
      const a = 0.5 * v, g = film[y * size + x], rgb = jet(v), o = 3 * (y * size + x);
      for (let c = 0; c < 3; c++) out[o + c] = Math.round((1 - a) * g + a * 255 * rgb[c]);
    }
  }
  return out;
}
