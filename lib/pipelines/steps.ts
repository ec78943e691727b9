/**
 * The one step runner every pipeline runs on (mammo, cxr, the slice presets and inference, brats).
 *
 * A pipeline is a list of named steps. `Steps` runs each one through `step(name, fn)`, which
 *  - times it (the record becomes Server-Timing and the JSON `timings_ms`, see lib/http/steps.ts),
 *  - calls `check(name)` after it, between steps: the request's time budget stops the work there,
 *  - keeps intermediates when asked (`keep`), for the step-by-step picture,
 * and geometric steps (crop, flip, pad, resize, reorient, tile) record how to undo themselves, as
 * MONAI's invertible transforms do, so that any pipeline can map a result on its output grid back
 * onto its input (`mapBack`). Fused steps (mammo computes crop, normalise and artefacts in one pass
 * for speed) still time each named part with `lap`.
 *
 * No HTTP here: the caller passes `check` (a deadline) and reads the record.
 */
import { InvalidInputError } from "../errors.ts";
import type { Box } from "../image/ops.ts";
import type { Pixels } from "../image/image.ts";
import { applyOrientation, invertOrientation, type Orientation } from "../nifti/orient.ts";
import { resize } from "../image/resize.ts";

/**
 * A grid of samples, row-major, `channels` interleaved (1 when absent): 2D, or 3D with `depth`
 * (x fastest, then y, then z, as NIfTI stores them; only "reorient" steps take one).
 */
export interface Grid<T extends ArrayLike<number> = ArrayLike<number>> {
  width: number;
  height: number;
  depth?: number;
  channels?: number;
  data: T;
}

/**
 * How a geometric step changed the grid, as data (JSON in answers) from which its inverse follows.
 * - crop: the output is `box` of an input of `from` [width, height];
 * - flip: mirrored left-right (`axis` "x") or top-bottom ("y");
 * - pad: the input sits at `at` [x, y] inside an output of `to` [width, height];
 * - resize: an input of `from` [width, height] was resampled to `to`;
 * - reorient: a volume of `from` [width, height, depth] had its voxel axes permuted and flipped by
 *   `ornt` (nibabel's orientation, e.g. to RAS by lib/nifti's toCanonical); undone by the inverse
 *   orientation (lib/nifti's fromCanonical).
 */
export type Geometric =
  | { step: string; kind: "crop"; from: [number, number]; box: Box }
  | { step: string; kind: "flip"; axis: "x" | "y"; size: [number, number] }
  | {
    step: string;
    kind: "pad";
    from: [number, number];
    to: [number, number];
    at: [number, number];
  }
  | { step: string; kind: "resize"; from: [number, number]; to: [number, number] }
  | { step: string; kind: "reorient"; from: [number, number, number]; ornt: Orientation };

/** Options of a run. */
export interface StepOptions {
  /** Called after each step with its name; throws to stop the run (e.g. the time budget). */
  check?: (step: string) => void;
  /** Keep intermediates given to {@link Steps.keep} (the stage strip). */
  keep?: boolean;
}

/** An intermediate image kept for the step-by-step picture. */
export interface Kept<I> {
  name: string;
  image: I;
}

/**
 * One run of a pipeline: time per step, intermediates and the geometric record.
 * @example
 * const run = new Steps({ check: (s) => checkBudget(c, s) });
 * const cropped = run.step("crop", () => crop(img, box));
 * run.geometric({ kind: "crop", from: [img.width, img.height], box });
 * run.timings // { crop: 3.1 }
 */
export class Steps<I = unknown> {
  /** Milliseconds per step name, in the order run (a repeated name adds up). */
  readonly timings: Record<string, number> = {};
  /** Intermediates, when the run keeps them. */
  readonly kept: Kept<I>[] = [];
  /** The geometric steps in the order applied. */
  readonly geometry: Geometric[] = [];
  readonly #check?: (step: string) => void;
  readonly #keep: boolean;
  #lapStart = performance.now();

  constructor(options: StepOptions = {}) {
    this.#check = options.check;
    this.#keep = options.keep ?? false;
  }

  /** Whether intermediates are kept (so a fused step can skip building them). */
  get keeping(): boolean {
    return this.#keep;
  }

  /** Runs `fn` as the step `name`: timed (also when it throws), then, when it answered, the check. */
  step<T>(name: string, fn: () => T): T {
    const t = performance.now();
    let result: T;
    try {
      result = fn();
    } finally {
      this.#add(name, performance.now() - t);
      this.#lapStart = performance.now();
    }
    // After a step that failed its own error is the answer, not the budget's.
    this.#check?.(name);
    return result;
  }

  /** As {@link step} for asynchronous work. */
  async stepAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    let result: T;
    try {
      result = await fn();
    } finally {
      this.#add(name, performance.now() - t);
      this.#lapStart = performance.now();
    }
    this.#check?.(name);
    return result;
  }

  /**
   * Ends a named part of a fused step: the time since the last lap (or step), then the check.
   * @example run.lap("crop"); ...; run.lap("normalise")
   */
  lap(name: string): void {
    const now = performance.now();
    this.#add(name, now - this.#lapStart);
    this.#lapStart = now;
    this.#check?.(name);
  }

  /** Restarts the lap clock (before the first part of a fused step). */
  startLaps(): void {
    this.#lapStart = performance.now();
  }

  /** Keeps an intermediate when the run keeps them; `image` is only called then. */
  keep(name: string, image: () => I): void {
    if (this.#keep) this.kept.push({ name, image: image() });
  }

  /** Records a geometric step (its inverse follows from it). */
  geometric(g: Geometric): void {
    this.geometry.push(g);
  }

  #add(name: string, ms: number): void {
    this.timings[name] = (this.timings[name] ?? 0) + ms;
  }
}

/** Interpolation for {@link mapBack}'s inverse resize: masks take nearest, maps bilinear. */
export type BackInterpolation = "nearest" | "bilinear";

/**
 * Maps a result on a pipeline's output grid back onto its input grid by undoing the recorded
 * geometric steps in reverse order: a pad is cropped away, a flip flipped again, a resize resized
 * back, a crop put back into a zero canvas of the input's size (nothing outside the crop box).
 * @example const original = mapBack(run.geometry, predictedSquare) // the mammogram's size
 */
export function mapBack<T extends Grid>(
  geometry: readonly Geometric[],
  result: T,
  interpolation: BackInterpolation = "nearest",
): T {
  let g: Grid = result;
  for (let i = geometry.length - 1; i >= 0; i--) g = undo(geometry[i], g, interpolation);
  return g as T;
}

function undo(s: Geometric, g: Grid, interpolation: BackInterpolation): Grid {
  const c = g.channels ?? 1;
  const made = (w: number, h: number) =>
    new (g.data.constructor as new (n: number) => ArrayLike<number> & { [i: number]: number })(
      w * h * c,
    );
  switch (s.kind) {
    case "pad": {
      expect(s.step, g, s.to);
      const [w, h] = s.from, [ax, ay] = s.at;
      const out = made(w, h);
      for (let y = 0; y < h; y++) {
        for (let k = 0; k < w * c; k++) {
          out[y * w * c + k] = g.data[((ay + y) * s.to[0] + ax) * c + k];
        }
      }
      return { width: w, height: h, channels: c, data: out };
    }
    case "flip": {
      expect(s.step, g, s.size);
      const [w, h] = s.size;
      const out = made(w, h);
      for (let y = 0; y < h; y++) {
        const sy = s.axis === "y" ? h - 1 - y : y;
        for (let x = 0; x < w; x++) {
          const sx = s.axis === "x" ? w - 1 - x : x;
          for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = g.data[(sy * w + sx) * c + k];
        }
      }
      return { width: w, height: h, channels: c, data: out };
    }
    case "crop": {
      const { x0, y0, x1, y1 } = s.box;
      expect(s.step, g, [x1 - x0, y1 - y0]);
      const [w, h] = s.from, cw = x1 - x0;
      const out = made(w, h);
      for (let y = y0; y < y1; y++) {
        for (let k = 0; k < cw * c; k++) out[(y * w + x0) * c + k] = g.data[(y - y0) * cw * c + k];
      }
      return { width: w, height: h, channels: c, data: out };
    }
    case "resize": {
      expect(s.step, g, s.to);
      return resample(g, s.from[0], s.from[1], interpolation, made);
    }
    case "reorient":
      return unorient(s, g);
  }
}

/** Undoes a "reorient": the volume on the reoriented grid back in the input's voxel order. */
function unorient(s: Extract<Geometric, { kind: "reorient" }>, g: Grid): Grid {
  const reoriented = [0, 0, 0];
  s.ornt.forEach(([axis], i) => (reoriented[axis] = s.from[i]));
  const [w, h, d] = reoriented, c = g.channels ?? 1;
  if (g.width !== w || g.height !== h || (g.depth ?? 1) !== d || g.data.length !== w * h * d * c) {
    throw new InvalidInputError(
      `the result is ${g.width}x${g.height}x${g.depth ?? 1}, but step ${s.step} made ` +
        `${w}x${h}x${d}: it cannot be mapped back`,
    );
  }
  if (c !== 1) throw new InvalidInputError(`step ${s.step}: only one channel can be reoriented`);
  const [fw, fh, fd] = s.from;
  const data = applyOrientation(g.data as Pixels, reoriented, invertOrientation(s.ornt)).data;
  return { width: fw, height: fh, depth: fd, channels: 1, data };
}

function expect(step: string, g: Grid, [w, h]: [number, number]): void {
  if (g.width !== w || g.height !== h) {
    throw new InvalidInputError(
      `the result is ${g.width}x${g.height}, but step ${step} made ${w}x${h}: it cannot be mapped back`,
    );
  }
}

/**
 * Pixel-centre resampling (OpenCV's convention) of `g` to w x h. Bilinear on the sample types
 * cv2.resize takes is lib/image/resize itself, so that undoing a resize made with it (the slice
 * fit) gives the very values of resizing back with it.
 */
function resample(
  g: Grid,
  w: number,
  h: number,
  interpolation: BackInterpolation,
  made: (w: number, h: number) => ArrayLike<number> & { [i: number]: number },
): Grid {
  const c = g.channels ?? 1, sw = g.width, sh = g.height;
  const d = g.data;
  if (
    interpolation === "bilinear" &&
    (d instanceof Float32Array || d instanceof Uint8Array || d instanceof Uint16Array ||
      d instanceof Int16Array)
  ) {
    // resize reads `channels` as a count; any count works for bilinear, not only 1 or 3
    const r = resize({ width: sw, height: sh, channels: c as 1, data: d }, w, h, "bilinear");
    return { width: w, height: h, channels: c, data: r.data };
  }
  const out = made(w, h);
  const fx = sw / w, fy = sh / h;
  const integer = !(g.data instanceof Float32Array || g.data instanceof Float64Array);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (interpolation === "nearest") {
        const sx = Math.min(sw - 1, Math.floor(x * fx)), sy = Math.min(sh - 1, Math.floor(y * fy));
        for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = g.data[(sy * sw + sx) * c + k];
        continue;
      }
      const px = Math.max(0, Math.min(sw - 1, (x + 0.5) * fx - 0.5));
      const py = Math.max(0, Math.min(sh - 1, (y + 0.5) * fy - 0.5));
      const x0 = Math.floor(px), y0 = Math.floor(py);
      const x1 = Math.min(sw - 1, x0 + 1), y1 = Math.min(sh - 1, y0 + 1);
      const ax = px - x0, ay = py - y0;
      for (let k = 0; k < c; k++) {
        const v = (1 - ay) *
            ((1 - ax) * g.data[(y0 * sw + x0) * c + k] + ax * g.data[(y0 * sw + x1) * c + k]) +
          ay * ((1 - ax) * g.data[(y1 * sw + x0) * c + k] + ax * g.data[(y1 * sw + x1) * c + k]);
        out[(y * w + x) * c + k] = integer ? Math.round(v) : v;
      }
    }
  }
  return { width: w, height: h, channels: c, data: out };
}
