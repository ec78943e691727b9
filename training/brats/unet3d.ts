/**
 * The brats-demo 3D U-Net as a tfjs LayersModel, layer for layer the twin of
 * training/brats/unet3d.py: channels-last (NDHWC), spatial order (z, y, x); per level two 3x3x3
 * ReLU convolutions and a 2x2x2 max-pool, a bottom pair, per level up a linear 2x2x2 stride-2
 * transposed convolution concatenated [up, skip] and two 3x3x3 ReLU convolutions, a 1x1x1 sigmoid
 * head. Layer names as lib/models/unet.ts names its 2D twin, so PyTorch weights set by name.
 */
import * as tfl from "@tensorflow/tfjs-layers";

/** What {@link buildUnet3d} builds. */
export interface Unet3dOptions {
  /** Input channels (BraTS: 4 modalities). */
  inputChannels: number;
  /** Number of poolings. */
  levels: number;
  /** Filters of the first level, doubled per level. */
  filters: number;
  /** Output channels (BraTS: 3, labels 1, 2, 4). */
  outputChannels: number;
  /** Fixed input [depth, height, width] (multiples of 2^levels); default any size. */
  inputSize?: [number, number, number];
  name?: string;
}

function conv(name: string, filters: number): tfl.layers.Layer {
  return tfl.layers.conv3d({
    name,
    filters,
    kernelSize: 3,
    padding: "same",
    activation: "relu",
    useBias: true,
  });
}

/**
 * A 3D U-Net with layers `enc{l}_conv{1,2}`, `enc{l}_pool`, `bottom_conv{1,2}`, `up{l}_tconv`,
 * `up{l}_concat`, `dec{l}_conv{1,2}`, `head`. Conv kernels are `[3, 3, 3, in, out]`, transposed
 * kernels `[2, 2, 2, out, in]`.
 * @example buildUnet3d({ inputChannels: 4, levels: 2, filters: 8, outputChannels: 3 })
 */
export function buildUnet3d(o: Unet3dOptions): tfl.LayersModel {
  const [d, h, w] = o.inputSize ?? [null, null, null];
  const input = tfl.input({ name: "volume", shape: [d, h, w, o.inputChannels] });
  const skips: tfl.SymbolicTensor[] = [];
  let x: tfl.SymbolicTensor = input;
  for (let l = 0; l < o.levels; l++) {
    const f = o.filters * 2 ** l;
    x = conv(`enc${l}_conv1`, f).apply(x) as tfl.SymbolicTensor;
    x = conv(`enc${l}_conv2`, f).apply(x) as tfl.SymbolicTensor;
    skips.push(x);
    x = tfl.layers.maxPooling3d({ name: `enc${l}_pool`, poolSize: 2, strides: 2 })
      .apply(x) as tfl.SymbolicTensor;
  }
  const fb = o.filters * 2 ** o.levels;
  x = conv("bottom_conv1", fb).apply(x) as tfl.SymbolicTensor;
  x = conv("bottom_conv2", fb).apply(x) as tfl.SymbolicTensor;
  for (let l = o.levels - 1; l >= 0; l--) {
    const f = o.filters * 2 ** l;
    const up = tfl.layers.conv3dTranspose({
      name: `up${l}_tconv`,
      filters: f,
      kernelSize: 2,
      strides: 2,
      padding: "same",
      useBias: true,
    }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.concatenate({ name: `up${l}_concat`, axis: -1 })
      .apply([up, skips[l]]) as tfl.SymbolicTensor;
    x = conv(`dec${l}_conv1`, f).apply(x) as tfl.SymbolicTensor;
    x = conv(`dec${l}_conv2`, f).apply(x) as tfl.SymbolicTensor;
  }
  const out = tfl.layers.conv3d({
    name: "head",
    filters: o.outputChannels,
    kernelSize: 1,
    activation: "sigmoid",
  }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ name: o.name ?? "unet3d", inputs: input, outputs: out });
}
