/**
 * The replay pair of a model card: a small stored input and the output the trained model gave for
 * it. Recomputing it proves the artifact on disk loads and computes what was trained.
 */
import * as tf from "@tensorflow/tfjs-core";
import { decodeFloat32, encodeFloat32, ModelCardError, type StoredTensor } from "./card.ts";
import type { LoadedModel } from "./load.ts";

/** The outcome of {@link checkReplay}. */
export interface ReplayResult {
  ok: boolean;
  maxDiff: number;
  tolerance: number;
  values: number;
}

/**
 * A card's `replay` entry: runs `predict` on `inputs` and stores both.
 * @example card.replay = makeReplay((x) => model.predict(x) as tf.Tensor, [input], 1e-4)
 */
export function makeReplay(
  predict: (x: tf.Tensor | tf.Tensor[]) => tf.Tensor,
  inputs: { shape: number[]; data: Float32Array }[],
  tolerance: number,
): { inputs: StoredTensor[]; output: StoredTensor; tolerance: number } {
  const out = tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = predict(xs.length === 1 ? xs[0] : xs);
    return { shape: y.shape, data: y.dataSync() as Float32Array };
  });
  return {
    inputs: inputs.map((i) => ({ shape: i.shape, data: encodeFloat32(i.data) })),
    output: { shape: out.shape, data: encodeFloat32(out.data) },
    tolerance,
  };
}

/**
 * Recomputes the card's replay pair with the loaded model: the largest absolute difference and
 * whether it is within the card's tolerance. ModelCardError when the card has no replay. Reads
 * back synchronously: wasm and cpu backends (tests, exporters), not webgpu.
 * @example const { ok, maxDiff } = checkReplay(await loadModel("ct-liver"));
 */
export function checkReplay(loaded: LoadedModel): ReplayResult {
  const replay = loaded.card.replay;
  if (!replay) throw new ModelCardError(`card of ${loaded.name} has no replay pair`);
  const want = decodeFloat32(replay.output.data);
  const got = tf.tidy(() => {
    const xs = replay.inputs.map((i) => tf.tensor(decodeFloat32(i.data), i.shape));
    const y = loaded.predict(xs.length === 1 ? xs[0] : xs);
    if (y.shape.join() !== replay.output.shape.join()) {
      throw new ModelCardError(
        `${loaded.name}: replay output shape [${y.shape}], the card stores [${replay.output.shape}]`,
      );
    }
    return y.dataSync() as Float32Array;
  });
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
  }
  return {
    ok: maxDiff <= replay.tolerance,
    maxDiff,
    tolerance: replay.tolerance,
    values: want.length,
  };
}
