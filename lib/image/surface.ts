/**
 * Surface distances between two binary masks on one voxel grid (a 2D mask is a grid of depth 1),
 * in mm from the voxel spacing, and their 95th-percentile Hausdorff distance as MONAI's
 * `compute_hausdorff_distance(percentile=95)` computes it: the surface of a mask is its voxels that
 * a one-voxel erosion with the 6-neighbour cross removes (scipy's `binary_erosion`, outside the
 * grid is background), each surface voxel of A gets the Euclidean distance to the nearest surface
 * voxel of B (scipy's `distance_transform_edt` with `sampling`) and vice versa, HD95 is the larger
 * of the two directed 95th percentiles (numpy's linear interpolation). medpy's `hd95` instead takes
 * the percentile of both directions pooled; the two differ slightly. reference/metrics_reference.py
 * is the numpy/scipy twin. Hand-written because no library computes it here: an exact separable
 * Euclidean distance transform (Felzenszwalb and Huttenlocher 2012) over the bounding box of the
 * two masks, which holds every surface voxel, so the distances are exact.
 */

/** [width, height, depth] of a grid stored x fastest, then y, then z. */
export type Dims3 = readonly [number, number, number];

/**
 * HD95 in mm of masks `a` and `b` (non-zero is inside) on a grid of `dims`, `spacing` mm per voxel
 * along x, y, z. Both empty: 0 (they agree); one empty: null (no surface to measure to; MONAI
 * answers nan or inf there, and BraTS's own evaluation a fixed 373.13 mm).
 * @example hd95(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(0, 1, 1, 0), [4, 1, 1], [1, 1, 1]) // 1
 */
export function hd95(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
): number | null {
  return hausdorffPercentile(a, b, dims, spacing, 95);
}

/**
 * The larger of the two directed `percentile`-th percentiles of the surface distances (100: the
 * Hausdorff distance); the empty cases as {@link hd95}.
 * @example hausdorffPercentile(a, b, [w, h, d], [1, 1, 2.5], 100)
 */
export function hausdorffPercentile(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
  percentile: number,
): number | null {
  const box = unionBox(a, b, dims);
  if (!box) return 0;
  const ca = cropBinary(a, dims, box), cb = cropBinary(b, dims, box);
  const sa = surface(ca, box.size, dims[2]), sb = surface(cb, box.size, dims[2]);
  if (!sa.count || !sb.count) return sa.count === sb.count ? 0 : null;
  const ab = directed(sa, sb, box.size, spacing), ba = directed(sb, sa, box.size, spacing);
  return Math.max(percentileOf(ab, percentile), percentileOf(ba, percentile));
}

/**
 * The distances in mm from every surface voxel of `a` to the nearest surface voxel of `b`, in voxel
 * order (empty when either has no surface).
 * @example surfaceDistances(a, b, [w, h, d], [1, 1, 1]).length // the surface voxels of a
 */
export function surfaceDistances(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dims: Dims3,
  spacing: readonly [number, number, number],
): Float64Array {
  const box = unionBox(a, b, dims);
  if (!box) return new Float64Array(0);
  const sa = surface(cropBinary(a, dims, box), box.size, dims[2]);
  const sb = surface(cropBinary(b, dims, box), box.size, dims[2]);
  if (!sa.count || !sb.count) return new Float64Array(0);
  return directed(sa, sb, box.size, spacing);
}

interface Box3 {
  at: [number, number, number];
  size: [number, number, number];
}

/** The bounding box of the voxels inside either mask, or null when both are empty. */
function unionBox(a: ArrayLike<number>, b: ArrayLike<number>, [w, h, d]: Dims3): Box3 | null {
  let x0 = w, y0 = h, z0 = d, x1 = -1, y1 = -1, z1 = -1;
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        if (!a[i] && !b[i]) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (z < z0) z0 = z;
        if (z > z1) z1 = z;
      }
    }
  }
  if (x1 < 0) return null;
  return { at: [x0, y0, z0], size: [x1 - x0 + 1, y1 - y0 + 1, z1 - z0 + 1] };
}

/** The box of `m` as a 0/1 byte volume. */
function cropBinary(m: ArrayLike<number>, [w, h]: Dims3, box: Box3): Uint8Array {
  const [bx, by, bz] = box.at, [bw, bh, bd] = box.size;
  const out = new Uint8Array(bw * bh * bd);
  for (let z = 0, o = 0; z < bd; z++) {
    for (let y = 0; y < bh; y++) {
      const row = ((bz + z) * h + by + y) * w + bx;
      for (let x = 0; x < bw; x++, o++) out[o] = m[row + x] ? 1 : 0;
    }
  }
  return out;
}

/**
 * The surface voxels: inside, with one of the six face neighbours outside (or off the grid, which
 * the box's edge stands for: the box holds every inside voxel of the grid). A grid one voxel deep
 * (`grid` its depth) is a 2D image: the four in-plane neighbours only, as scipy's 2D cross.
 */
function surface(m: Uint8Array, [w, h, d]: [number, number, number], grid: number) {
  const on = new Uint8Array(m.length);
  let count = 0;
  const plane = w * h, flat = grid === 1;
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        if (!m[i]) continue;
        const inner = x > 0 && x < w - 1 && y > 0 && y < h - 1 &&
          m[i - 1] && m[i + 1] && m[i - w] && m[i + w] &&
          (flat || (z > 0 && z < d - 1 && m[i - plane] && m[i + plane]));
        if (!inner) on[i] = 1, count++;
      }
    }
  }
  return { on, count };
}

/** Distances from each surface voxel of `from` to the nearest of `to`, in mm. */
function directed(
  from: { on: Uint8Array; count: number },
  to: { on: Uint8Array },
  size: [number, number, number],
  spacing: readonly [number, number, number],
): Float64Array {
  const d2 = squaredDistanceTransform(to.on, size, spacing);
  const out = new Float64Array(from.count);
  for (let i = 0, k = 0; i < d2.length; i++) if (from.on[i]) out[k++] = Math.sqrt(d2[i]);
  return out;
}

/**
 * The squared Euclidean distance in mm² from each voxel to the nearest non-zero voxel of
 * `features`: the lower envelope of parabolas along x, then y, then z (exact; each pass needs only
 * the previous pass's values along its line).
 */
function squaredDistanceTransform(
  features: Uint8Array,
  [w, h, d]: [number, number, number],
  spacing: readonly [number, number, number],
): Float64Array {
  const f = new Float64Array(features.length);
  for (let i = 0; i < f.length; i++) f[i] = features[i] ? 0 : Infinity;
  const longest = Math.max(w, h, d);
  const line = new Float64Array(longest), out = new Float64Array(longest);
  const v = new Int32Array(longest), zs = new Float64Array(longest + 1);
  const pass = (n: number, stride: number, starts: Iterable<number>, s: number) => {
    for (const start of starts) {
      for (let q = 0; q < n; q++) line[q] = f[start + q * stride];
      envelope(line, n, s, out, v, zs);
      for (let q = 0; q < n; q++) f[start + q * stride] = out[q];
    }
  };
  const plane = w * h;
  pass(w, 1, lineStarts(h * d, (k) => k * w), Math.abs(spacing[0]));
  pass(h, w, lineStarts(w * d, (k) => Math.floor(k / w) * plane + (k % w)), Math.abs(spacing[1]));
  pass(d, plane, lineStarts(plane, (k) => k), Math.abs(spacing[2]));
  return f;
}

function* lineStarts(count: number, at: (k: number) => number): Generator<number> {
  for (let k = 0; k < count; k++) yield at(k);
}

/**
 * One line's squared distance transform with sample step `s` mm: out[p] = min over q of
 * f[q] + (s (p - q))². Infinite samples (no feature on the line so far) take no part.
 */
function envelope(
  f: Float64Array,
  n: number,
  s: number,
  out: Float64Array,
  v: Int32Array,
  zs: Float64Array,
): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    const xq = q * s, fq = f[q] + xq * xq;
    while (k >= 0) {
      const xv = v[k] * s;
      const cut = (fq - (f[v[k]] + xv * xv)) / (2 * (xq - xv));
      if (cut <= zs[k]) k--;
      else {
        zs[++k] = cut;
        v[k] = q;
        break;
      }
    }
    if (k < 0) {
      k = 0;
      v[0] = q;
      zs[0] = -Infinity;
    }
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  zs[k + 1] = Infinity;
  for (let p = 0, j = 0; p < n; p++) {
    const x = p * s;
    while (zs[j + 1] < x) j++;
    const dx = (p - v[j]) * s;
    out[p] = dx * dx + f[v[j]];
  }
}

/** numpy's `percentile` with linear interpolation (sorts `d` in place). */
function percentileOf(d: Float64Array, percentile: number): number {
  d.sort();
  const k = (d.length - 1) * percentile / 100, lo = Math.floor(k), hi = Math.ceil(k);
  return d[lo] + (d[hi] - d[lo]) * (k - lo);
}
