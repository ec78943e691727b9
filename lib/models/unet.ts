/**
 * The project's 2D U-Net as a tfjs LayersModel, the shape of seed 003's Keras `get_unet()` (two 3x3
 * ReLU convolutions per level, 2x2 max-pooling, 2x2 stride-2 transposed convolutions up, skip
 * concatenation up-first, 1x1 sigmoid head) with deterministic layer names so that weights trained
 * in PyTorch can be set layer by layer (reference/unet_torch.py). With `dims: 3` the same net
 * in 3D (NDHWC, 3x3x3 convolutions, 2x2x2 pooling and up-convolutions): the brats-demo model, twin
 * of training/brats-demo/model.py.
 */
import * as tfl from "@tensorflow/tfjs-layers";

/** What {@link buildUnet} builds. */
export interface UnetOptions {
  /** Channels of the input image (1 grey, 3 RGB). */
  inputChannels: number;
  /** Number of poolings (seed 003: 4). */
  levels: number;
  /** Filters of the first level, doubled per level (seed 003: 32). */
  filters: number;
  /** Channels of the head (default 1). */
  outputChannels?: number;
  /** Activation of the head (default "sigmoid"; "softmax" for several classes, "linear" for logits). */
  activation?: "sigmoid" | "softmax" | "linear";
  /** 2D images (default) or 3D volumes. */
  dims?: 2 | 3;
  /**
   * Fixed input [height, width] (3D: [depth, height, width]); default any size (fully
   * convolutional, multiples of 2^levels).
   */
  inputSize?: [number, number] | [number, number, number];
  /** Model name (default "unet", 3D "unet3d"). */
  name?: string;
}

/** The layers of a 2D or a 3D U-Net. */
const LAYERS = {
  2: {
    conv: tfl.layers.conv2d,
    pool: tfl.layers.maxPooling2d,
    tconv: tfl.layers.conv2dTranspose,
    input: "image",
  },
  3: {
    conv: tfl.layers.conv3d,
    pool: tfl.layers.maxPooling3d,
    tconv: tfl.layers.conv3dTranspose,
    input: "volume",
  },
} as const;

/**
 * A U-Net with layers `enc{l}_conv{1,2}`, `enc{l}_pool`, `bottom_conv{1,2}`, `up{l}_tconv`,
 * `up{l}_concat`, `dec{l}_conv{1,2}` and `head` (l = 0 is the full-resolution level). Weights are
 * initialised randomly; set them with `model.getLayer(name).setWeights([kernel, bias])`: conv
 * kernels are HWIO `[3, 3, in, out]`, transposed-conv kernels `[2, 2, out, in]` (3D: `[3, 3, 3, in,
 * out]` and `[2, 2, 2, out, in]`).
 * @example
 * const model = buildUnet({ inputChannels: 1, levels: 4, filters: 32 }); // seed 003's shape
 * model.predict(tf.zeros([1, 512, 512, 1]));
 * @example buildUnet({ dims: 3, inputChannels: 4, levels: 2, filters: 8, outputChannels: 3 })
 */
export function buildUnet(options: UnetOptions): tfl.LayersModel {
  const { inputChannels, levels, filters } = options;
  if (!Number.isInteger(levels) || levels < 1) throw new RangeError("levels must be >= 1");
  if (!Number.isInteger(filters) || filters < 1) throw new RangeError("filters must be >= 1");
  const dims = options.dims ?? 2;
  const layers = LAYERS[dims];
  const spatial = options.inputSize ?? Array<null>(dims).fill(null);
  if (spatial.length !== dims) throw new RangeError(`inputSize must have ${dims} sides`);
  const conv = (name: string, filters: number) =>
    layers.conv({
      name,
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      useBias: true,
    });
  const input = tfl.input({ name: layers.input, shape: [...spatial, inputChannels] });
  const skips: tfl.SymbolicTensor[] = [];
  let x: tfl.SymbolicTensor = input;
  for (let l = 0; l < levels; l++) {
    const f = filters * 2 ** l;
    x = conv(`enc${l}_conv1`, f).apply(x) as tfl.SymbolicTensor;
    x = conv(`enc${l}_conv2`, f).apply(x) as tfl.SymbolicTensor;
    skips.push(x);
    x = layers.pool({ name: `enc${l}_pool`, poolSize: 2, strides: 2 })
      .apply(x) as tfl.SymbolicTensor;
  }
  x = conv("bottom_conv1", filters * 2 ** levels).apply(x) as tfl.SymbolicTensor;
  x = conv("bottom_conv2", filters * 2 ** levels).apply(x) as tfl.SymbolicTensor;
  for (let l = levels - 1; l >= 0; l--) {
    const f = filters * 2 ** l;
    const up = layers.tconv({
      name: `up${l}_tconv`,
      filters: f,
      kernelSize: 2,
      strides: 2,
      padding: "same",
      activation: "linear",
    }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.concatenate({ name: `up${l}_concat`, axis: -1 })
      .apply([up, skips[l]]) as tfl.SymbolicTensor;
    x = conv(`dec${l}_conv1`, f).apply(x) as tfl.SymbolicTensor;
    x = conv(`dec${l}_conv2`, f).apply(x) as tfl.SymbolicTensor;
  }
  const out = layers.conv({
    name: "head",
    filters: options.outputChannels ?? 1,
    kernelSize: 1,
    activation: options.activation ?? "sigmoid",
  }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({
    name: options.name ?? (dims === 3 ? "unet3d" : "unet"),
    inputs: input,
    outputs: out,
  });
}

/**
 * Multiply-adds x 2 of one forward pass at `height` x `width` (convolutions only), for GFLOP/s.
 * @example unetFlops({ inputChannels: 1, levels: 2, filters: 16 }, 512, 512) // ~9.7e9
 */
export function unetFlops(options: UnetOptions, height: number, width: number): number {
  const { inputChannels, levels, filters } = options;
  let flops = 0;
  let cin = inputChannels;
  const conv3 = (px: number, i: number, o: number) => 2 * px * 9 * i * o;
  for (let l = 0; l < levels; l++) {
    const px = (height * width) / 4 ** l;
    const f = filters * 2 ** l;
    flops += conv3(px, cin, f) + conv3(px, f, f);
    cin = f;
  }
  const fb = filters * 2 ** levels;
  flops += conv3((height * width) / 4 ** levels, cin, fb) +
    conv3((height * width) / 4 ** levels, fb, fb);
  cin = fb;
  for (let l = levels - 1; l >= 0; l--) {
    const px = (height * width) / 4 ** l;
    const f = filters * 2 ** l;
    flops += 2 * px * cin * f; // 2x2 stride-2 transposed conv: each output pixel takes one tap
    flops += conv3(px, 2 * f, f) + conv3(px, f, f);
    cin = f;
  }
  return flops + 2 * height * width * cin * (options.outputChannels ?? 1);
}
