import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { dataFile, readGzipText } from "../_data.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import {
  BRATS_MODALITIES,
  bratsPreprocess,
  dicePerLabel,
  keptSlices,
  labelVolumes,
  probabilitiesToLabels,
  stackModalities,
  zscoreSlices,
} from "../../lib/pipelines/brats.ts";
import { InvalidInputError } from "../../lib/errors.ts";

const CASE = "brats/BraTS2021_00006/BraTS2021_00006_";
const hasCase = dataFile(`${CASE}flair.nii.gz`) !== undefined;

async function readCase(what: string): Promise<Volume> {
  return await readNifti(await Deno.readFile(dataFile(`${CASE}${what}.nii.gz`)!));
}

interface RefSlice {
  mean: number;
  std: number;
  sum: number;
  sumsq: number;
  idx: number[];
  val: number[];
}

Deno.test({
  name: "z-score of the real BraTS case equals the seed's NumPy standardize (fixture), both paths",
  ignore: !hasCase,
  fn: async () => {
    const ref = JSON.parse(
      await readGzipText(new URL("../fixtures/brats_reference.json.gz", import.meta.url).pathname),
    ) as { shape: number[]; slices: RefSlice[] };
    const vols = await Promise.all(BRATS_MODALITIES.map(readCase));
    const twoPass = () => {
      const stack = stackModalities(vols);
      return { stack, ...zscoreSlices(stack) };
    };
    for (
      const [name, run] of [["two-pass", twoPass], ["fused", () => bratsPreprocess(vols)]] as const
    ) {
      const { stack, mean, std } = run();
      assertEquals([stack.channels, stack.depth, stack.height, stack.width], ref.shape);
      assertEquals(stack.zStart, 5);
      const plane = stack.width * stack.height;
      let worst = 0, zeroSlices = 0, sumErr = 0, sumsqErr = 0;
      ref.slices.forEach((r, s) => {
        // integer voxels: the sums are exact on both sides, so the mean is the same double
        assertEquals(mean[s], r.mean, `${name}: mean of slice ${s}`);
        assertAlmostEquals(std[s], r.std, 1e-9 * Math.max(1, r.std), `${name}: std of slice ${s}`);
        if (r.std === 0) zeroSlices++;
        const out = stack.data.subarray(s * plane, (s + 1) * plane);
        let sum = 0, sumsq = 0;
        for (const v of out) [sum, sumsq] = [sum + v, sumsq + v * v];
        // float32 rounding of 57,600 values: a few 1e-3 at most (the background shares one value)
        sumErr = Math.max(sumErr, Math.abs(sum - r.sum));
        sumsqErr = Math.max(sumsqErr, Math.abs(sumsq - r.sumsq) / Math.max(1, r.sumsq));
        r.idx.forEach((i, k) => {
          worst = Math.max(worst, Math.abs(out[i] - r.val[k]) / Math.max(1, Math.abs(r.val[k])));
        });
      });
      assert(worst < 2e-7, `${name}: sampled voxels differ by ${worst} (float32 rounding)`);
      assert(sumErr < 1e-2 && sumsqErr < 1e-6, `${name}: sums ${sumErr}, squares ${sumsqErr}`);
      assert(zeroSlices > 0, "the case has empty slices, kept as they were");
    }
  },
});

/** A run of the seed's own code over every voxel, where Debian's python3 with numpy is present. */
async function seedPython(ours: string): Promise<string | undefined> {
  const py = "/usr/bin/python3";
  try {
    const probe = await new Deno.Command(py, { args: ["-c", "import numpy, nibabel"] }).output();
    if (!probe.success) throw new Error("no numpy/nibabel");
  } catch {
    console.log(`skipping the full-volume seed comparison: ${py} with numpy and nibabel not found`);
    return undefined;
  }
  const reference = new URL("../../reference/", import.meta.url).pathname;
  const caseDir = dataFile("brats/BraTS2021_00006")!;
  const script = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(reference)})
from seed002_brats import stack_case, standardize
paths = {s: ${
    JSON.stringify(caseDir)
  } + "/BraTS2021_00006_" + s + ".nii.gz" for s in ["flair", "t1", "t1ce", "t2"]}
seed = standardize(stack_case(paths))
ours = np.fromfile(${JSON.stringify(ours)}, "<f4").reshape(seed.shape)
d = np.abs(ours - seed) / np.maximum(1, np.abs(seed))
print(json.dumps({"shape": list(seed.shape), "max_rel": float(d.max()), "equal_zero": int((seed == 0).sum() - (ours == 0).sum())}))
`;
  const out = await new Deno.Command(py, { args: ["-c", script] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "every voxel of the real case equals the seed's standardize run by NumPy (test-time)",
  ignore: !hasCase,
  fn: async () => {
    const vols = await Promise.all(BRATS_MODALITIES.map(readCase));
    const { stack } = bratsPreprocess(vols);
    const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".f32" });
    try {
      await Deno.writeFile(path, new Uint8Array(stack.data.buffer));
      const answer = await seedPython(path);
      if (answer === undefined) return;
      const r = JSON.parse(answer);
      assertEquals(r.shape, [4, 135, 240, 240]);
      assert(r.max_rel < 2e-7, `largest relative difference ${r.max_rel}`);
      assertEquals(r.equal_zero, 0);
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test("slices are dropped only from 155-slice volumes, as the seed", () => {
  assertEquals(keptSlices(155), { start: 5, end: 140 });
  assertEquals(keptSlices(154), { start: 0, end: 154 });
  assertEquals(keptSlices(78), { start: 0, end: 78 });
  assertEquals(keptSlices(10, { dropDepth: 10, dropHead: 2, dropTail: 3 }), { start: 2, end: 7 });
  assertThrows(
    () => keptSlices(10, { dropDepth: 10, dropHead: 5, dropTail: 5 }),
    InvalidInputError,
  );
});

Deno.test("z-score: a constant slice is kept as it was (the seed's else branch); others have mean 0, sd 1", () => {
  const w = 3, h = 2, d = 2;
  const values = [7, 7, 7, 7, 7, 7, 1, 2, 3, 4, 5, 6];
  // integer input takes the fused path, float input the two-pass one
  for (const data of [Int16Array.from(values), Float32Array.from(values)]) {
    const { stack } = bratsPreprocess([{ width: w, height: h, depth: d, data }]);
    assertEquals(Array.from(stack.data.subarray(0, 6)), [7, 7, 7, 7, 7, 7]);
    const sd = Math.sqrt(17.5 / 6);
    Array.from(stack.data.subarray(6)).forEach((v, i) =>
      assertAlmostEquals(v, (i + 1 - 3.5) / sd, 1e-6)
    );
  }
});

Deno.test("modalities must share one grid", () => {
  const a = { width: 4, height: 4, depth: 3, data: new Uint8Array(48) };
  const b = { width: 4, height: 3, depth: 4, data: new Uint8Array(48) };
  const err = assertThrows(() => stackModalities([a, b]), InvalidInputError);
  assert(err.message.includes("4x3x4"));
});

Deno.test("probabilities to labels 0/1/2/4, dropped slices background", () => {
  // 2 kept slices of 2 voxels inside a 4-slice volume starting at slice 1
  const n = 4;
  const probs = Float32Array.from([
    // label 1 channel
    0.9,
    0.2,
    0.4,
    0.1,
    // label 2 channel
    0.1,
    0.6,
    0.45,
    0.1,
    // label 4 channel
    0.5,
    0.7,
    0.3,
    0.49,
  ]);
  const out = probabilitiesToLabels(probs, {
    width: 2,
    height: 1,
    depth: 2,
    zStart: 1,
    fullDepth: 4,
  });
  assertEquals(Array.from(out), [0, 0, 1, 4, 0, 0, 0, 0]);
  assertEquals(probs.length, 3 * n);
});

Deno.test({
  name: "label volumes and dice on the real ground truth (counts from SOURCES.md)",
  ignore: !hasCase,
  fn: async () => {
    const seg = await readCase("seg");
    const v = labelVolumes(seg.data, seg.spacing);
    const want = { 1: 25506, 2: 85957, 4: 26448 };
    for (const [l, n] of Object.entries(want)) {
      assertEquals(v[l].voxels, n);
      assertAlmostEquals(v[l].ml, n / 1000, 1e-9);
    }
    assertEquals(dicePerLabel(seg.data, seg.data), { 1: 1, 2: 1, 4: 1 });
  },
});

Deno.test("dice: the seed's formula with eps 1e-5, per label", () => {
  const pred = Uint8Array.from([1, 1, 2, 0, 4, 0]);
  const truth = Uint8Array.from([1, 2, 2, 2, 0, 0]);
  const d = dicePerLabel(pred, truth);
  assertEquals(d[1], (2 * 1 + 1e-5) / (2 + 1 + 1e-5));
  assertEquals(d[2], (2 * 1 + 1e-5) / (1 + 3 + 1e-5));
  assertEquals(d[4], (0 + 1e-5) / (1 + 0 + 1e-5));
  // absent on both sides: 1, as the seed's smoothing gives
  assertEquals(dicePerLabel([0], [0])[4], 1);
  assertThrows(() => dicePerLabel([0, 1], [0]), InvalidInputError);
});
