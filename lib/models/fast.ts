/**
 * Faster execution of U-Net style LayersModels on the wasm backend, same results (bench/
 * unet_compare.ts measures it; BENCHMARKS.md "slice / model runtime" has the figures):
 * - a k x k stride-k transposed convolution (the U-Net's 2x2 up-sampling) is computed as k 1x1
 *   convolutions (XNNPACK, bias fused), one per output row offset, whose outputs are already the
 *   output rows in memory and are interleaved by a row-wise concat, instead of tfjs-wasm's
 *   Conv2DBackpropInput and DepthToSpace, both plain C++ loop nests over every element;
 * - channel concatenation (the skip connections) copies with one tight loop per input instead of
 *   tfjs-wasm's Concat, which makes a subarray per pixel.
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";

interface TransposeLayer {
  name: string;
  kernelSize: number[];
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  useBias: boolean;
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor;
}

function isFastTranspose(layer: tfl.layers.Layer): boolean {
  const l = layer as unknown as TransposeLayer;
  if (layer.getClassName() !== "Conv2DTranspose") return false;
  const [kh, kw] = l.kernelSize, [sh, sw] = l.strides;
  const dilation = Array.isArray(l.dilationRate) ? l.dilationRate : [l.dilationRate ?? 1];
  // k == s: output tiles do not overlap, so each input pixel's taps are a 1x1 conv's outputs.
  return kh === kw && kh === sh && kw === sw && l.dataFormat === "channelsLast" &&
    dilation.every((d) => d === 1) && (l.padding === "same" || l.padding === "valid");
}

/**
 * Replaces the computation of every k x k stride-k transposed convolution of `model` (in place) by
 * a few 1x1 convolutions and a row interleave, which give the same values; answers the layers changed.
 * @example accelerate(await tfl.loadLayersModel(fileHandler(dir))) // ["up3_tconv", ...]
 */
export function accelerate(model: tfl.LayersModel): string[] {
  const changed: string[] = [];
  for (const layer of model.layers) {
    if (!isFastTranspose(layer)) continue;
    const l = layer as unknown as TransposeLayer;
    l.call = (inputs: tf.Tensor | tf.Tensor[]) =>
      tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const [n, h, w] = x.shape;
        const k = l.kernelSize[0];
        const kernel = l.kernel.read(); // [k, k, out, in]
        const [, , out, cin] = kernel.shape;
        const bias = l.useBias && l.bias ? tf.tile(l.bias.read(), [k]) : undefined;
        // One 1x1 conv per output row offset a: channels (b, o) of pixel (i, j) are output pixel
        // (k*i + a, k*j + b), so [n, h, w, k*out] is already [n, h, k*w, out] in memory.
        const rows = Array.from({ length: k }, (_, a) => {
          const filter = tf.reshape(
            tf.transpose(tf.slice(kernel, [a, 0, 0, 0], [1, k, out, cin]), [0, 3, 1, 2]),
            [1, 1, cin, k * out],
          ) as tf.Tensor4D;
          const y = tf.fused.conv2d({ x, filter, strides: 1, pad: "valid", bias });
          return tf.reshape(y, [n, h, 1, k * w, out]);
        });
        // Interleave the rows: whole rows copied, then a free reshape.
        const up = tf.reshape(tf.concat(rows, 2), [n, k * h, k * w, out]);
        return l.activation.apply(up);
      });
    changed.push(layer.name);
  }
  return changed;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Puts `kernelFunc` in place of the wasm backend's kernel `name`, keeping the original's
 * setupFunc and disposeFunc: a backend restart (restartWasmBackend) reruns them, so module-level
 * bindings move to the new wasm instance instead of keeping the old one (and its heap) alive.
 * Returns the original config (undefined where the backend had none).
 * @example const original = replaceWasmKernel("Concat", myConcat);
 */
export function replaceWasmKernel(
  name: string,
  kernelFunc: tf.KernelFunc,
): tf.KernelConfig | undefined {
  const original = tf.getKernel(name, "wasm");
  if (original) tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...original, kernelName: name, backendName: "wasm", kernelFunc });
  return original;
}

let concatRegistered = false;

/**
 * Registers a faster float32 Concat for the wasm backend (once; other dtypes and empty inputs go
 * to tfjs' own). Call after the wasm backend is set up.
 * @example useFastConcat();
 */
export function useFastConcat(): void {
  if (concatRegistered) return;
  const original = tf.getKernel("Concat", "wasm");
  if (!original) return;
  replaceWasmKernel("Concat", (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as unknown as WasmBackendLike;
    const rank = inputs[0].shape.length;
    let axis = (args.attrs as { axis: number | number[] }).axis as number;
    axis = Array.isArray(axis) ? axis[0] : axis;
    if (axis < 0) axis += rank;
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    if (
      inputs.length < 2 || inputs.some((t) => t.dtype !== "float32" || size(t.shape) === 0)
    ) return original.kernelFunc(args);
    const outShape = [...inputs[0].shape];
    outShape[axis] = inputs.reduce((a, t) => a + t.shape[axis], 0);
    const out = backend.makeOutput(outShape, "float32");
    // Views after makeOutput: growing the wasm heap detaches earlier ones.
    const dst = backend.typedArrayFromHeap(out);
    const outer = size(inputs[0].shape.slice(0, axis));
    const inner = inputs.map((t) => size(t.shape.slice(axis)));
    const total = inner.reduce((a, b) => a + b, 0);
    let offset = 0;
    inputs.forEach((t, i) => {
      const src = backend.typedArrayFromHeap(t);
      const d = inner[i];
      if (d >= 256) {
        for (let b = 0; b < outer; b++) {
          dst.set(src.subarray(b * d, b * d + d), b * total + offset);
        }
      } else {
        for (let b = 0, s = 0; b < outer; b++) {
          for (let k = 0, o = b * total + offset; k < d; k++) dst[o + k] = src[s++];
        }
      }
      offset += d;
    });
    return out;
  });
  concatRegistered = true;
}
