/**
 * Tiled 2D inference: tiles of the model's size laid with at least `overlap` pixels in common, the
 * last tile of each axis flush with the image's end (as MONAI's sliding window), run in batches,
 * and blended. Blending weights are 0 on the outer quarter of the overlap at a tile's inner edges
 * (where a convolution saw the tile's zero padding, not the image), rise linearly to 1 at half the
 * overlap, and are 1 along the image's own border; each pixel's weighted sum is divided by its
 * summed weights. A network whose receptive field reaches at most overlap/4 pixels therefore gives
 * exactly its whole-image output (no seam), and a larger one a smooth blend.
 */

import type { ModelInput, ProbabilityMap } from "./tensor.ts";

/**
 * Runs the model on `count` tiles of `height` x `width` x `channels` packed NHWC in `batch`; answers
 * the output NHWC of the same height and width.
 */
export type TileRunner = (
  batch: Float32Array,
  count: number,
  height: number,
  width: number,
) => Promise<{ data: Float32Array; channels: number }>;

/** How to tile. */
export interface TileOptions {
  /** Tile height and width (the model's input size). */
  size: [number, number];
  /** Pixels two neighbouring tiles share at least. */
  overlap: number;
  /** Tiles per forward pass (default 4). */
  batch?: number;
  /** Value of pixels padded onto an image smaller than a tile (default 0). */
  padValue?: number;
  /**
   * Forward passes in flight at once (default 1): with a model pool (lib/models/pool.ts), its size.
   * Outputs are blended in tile order whatever order they come back in: the same result.
   */
  concurrency?: number;
}

/**
 * Start offsets of tiles of `size` over `length` with at least `overlap` in common; the last one
 * flush with the end. An axis shorter than the tile has one tile at 0 (padded).
 * @example tileStarts(100, 40, 8) // [0, 32, 60]
 */
export function tileStarts(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const step = size - overlap;
  const out: number[] = [];
  for (let p = 0; p + size < length; p += step) out.push(p);
  out.push(length - size);
  return out;
}

/**
 * Blending weights along one axis of a tile; `first`/`last` mark tiles on the image's border,
 * whose outer side is not tapered.
 * @example blendWeights(8, 4, true, false) // [1, 1, 1, 1, 1, 1, 0.5, 0]
 */
export function blendWeights(
  size: number,
  overlap: number,
  first: boolean,
  last: boolean,
): Float32Array {
  const w = new Float32Array(size);
  const margin = Math.floor(overlap / 4);
  const rise = Math.max(1, Math.ceil(overlap / 2) - margin);
  for (let i = 0; i < size; i++) {
    const d = Math.min(first ? Infinity : i, last ? Infinity : size - 1 - i);
    w[i] = d < margin ? 0 : Math.min(1, (d - margin + 1) / rise);
  }
  return w;
}

/**
 * Runs `run` over overlapping tiles of `image` and blends the outputs into one HWC map of the
 * image's size.
 * @example
 * const probs = await tiledInference(image, run, { size: [256, 256], overlap: 32, batch: 4 });
 */
export async function tiledInference(
  image: ModelInput,
  run: TileRunner,
  options: TileOptions,
): Promise<ProbabilityMap & { tiles: number; passes: number }> {
  const [th, tw] = options.size;
  const overlap = options.overlap;
  if (!(overlap >= 0 && overlap < Math.min(th, tw))) {
    throw new RangeError(`overlap ${overlap} must be >= 0 and less than the tile ${th}x${tw}`);
  }
  const batch = Math.max(1, Math.floor(options.batch ?? 4));
  const padValue = options.padValue ?? 0;
  const { width, height, channels: c, tensor: data } = image;
  const ys = tileStarts(height, th, overlap), xs = tileStarts(width, tw, overlap);
  const tiles = ys.flatMap((y) => xs.map((x) => [y, x] as const));
  const wy = ys.map((_, i) => blendWeights(th, overlap, i === 0, i === ys.length - 1));
  const wx = xs.map((_, i) => blendWeights(tw, overlap, i === 0, i === xs.length - 1));
  let acc: Float32Array | undefined;
  let k = 0;
  const weight = new Float32Array(width * height);
  let passes = 0;
  const tileSize = th * tw * c;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const launch = (start: number) => {
    const group = tiles.slice(start, start + batch);
    const input = new Float32Array(group.length * tileSize).fill(padValue);
    group.forEach(([y0, x0], t) => {
      const rows = Math.min(th, height - y0), cols = Math.min(tw, width - x0);
      for (let y = 0; y < rows; y++) {
        const src = ((y0 + y) * width + x0) * c;
        input.set(data.subarray(src, src + cols * c), t * tileSize + y * tw * c);
      }
    });
    const out = run(input, group.length, th, tw);
    // a rejection is taken where the group is awaited, in order
    out.catch(() => {});
    return { group, out };
  };
  const inflight: ReturnType<typeof launch>[] = [];
  for (let next = 0; next < tiles.length || inflight.length > 0;) {
    while (inflight.length < concurrency && next < tiles.length) {
      inflight.push(launch(next));
      next += batch;
    }
    const { group, out: pending } = inflight.shift()!;
    const out = await pending;
    passes++;
    if (out.data.length !== group.length * th * tw * out.channels) {
      throw new RangeError(
        `the model answered ${out.data.length} values for ${group.length} tiles of ${th}x${tw}x${out.channels}`,
      );
    }
    if (!acc) {
      k = out.channels;
      acc = new Float32Array(width * height * k);
    }
    group.forEach(([y0, x0], t) => {
      const fy = wy[ys.indexOf(y0)], fx = wx[xs.indexOf(x0)];
      const rows = Math.min(th, height - y0), cols = Math.min(tw, width - x0);
      const base = t * th * tw * k;
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const w = fy[y] * fx[x];
          if (w === 0) continue;
          const p = (y0 + y) * width + x0 + x;
          weight[p] += w;
          const s = base + (y * tw + x) * k;
          for (let j = 0; j < k; j++) acc![p * k + j] += w * out.data[s + j];
        }
      }
    });
  }
  for (let p = 0; p < width * height; p++) {
    const inv = 1 / weight[p];
    for (let j = 0; j < k; j++) acc![p * k + j] *= inv;
  }
  return { data: acc!, width, height, channels: k, tiles: tiles.length, passes };
}
