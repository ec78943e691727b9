/**
 * Test-time augmentation by flips: the model runs on the input as it is and on each flipped copy a
 * card allows (`tta.flips`, lists of spatial axes: [y, x] for images, [z, y, x] for volumes), each
 * answer is flipped back, and the probabilities are averaged. The mean is the sum in float64, in
 * the order run (unflipped first, then the card's flips in order), divided by the number of runs,
 * stored as float32.
 */
import { type InferencePlan, inferFitted } from "./infer.ts";
import type { LoadedModel } from "./load.ts";
import type { ModelPool } from "./pool.ts";
import type { ModelInput, ProbabilityMap } from "./tensor.ts";

/**
 * A copy of a C-order array of `shape` mirrored along `axes` (indices into `shape`).
 * @example flipAxes(Float32Array.of(1, 2, 3, 4), [2, 2], [1]) // [2, 1, 4, 3]
 */
export function flipAxes(data: Float32Array, shape: readonly number[], axes: readonly number[]) {
  const rank = shape.length, last = shape[rank - 1];
  const flip = shape.map((_, i) => axes.includes(i));
  const out = new Float32Array(data.length);
  const rows = last === 0 ? 0 : data.length / last;
  const coord = new Array(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    // the source row: each outer coordinate mirrored where its axis flips
    let src = 0;
    for (let a = 0; a < rank - 1; a++) {
      src = src * shape[a] + (flip[a] ? shape[a] - 1 - coord[a] : coord[a]);
    }
    src *= last;
    const dst = r * last;
    if (flip[rank - 1]) { for (let x = 0; x < last; x++) out[dst + x] = data[src + last - 1 - x]; }
    else out.set(data.subarray(src, src + last), dst);
    for (let a = rank - 2; a >= 0; a--) {
      if (++coord[a] < shape[a]) break;
      coord[a] = 0;
    }
  }
  return out;
}

/**
 * The mean of `infer` over the input and its flips: `infer(input)` and, for each flip,
 * `infer(flipped input)` flipped back. `shape` is the input's C-order shape; the output has the
 * same but for the channel axis (`channelAxis`), whose size is what `infer` answers; flips name
 * spatial axes, the axes of `shape` other than the channel axis, in order.
 * @example
 * await flipMean(x.tensor, [h, w, 1], 2, [[1]], async (t) => (await run(t)).data)
 */
export async function flipMean(
  input: Float32Array,
  shape: readonly number[],
  channelAxis: number,
  flips: readonly (readonly number[])[],
  infer: (input: Float32Array) => Promise<Float32Array>,
): Promise<Float32Array> {
  const first = await infer(input);
  if (flips.length === 0) return first;
  const spatial = shape.map((_, i) => i).filter((i) => i !== channelAxis);
  const outChannels = first.length / spatial.reduce((n, a) => n * shape[a], 1);
  const outShape = shape.map((n, i) => (i === channelAxis ? outChannels : n));
  const sum = Float64Array.from(first);
  for (const flip of flips) {
    const axes = flip.map((a) => spatial[a]);
    const y = flipAxes(await infer(flipAxes(input, shape, axes)), outShape, axes);
    for (let i = 0; i < sum.length; i++) sum[i] += y[i];
  }
  const n = flips.length + 1, out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] / n;
  return out;
}

/**
 * {@link inferFitted} averaged over the flips of a fitted 2D input (HWC): the forward passes of
 * every run added up; no flips is one plain run.
 * `pool` as inferFitted's (undefined: the process's).
 * @example await inferFlips(loaded, fitted, plan, [[1]]) // mean of it and its left-right mirror
 */
export async function inferFlips(
  loaded: LoadedModel,
  x: ModelInput,
  plan: InferencePlan,
  flips: readonly (readonly number[])[],
  pool?: ModelPool | null,
): Promise<{ probs: ProbabilityMap; passes: number }> {
  let passes = 0;
  let shape: ProbabilityMap | undefined;
  const data = await flipMean(x.tensor, [x.height, x.width, x.channels], 2, flips, async (t) => {
    const fitted = { ...x, tensor: t };
    // undefined: the process's pool (inferFitted's default); null: in process
    const r = pool === undefined
      ? await inferFitted(loaded, fitted, plan)
      : await inferFitted(loaded, fitted, plan, pool);
    passes += r.passes;
    shape ??= r.probs;
    return r.probs.data;
  });
  return { probs: { ...shape!, data }, passes };
}
