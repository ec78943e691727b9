/**
 * Sliding-window inference over a 3D multi-channel volume, as MONAI's `sliding_window_inference`:
 * windows of a fixed patch size placed with a stride of `patch * (1 - overlap)`, the last window of
 * each axis flush with the volume's end, a volume smaller than the patch padded with a constant,
 * windows run through a pluggable forward function in batches, and overlapping predictions averaged
 * with an importance map (Gaussian with sigma = 0.125 x patch as MONAI and nnU-Net, linear tent, or
 * constant). Every voxel's weights are summed and divided out, so a model that predicts the same
 * value in every window leaves no seam.
 *
 * Volumes are channels-first `[c][z][y][x]` Float32Array; the forward function gets a batch in the
 * model's layout (NDHWC for tfjs, or NCDHW) and returns the same layout with the output channels.
 *
 * Also here, because the model runtime (lib/models, another module's owner) has no 3D support:
 * {@link fastConv3dOnWasm}, which runs tfjs-backend-wasm's Conv3D as one XNNPACK Conv2D per kernel
 * depth (tfjs 4.22's own wasm Conv3D is a scalar loop, measured 40x slower) and replaces its
 * Conv3DBackpropInputV2 (conv3dTranspose), whose answers are wrong in tfjs 4.22 (off by up to 4
 * on unit-scale inputs against the cpu and webgpu backends), by the cpu backend's loop on the wasm
 * heap; and {@link layersForward}, a tfjs model as a {@link PatchForward}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { InvalidInputError, LimitExceededError } from "../errors.ts";
import { replaceWasmKernel } from "./fast.ts";

/** A channels-first volume: `data[((c * depth + z) * height + y) * width + x]`. */
export interface Volume4 {
  data: Float32Array;
  channels: number;
  depth: number;
  height: number;
  width: number;
}

/** Size of a window as [depth, height, width]. */
export type Size3 = [number, number, number];

/** Memory order of a batch handed to the forward function. */
export type PatchLayout = "NDHWC" | "NCDHW";

/**
 * A model's forward pass over `n` patches packed in `layout`; returns `n` outputs of the same
 * spatial size in the same layout, `outChannels` channels each.
 */
export type PatchForward = (
  batch: Float32Array,
  n: number,
  patch: Size3,
) => Float32Array | Promise<Float32Array>;

/** How windows are weighted where they overlap. */
export type Blend = "gaussian" | "linear" | "constant";

/** Options of {@link slidingWindow3d}. */
export interface SlidingOptions {
  /** Window size [depth, height, width] (seed 002: 24 x 160 x 160). */
  patch: Size3;
  /** Fraction of a window shared with its neighbour along each axis, in [0, 1) (default 0.25). */
  overlap?: number;
  /** Importance map (default "gaussian"). */
  blend?: Blend;
  /** Gaussian sigma as a fraction of the patch size (default 0.125). */
  sigmaScale?: number;
  /** Windows per forward call (default 1). */
  batch?: number;
  /**
   * Forward calls in flight at once (default 1): with a model pool (lib/models/pool.ts), its size.
   * Outputs are blended in window order whatever order they come back in, so the result does not
   * depend on it; each call then gets a batch buffer of its own (transferable).
   */
  concurrency?: number;
  /** Channels the model returns. */
  outChannels: number;
  /** Layout of the batches (default "NDHWC", tfjs's own). */
  layout?: PatchLayout;
  /** Value of voxels outside the volume when a window sticks out (default 0). */
  padValue?: number;
  /** Largest number of voxels of the output (channels included); default 2^30. */
  maxOutputVoxels?: number;
  /** Called after every forward call with windows done and the total. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** The blended prediction and what was run. */
export interface SlidingResult extends Volume4 {
  /** Number of windows. */
  windows: number;
  /** Window start positions per axis [z, y, x]. */
  starts: [number[], number[], number[]];
  /** Milliseconds spent in the forward function. */
  forwardMs: number;
}

/**
 * Window starts along one axis (MONAI's `dense_patch_slices`): stride `floor(patch * (1 - overlap))`
 * (at least 1), the last start at `size - patch`; one window at 0 when the patch covers the axis.
 * @example windowStarts(240, 160, 0.25) // [0, 80]
 * @example windowStarts(135, 24, 0.5) // [0, 12, 24, ..., 108, 111]
 */
export function windowStarts(size: number, patch: number, overlap: number): number[] {
  if (patch >= size) return [0];
  const stride = Math.max(1, Math.floor(patch * (1 - overlap)));
  const n = Math.ceil((size - patch) / stride) + 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.min(i * stride, size - patch);
    if (out[out.length - 1] !== s) out.push(s);
  }
  return out;
}

function axisWeights(n: number, blend: Blend, sigmaScale: number): Float64Array {
  const w = new Float64Array(n);
  const centre = (n - 1) / 2;
  for (let i = 0; i < n; i++) {
    if (blend === "gaussian") {
      const sigma = Math.max(sigmaScale * n, 1e-6);
      w[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
    } else if (blend === "linear") {
      w[i] = 1 - Math.abs(i - centre) / (centre + 1);
    } else {
      w[i] = 1;
    }
  }
  return w;
}

/**
 * The importance map of one window, `[z][y][x]`, largest value 1 and every value positive (a
 * Gaussian's far corners are clamped to its smallest normal value, as MONAI does for zeros).
 * @example importanceMap([24, 160, 160], "gaussian")[12 * 160 * 160 + 80 * 160 + 80] // close to 1
 */
export function importanceMap(patch: Size3, blend: Blend, sigmaScale = 0.125): Float32Array {
  const [pd, ph, pw] = patch;
  const wz = axisWeights(pd, blend, sigmaScale);
  const wy = axisWeights(ph, blend, sigmaScale);
  const wx = axisWeights(pw, blend, sigmaScale);
  const out = new Float32Array(pd * ph * pw);
  let max = 0;
  for (let z = 0, i = 0; z < pd; z++) {
    for (let y = 0; y < ph; y++) {
      const zy = wz[z] * wy[y];
      for (let x = 0; x < pw; x++, i++) {
        const v = zy * wx[x];
        out[i] = v;
        if (v > max) max = v;
      }
    }
  }
  let minPositive = Infinity;
  for (let i = 0; i < out.length; i++) {
    out[i] /= max;
    if (out[i] > 0 && out[i] < minPositive) minPositive = out[i];
  }
  for (let i = 0; i < out.length; i++) if (!(out[i] > 0)) out[i] = minPositive;
  return out;
}

/** Copies a window of `vol` at (z0, y0, x0) into `buf` at patch slot `b`, padding outside. */
function packWindow(
  vol: Volume4,
  z0: number,
  y0: number,
  x0: number,
  patch: Size3,
  buf: Float32Array,
  b: number,
  layout: PatchLayout,
  padValue: number,
): void {
  const { channels: C, depth: D, height: H, width: W, data } = vol;
  const [pd, ph, pw] = patch;
  const pv = pd * ph * pw;
  const base = b * pv * C;
  const xn = Math.min(pw, W - x0);
  for (let c = 0; c < C; c++) {
    for (let z = 0; z < pd; z++) {
      const zz = z0 + z;
      for (let y = 0; y < ph; y++) {
        const yy = y0 + y;
        const inside = zz < D && yy < H;
        const src = ((c * D + zz) * H + yy) * W + x0;
        const p = (z * ph + y) * pw;
        if (layout === "NCDHW") {
          const dst = base + c * pv + p;
          if (inside) {
            buf.set(data.subarray(src, src + xn), dst);
            if (xn < pw) buf.fill(padValue, dst + xn, dst + pw);
          } else buf.fill(padValue, dst, dst + pw);
        } else {
          let dst = base + p * C + c;
          for (let x = 0; x < pw; x++, dst += C) {
            buf[dst] = inside && x < xn ? data[src + x] : padValue;
          }
        }
      }
    }
  }
}

/**
 * Runs `forward` over windows covering `vol` and blends the outputs into one channels-first volume
 * of `outChannels` channels and the input's spatial size.
 * @example
 * const probs = await slidingWindow3d(stack, forward, { patch: [24, 160, 160], outChannels: 3 });
 */
export async function slidingWindow3d(
  vol: Volume4,
  forward: PatchForward,
  options: SlidingOptions,
): Promise<SlidingResult> {
  const { patch, outChannels } = options;
  const overlap = options.overlap ?? 0.25;
  const blend = options.blend ?? "gaussian";
  const batch = options.batch ?? 1;
  const layout = options.layout ?? "NDHWC";
  const padValue = options.padValue ?? 0;
  const { channels: C, depth: D, height: H, width: W } = vol;
  if (!patch.every((p) => Number.isInteger(p) && p > 0)) {
    throw new InvalidInputError(`patch must be three positive integers, got ${patch.join("x")}`);
  }
  if (!(overlap >= 0 && overlap < 1)) {
    throw new InvalidInputError(`overlap must be in [0, 1), got ${overlap}`);
  }
  if (!Number.isInteger(batch) || batch < 1) {
    throw new InvalidInputError(`batch must be a positive integer, got ${batch}`);
  }
  if (vol.data.length !== C * D * H * W) {
    throw new InvalidInputError(`volume holds ${vol.data.length} values, not ${C * D * H * W}`);
  }
  const outVoxels = outChannels * D * H * W;
  if (outVoxels > (options.maxOutputVoxels ?? 2 ** 30)) {
    throw new LimitExceededError(`output of ${outVoxels} values is over the limit`, {
      limit: options.maxOutputVoxels ?? 2 ** 30,
    });
  }
  const [pd, ph, pw] = patch;
  const pv = pd * ph * pw;
  const starts: [number[], number[], number[]] = [
    windowStarts(D, pd, overlap),
    windowStarts(H, ph, overlap),
    windowStarts(W, pw, overlap),
  ];
  const windows: Size3[] = [];
  for (const z of starts[0]) {
    for (const y of starts[1]) {
      for (const x of starts[2]) {
        windows.push([z, y, x]);
      }
    }
  }
  const weight = importanceMap(patch, blend, options.sigmaScale ?? 0.125);
  const out = new Float32Array(outVoxels);
  const norm = new Float32Array(D * H * W);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const shared = concurrency === 1 ? new Float32Array(batch * pv * C) : undefined;
  const vox = D * H * W;
  let done = 0, forwardMs = 0;
  const launch = (w0: number) => {
    const n = Math.min(batch, windows.length - w0);
    const buf = shared ?? new Float32Array(n * pv * C);
    for (let b = 0; b < n; b++) {
      const [z0, y0, x0] = windows[w0 + b];
      packWindow(vol, z0, y0, x0, patch, buf, b, layout, padValue);
    }
    const t = performance.now();
    const pred = Promise.resolve(
      forward(n === batch || !shared ? buf : buf.subarray(0, n * pv * C), n, patch),
    );
    // a rejection is taken where the batch is awaited, in order
    pred.catch(() => {});
    return { w0, n, t, pred };
  };
  const inflight: ReturnType<typeof launch>[] = [];
  let nextW = 0;
  while (nextW < windows.length || inflight.length > 0) {
    while (inflight.length < concurrency && nextW < windows.length) {
      inflight.push(launch(nextW));
      nextW += batch;
    }
    const { w0, n, t } = inflight[0];
    const t1 = performance.now();
    const pred = await inflight.shift()!.pred;
    // in flight together, the passes overlap: the time waited for each, not each one's length
    forwardMs += performance.now() - (concurrency === 1 ? t : t1);
    if (pred.length !== n * pv * outChannels) {
      throw new InvalidInputError(
        `the model returned ${pred.length} values for ${n} windows of ${pd}x${ph}x${pw}, expected ${
          n * pv * outChannels
        } (${outChannels} channels)`,
      );
    }
    for (let b = 0; b < n; b++) {
      const [z0, y0, x0] = windows[w0 + b];
      const zn = Math.min(pd, D - z0), yn = Math.min(ph, H - y0), xn = Math.min(pw, W - x0);
      const pbase = b * pv * outChannels;
      for (let z = 0; z < zn; z++) {
        for (let y = 0; y < yn; y++) {
          const p = (z * ph + y) * pw;
          const v = ((z0 + z) * H + y0 + y) * W + x0;
          for (let x = 0; x < xn; x++) norm[v + x] += weight[p + x];
          for (let k = 0; k < outChannels; k++) {
            const o = k * vox + v;
            if (layout === "NCDHW") {
              const s = pbase + k * pv + p;
              for (let x = 0; x < xn; x++) out[o + x] += weight[p + x] * pred[s + x];
            } else {
              let s = pbase + p * outChannels + k;
              for (let x = 0; x < xn; x++, s += outChannels) out[o + x] += weight[p + x] * pred[s];
            }
          }
        }
      }
    }
    done += n;
    await options.onProgress?.(done, windows.length);
  }
  for (let k = 0; k < outChannels; k++) {
    const o = k * vox;
    for (let i = 0; i < vox; i++) out[o + i] /= norm[i];
  }
  return {
    data: out,
    channels: outChannels,
    depth: D,
    height: H,
    width: W,
    windows: windows.length,
    starts,
    forwardMs,
  };
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: WasmLike;
  attrs: Record<string, unknown>;
};
/** The parts of tfjs-backend-wasm's BackendWasm used here. */
interface WasmLike {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(dataId: tf.DataId): boolean;
}

let conv3dPatched = false;

/**
 * tfjs-core's cpu Conv3DBackpropInputV2 loop (dx of a 3D convolution, which is conv3dTranspose),
 * reading and writing the wasm heap: tfjs-backend-wasm 4.22's own kernel gives wrong values.
 */
function conv3dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const info = tf.backend_util.computeConv3DInfo(
    attrs.inputShape as [number, number, number, number, number],
    filter.shape as [number, number, number, number, number],
    attrs.strides as [number, number, number],
    1,
    attrs.pad as "same" | "valid",
  );
  const {
    batchSize,
    filterDepth: fd,
    filterHeight: fh,
    filterWidth: fw,
    inChannels,
    inDepth,
    inHeight,
    inWidth,
    outChannels,
    outDepth,
    outHeight,
    outWidth,
    strideDepth: sd,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const out = backend.makeOutput(info.inShape as number[], "float32");
  const dx = backend.typedArrayFromHeap(out);
  const dyv = backend.typedArrayFromHeap(dy), fv = backend.typedArrayFromHeap(filter);
  const [dyS0, dyS1, dyS2, dyS3] = [
    outDepth * outHeight * outWidth * outChannels,
    outHeight * outWidth * outChannels,
    outWidth * outChannels,
    outChannels,
  ];
  const [fS0, fS1, fS2, fS3] = [
    fh * fw * inChannels * outChannels,
    fw * inChannels * outChannels,
    inChannels * outChannels,
    outChannels,
  ];
  const frontPad = fd - 1 - info.padInfo.front;
  const topPad = fh - 1 - info.padInfo.top;
  const leftPad = fw - 1 - info.padInfo.left;
  let o = 0;
  for (let b = 0; b < batchSize; ++b) {
    for (let xF = 0; xF < inDepth; ++xF) {
      const xFCorner = xF - frontPad;
      const yFMin = Math.max(0, Math.ceil(xFCorner / sd));
      const yFMax = Math.min(outDepth, (fd + xFCorner) / sd);
      for (let xR = 0; xR < inHeight; ++xR) {
        const xRCorner = xR - topPad;
        const yRMin = Math.max(0, Math.ceil(xRCorner / sh));
        const yRMax = Math.min(outHeight, (fh + xRCorner) / sh);
        for (let xC = 0; xC < inWidth; ++xC) {
          const xCCorner = xC - leftPad;
          const yCMin = Math.max(0, Math.ceil(xCCorner / sw));
          const yCMax = Math.min(outWidth, (fw + xCCorner) / sw);
          for (let d1 = 0; d1 < inChannels; ++d1, ++o) {
            let dot = 0;
            for (let yF = yFMin; yF < yFMax; ++yF) {
              const wF = yF * sd - xFCorner;
              for (let yR = yRMin; yR < yRMax; ++yR) {
                const wR = yR * sh - xRCorner;
                for (let yC = yCMin; yC < yCMax; ++yC) {
                  const wC = yC * sw - xCCorner;
                  const dyo = dyS0 * b + dyS1 * yF + dyS2 * yR + dyS3 * yC;
                  const fo = fS0 * (fd - 1 - wF) + fS1 * (fh - 1 - wR) + fS2 * (fw - 1 - wC) +
                    fS3 * d1;
                  for (let d2 = 0; d2 < outChannels; ++d2) dot += dyv[dyo + d2] * fv[fo + d2];
                }
              }
            }
            dx[o] = dot;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Replaces two of tfjs-backend-wasm's 3D kernels. Conv3D (a scalar C++ loop in tfjs 4.22: about
 * 0.1 GMAC/s here) becomes a sum over the kernel's depth of the wasm Conv2D kernel (XNNPACK, SIMD:
 * about 4 GMAC/s) run on all depth slices at once; depth stride and dilations other than 1 keep the
 * original kernel. Conv3DBackpropInputV2 (conv3dTranspose), wrong in tfjs 4.22, becomes the cpu
 * backend's loop. Call after the wasm backend is set up; later calls do nothing.
 * Returns whether the kernels are (now) replaced.
 * @example await setupBackend("wasm"); fastConv3dOnWasm();
 */
export function fastConv3dOnWasm(): boolean {
  if (conv3dPatched) return true;
  const original = tf.getKernel("Conv3D", "wasm");
  const conv2d = tf.getKernel("Conv2D", "wasm");
  const reshape = tf.getKernel("Reshape", "wasm");
  if (!original || !conv2d || !reshape) return false;
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { inputs: { x, filter }, backend, attrs } = args;
    const info = tf.backend_util.computeConv3DInfo(
      x.shape as [number, number, number, number, number],
      filter.shape as [number, number, number, number, number],
      attrs.strides as [number, number, number],
      attrs.dilations as [number, number, number],
      attrs.pad as "same" | "valid",
    );
    if (
      info.strideDepth !== 1 || info.dilationDepth !== 1 || info.dilationHeight !== 1 ||
      info.dilationWidth !== 1 || x.dtype !== "float32" || filter.dtype !== "float32"
    ) return original.kernelFunc(args as never) as tf.TensorInfo;
    const [N, D, H, W, Ci] = x.shape;
    const [kd, kh, kw, , Co] = filter.shape;
    const { outDepth: Do, outHeight: Ho, outWidth: Wo } = info;
    const front = info.padInfo.front;
    const slices = reshape.kernelFunc(
      { inputs: { x }, backend, attrs: { shape: [N * D, H, W, Ci] } } as never,
    ) as tf.TensorInfo;
    const pad = [[0, 0], [info.padInfo.top, info.padInfo.bottom], [
      info.padInfo.left,
      info.padInfo.right,
    ], [0, 0]];
    const out = backend.makeOutput([N, Do, Ho, Wo, Co], "float32");
    backend.typedArrayFromHeap(out).fill(0);
    const plane = Ho * Wo * Co, fsize = kh * kw * Ci * Co;
    try {
      for (let k = 0; k < kd; k++) {
        const fk = backend.makeOutput([kh, kw, Ci, Co], "float32");
        backend.typedArrayFromHeap(fk).set(
          backend.typedArrayFromHeap(filter).subarray(k * fsize, (k + 1) * fsize),
        );
        const yk = conv2d.kernelFunc({
          inputs: { x: slices, filter: fk },
          backend,
          attrs: {
            strides: [info.strideHeight, info.strideWidth],
            pad,
            dilations: [1, 1],
            dataFormat: "NHWC",
            dimRoundingMode: undefined,
          },
        } as never) as tf.TensorInfo;
        backend.disposeData(fk.dataId);
        // views are taken after every allocation: a growing wasm heap detaches older ones
        const o = backend.typedArrayFromHeap(out), y = backend.typedArrayFromHeap(yk);
        for (let n = 0; n < N; n++) {
          for (let od = 0; od < Do; od++) {
            const s = od + k - front;
            if (s < 0 || s >= D) continue;
            const src = (n * D + s) * plane, dst = (n * Do + od) * plane;
            for (let i = 0; i < plane; i++) o[dst + i] += y[src + i];
          }
        }
        backend.disposeData(yk.dataId);
      }
    } finally {
      backend.disposeData(slices.dataId);
    }
    return out;
  };
  // Both keep the originals' setupFunc (see replaceWasmKernel): the Conv3D fallback stays bound
  // to the current wasm instance across a backend restart.
  replaceWasmKernel("Conv3D", kernelFunc as never);
  replaceWasmKernel("Conv3DBackpropInputV2", conv3dBackpropInput as never);
  conv3dPatched = true;
  return true;
}

/** A model's single forward pass, as lib/models' `LoadedModel.predict` or `LayersModel.predict`. */
export type TensorPredict = (x: tf.Tensor) => tf.Tensor;

/**
 * A tfjs model as a {@link PatchForward}: packs the batch as a 5D tensor of `channels` channels,
 * runs `predict`, reads the output and disposes every tensor it made.
 * @example const forward = layersForward((x) => model.predict(x) as tf.Tensor, 4);
 */
export function layersForward(
  predict: TensorPredict,
  channels: number,
  layout: PatchLayout = "NDHWC",
): PatchForward {
  return async (batch, n, [d, h, w]) => {
    const y = tf.tidy(() => {
      const shape: [number, number, number, number, number] = layout === "NDHWC"
        ? [n, d, h, w, channels]
        : [n, channels, d, h, w];
      return predict(tf.tensor5d(batch, shape));
    });
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  };
}
