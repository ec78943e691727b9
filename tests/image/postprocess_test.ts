/**
 * lib/image/postprocess.ts against scipy.ndimage (reference/postprocess.py) on real masks, exactly:
 * DRIVE manual vessel masks and a two-label threshold of a DRIVE photo (2D, 8-connected components,
 * 4-connected holes), BraTS2021_00006's ground truth (labels 1, 2, 4) and a three-label threshold of
 * its FLAIR (3D, 26-connected components, 6-connected holes); and small cases by hand.
 */
import { assertEquals } from "./../_std_assert.ts";
import { decodeImage, maskFromBytes } from "../../lib/decode/mod.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import {
  type LabelMap,
  minVoxels,
  postprocessLabels,
  type PostprocessParams,
} from "../../lib/image/postprocess.ts";
import { dataFile } from "../_data.ts";
import { CASE, hasCase } from "../_brats.ts";

const DRIVE = "drive/png/test/";
const hasDrive = dataFile(`${DRIVE}1st_manual/01_manual1.png`) !== undefined;

/** scipy's answer for `map` (voxel thresholds, as the reference takes them). */
async function scipy(map: LabelMap, p: PostprocessParams, least: number) {
  const dir = await Deno.makeTempDir({ prefix: "medimg-pp-" });
  try {
    await Deno.writeFile(`${dir}/in.raw`, map.data);
    const args = [
      "reference/postprocess.py",
      `${dir}/in.raw`,
      `${dir}/out.raw`,
      String(map.depth ?? 1),
      String(map.height),
      String(map.width),
      String(p.largest ?? 0),
      p.fillHoles ? "1" : "0",
      String(least),
    ];
    const out = await new Deno.Command("/usr/bin/python3", { args, stderr: "inherit" }).output();
    if (!out.success) throw new Error("reference/postprocess.py failed");
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    return { data: await Deno.readFile(`${dir}/out.raw`), report };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Ours and scipy's on every parameter set: the same labels voxel for voxel, the same report. */
async function sameAsScipy(
  map: LabelMap,
  cases: { p: PostprocessParams; spacing?: number[] }[],
): Promise<void> {
  for (const { p, spacing } of cases) {
    const rank = (map.depth ?? 1) > 1 ? 3 : 2;
    const least = p.minSize ? minVoxels(p.minSize, spacing, rank) : 0;
    const ours = { ...map, data: map.data.slice() };
    const report = postprocessLabels(ours, p, spacing);
    const ref = await scipy(map, p, least);
    let diff = 0;
    for (let i = 0; i < ref.data.length; i++) diff += ref.data[i] !== ours.data[i] ? 1 : 0;
    assertEquals(diff, 0, `${JSON.stringify(p)}: ${diff} voxels differ from scipy`);
    assertEquals(report, ref.report, JSON.stringify(p));
    // each case changes the map (a test that cannot fail is a defect)
    const changed = report.removed_voxels + report.filled_voxels;
    if (!(changed > 0)) throw new Error(`${JSON.stringify(p)} changed nothing`);
  }
}

Deno.test("postprocessLabels by hand: largest N, fill holes around other labels, min size", () => {
  // label 1: a ring around a hole (one 0, one 2) and a single pixel; label 2: a pixel in the ring
  // and one diagonal pair (8-connected: one component of 2)
  // deno-fmt-ignore
  const data = Uint8Array.of(
    1, 1, 1, 1, 0, 0,
    1, 0, 2, 1, 0, 2,
    1, 1, 1, 1, 2, 0,
    0, 0, 0, 0, 0, 1,
  );
  const map = { width: 6, height: 4, data: data.slice() };
  const r = postprocessLabels(map, { largest: 1, fillHoles: true });
  // the lone 2 inside the ring went (smaller than the diagonal pair), so the ring fills both
  assertEquals(r, { removed_components: 2, removed_voxels: 2, filled_voxels: 2 });
  assertEquals(
    [...map.data],
    [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 2, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0],
  );
  // filling alone: the hole's 0 becomes 1, its 2 stays
  const kept = { width: 6, height: 4, data: data.slice() };
  assertEquals(postprocessLabels(kept, { fillHoles: true }).filled_voxels, 1);
  assertEquals([...kept.data.subarray(6, 12)], [1, 1, 2, 1, 0, 2]);
  // min size in mm²: pixels of 0.5 x 0.5 mm, components under 0.5 mm² (2 pixels) dropped
  const small = { width: 6, height: 4, data: data.slice() };
  postprocessLabels(small, { minSize: 0.5 }, [0.5, 0.5]);
  assertEquals([...small.data].filter((v) => v === 1).length, 10);
  assertEquals([...small.data].filter((v) => v === 2).length, 2);
  assertEquals(minVoxels(1, [1, 1, 1], 3), 1000);
  assertEquals(minVoxels(7, undefined, 3), 7);
});

Deno.test("postprocessLabels 3D by hand: 26-connected components, 6-connected holes", () => {
  // 3x3x3 cube shell of label 1 with an empty centre; a voxel of label 1 touching a corner
  // diagonally joins it (26-connected)
  const w = 4, h = 4, d = 4, data = new Uint8Array(w * h * d);
  for (let z = 0; z < 3; z++) {
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) data[(z * h + y) * w + x] = 1;
  }
  data[(1 * h + 1) * w + 1] = 0;
  data[(3 * h + 3) * w + 3] = 1;
  const map = { width: w, height: h, depth: d, data };
  assertEquals(postprocessLabels(map, { largest: 1, fillHoles: true }), {
    removed_components: 0,
    removed_voxels: 0,
    filled_voxels: 1,
  });
  assertEquals(data[(3 * h + 3) * w + 3], 1);
});

Deno.test({
  name: "postprocessLabels equals scipy.ndimage on DRIVE masks (2D)",
  ignore: !hasDrive,
  async fn() {
    for (const id of ["01", "07"]) {
      const bytes = await Deno.readFile(dataFile(`${DRIVE}1st_manual/${id}_manual1.png`)!);
      const m = await maskFromBytes(bytes);
      await sameAsScipy({ width: m.width, height: m.height, data: m.mask }, [
        { p: { largest: 1 } },
        { p: { largest: 3, fillHoles: true } },
        { p: { minSize: 200 } },
        { p: { minSize: 0.02 }, spacing: [0.02, 0.025] },
        { p: { fillHoles: true, minSize: 12, largest: 2 } },
      ]);
    }
    // a photo's green plane cut into two labels: thousands of components and holes
    const photo = await decodeImage(await Deno.readFile(dataFile(`${DRIVE}images/01_test.png`)!));
    const { width, height, channels, data } = photo.image;
    const two = new Uint8Array(width * height);
    for (let i = 0; i < two.length; i++) {
      const g = data[i * channels + 1];
      two[i] = g > 120 ? 2 : g > 80 ? 1 : 0;
    }
    await sameAsScipy({ width, height, data: two }, [
      { p: { largest: 5 } },
      { p: { fillHoles: true } },
      { p: { minSize: 50, fillHoles: true } },
    ]);
  },
});

Deno.test({
  name: "postprocessLabels equals scipy.ndimage on BraTS volumes (3D, labels 1, 2, 4)",
  ignore: !hasCase,
  async fn() {
    const seg = await readNifti(await Deno.readFile(dataFile(`${CASE}seg.nii.gz`)!));
    const labels = Uint8Array.from(seg.data as ArrayLike<number>);
    const map = { width: seg.width, height: seg.height, depth: seg.depth, data: labels };
    await sameAsScipy(map, [
      { p: { largest: 1, fillHoles: true } },
      { p: { minSize: 0.05 }, spacing: [1, 1, 1] },
    ]);
    // FLAIR cut into three labels on a 96 x 96 x 48 block around the tumour: many components
    const flair = await readNifti(await Deno.readFile(dataFile(`${CASE}flair.nii.gz`)!));
    const [bx, by, bz, bw, bh, bd] = [70, 70, 40, 96, 96, 48];
    const cut = new Uint8Array(bw * bh * bd);
    for (let z = 0; z < bd; z++) {
      for (let y = 0; y < bh; y++) {
        for (let x = 0; x < bw; x++) {
          const v = flair.data[((z + bz) * flair.height + y + by) * flair.width + x + bx];
          cut[(z * bh + y) * bw + x] = v > 500 ? 4 : v > 350 ? 2 : v > 250 ? 1 : 0;
        }
      }
    }
    await sameAsScipy({ width: bw, height: bh, depth: bd, data: cut }, [
      { p: { largest: 2 } },
      { p: { fillHoles: true } },
      { p: { minSize: 0.02, fillHoles: true }, spacing: [1, 1, 1] },
    ]);
  },
});
