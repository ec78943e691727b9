/**
 * What postprocessing (lib/image/postprocess.ts) and test-time augmentation by flips
 * (lib/models/tta.ts) do to the shipped models' figures, measured as their cards' metrics were
 * (training/fundus-vessels/evaluate.ts, training/brats-demo/evaluate.ts), and what each costs:
 *
 * - fundus-vessels on DRIVE: the service's slice pipeline (segmentSlice: preset, pad, infer, map
 *   back, threshold; with the card's flips for TTA), then each postprocessing; pooled F1 and AUC
 *   inside the FOV over the 20 test images, and the same on the 4 validation photos (training
 *   37-40, held out from training) on which a default is chosen, never on the test set. DRIVE
 *   PNGs have no pixel spacing: min_size is in pixels.
 * - brats-demo on BraTS2021_00006: segmentBrats (the card's window, wasm), with and without the
 *   card's flip (left-right), then each postprocessing on the input grid with the voxel spacing
 *   (min_size in mL); the seed's dice (eps 1e-5) per label and for the whole tumour on the
 *   held-out slab (RAS kept slices 80-107), and on the training slabs (z 0-75, 112-134) on which
 *   a default is chosen (there is no other held-out part of the one case).
 *
 * Prints a table per model (and JSON with --json). Times are wall ms on this (shared) machine.
 *
 *   deno run -A bench/compare/postprocess_measure.ts [fundus] [brats] [--json out.json]
 */
import { decodePng } from "../../lib/image/png.ts";
import {
  type LabelMap,
  postprocessLabels,
  type PostprocessParams,
} from "../../lib/image/postprocess.ts";
import { setupBackend } from "../../lib/models/backend.ts";
import { loadModel } from "../../lib/models/load.ts";
import { fastConv3dOnWasm, layersForward, type Size3 } from "../../lib/models/sliding3d.ts";
import { readNifti, toCanonical } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES, dicePerLabel, segmentBrats } from "../../lib/pipelines/brats.ts";
import { segmentSlice } from "../../lib/pipelines/slice.ts";
import { auc } from "../../training/fundus-vessels/evaluate.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const args = Deno.args.filter((a) => !a.startsWith("--"));
const jsonAt = Deno.args.indexOf("--json");
const jsonOut = jsonAt >= 0 ? Deno.args[jsonAt + 1] : undefined;
const which = args.filter((a) => a !== jsonOut);
const want = (m: string) => which.length === 0 || which.includes(m);

/** A postprocessing to measure, by name. */
interface Variant {
  name: string;
  p: PostprocessParams;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const results: Record<string, unknown> = {};

function table(head: string[], rows: (string | number)[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) =>
    "| " + r.map((c, i) => String(c).padEnd(w[i])).join(" | ") + " |";
  return [line(head), "| " + w.map((n) => "-".repeat(n)).join(" | ") + " |", ...rows.map(line)]
    .join("\n");
}

async function fundus() {
  const FLIPS = [[1], [0], [0, 1]];
  const loaded = await loadModel("fundus-vessels");
  const { card } = loaded;
  const variants: Variant[] = [
    { name: "none", p: {} },
    { name: "largest=1", p: { largest: 1 } },
    { name: "fill_holes", p: { fillHoles: true } },
    { name: "min_size=10 px", p: { minSize: 10 } },
    { name: "min_size=30 px", p: { minSize: 30 } },
    { name: "min_size=100 px", p: { minSize: 100 } },
    { name: "min_size=30 px + fill_holes", p: { minSize: 30, fillHoles: true } },
  ];
  const ttas = [
    { name: "none", flips: [] as number[][] },
    { name: "flip x", flips: [[1]] },
    { name: "flip x, y, xy", flips: FLIPS },
  ];
  const sets = {
    validation: [37, 38, 39, 40].map((n) => ({
      img: `drive/png/training/images/${n}_training.png`,
      gt: `drive/png/training/1st_manual/${n}_manual1.png`,
      fov: `drive/png/training/mask/${n}_training_mask.png`,
    })),
    test: Array.from({ length: 20 }, (_, i) => String(i + 1).padStart(2, "0")).map((id) => ({
      img: `drive/png/test/images/${id}_test.png`,
      gt: `drive/png/test/1st_manual/${id}_manual1.png`,
      fov: `drive/png/test/mask/${id}_test_mask.png`,
    })),
  };
  const rows: (string | number)[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const [setName, files] of Object.entries(sets)) {
    for (const tta of ttas) {
      const counts = variants.map(() => ({ tp: 0, fp: 0, fn: 0, ms: [] as number[] }));
      const pos: number[] = [], neg: number[] = [];
      const inferMs: number[] = [];
      for (const f of files) {
        const png = async (p: string) => decodePng(await Deno.readFile(DATA + p));
        const img = await png(f.img), gt = await png(f.gt), fov = await png(f.fov);
        const image = {
          width: img.width,
          height: img.height,
          channels: 3 as const,
          data: img.data as Uint8Array,
        };
        const t0 = performance.now();
        const r = await segmentSlice(loaded, { image, meta: {} }, {
          params: card.preprocess?.params ?? {},
          flips: tta.flips,
        });
        inferMs.push(performance.now() - t0);
        for (let i = 0; i < r.mask.length; i++) {
          if (fov.data[i] < 128) continue;
          (gt.data[i] >= 128 ? pos : neg).push(r.probs.data[i]);
        }
        variants.forEach((v, k) => {
          const map: LabelMap = { width: img.width, height: img.height, data: r.mask.slice() };
          const t1 = performance.now();
          postprocessLabels(map, v.p);
          counts[k].ms.push(performance.now() - t1);
          for (let i = 0; i < map.data.length; i++) {
            if (fov.data[i] < 128) continue;
            const pred = map.data[i] !== 0, vessel = gt.data[i] >= 128;
            if (pred && vessel) counts[k].tp++;
            else if (pred) counts[k].fp++;
            else if (vessel) counts[k].fn++;
          }
        });
      }
      const a = r4(auc(Float32Array.from(pos), Float32Array.from(neg)));
      variants.forEach((v, k) => {
        const { tp, fp, fn } = counts[k];
        const f1 = r4((2 * tp) / (2 * tp + fp + fn));
        const row = {
          set: setName,
          tta: tta.name,
          postprocess: v.name,
          f1,
          auc: a,
          infer_ms_median: Math.round(median(inferMs)),
          postprocess_ms_median: Math.round(median(counts[k].ms) * 10) / 10,
        };
        out.push(row);
        rows.push(Object.values(row));
      });
      console.error(`fundus ${setName} tta ${tta.name} done`);
    }
  }
  console.log(
    "\nfundus-vessels, DRIVE (F1 pooled inside the FOV; AUC from the probabilities, which " +
      "postprocessing does not change; ms per photo, median)\n",
  );
  console.log(
    table(["set", "tta", "postprocess", "F1", "AUC", "infer ms", "postprocess ms"], rows),
  );
  results.fundus = out;
}

async function brats() {
  // the card's flip (left-right, as the training's augmentation)
  const FLIPS: number[][][] = [[], [[2]]];
  const backend = await setupBackend("wasm");
  fastConv3dOnWasm();
  const loaded = await loadModel("brats-demo");
  const card = loaded.card as typeof loaded.card & {
    sliding_window: { patch_zyx: Size3; overlap: number; blend: "gaussian" };
    label_values: number[];
  };
  const dir = `${DATA}brats/BraTS2021_00006/BraTS2021_00006_`;
  const read = async (m: string) => await readNifti(await Deno.readFile(`${dir}${m}.nii.gz`));
  const volumes = await Promise.all(BRATS_MODALITIES.map(read));
  const truth = await read("seg");
  const TEST: [number, number] = [80, 108], DROP_HEAD = 5;
  const ras = (d: Uint8Array | typeof truth.data) => toCanonical({ ...truth, data: d }).volume;
  const gt = ras(truth.data);
  const plane = gt.width * gt.height;
  const TRAIN: [number, number][] = [[0, 76], [112, 135]];
  const cut = (v: typeof gt, [z0, z1]: [number, number]) =>
    v.data.subarray((z0 + DROP_HEAD) * plane, (z1 + DROP_HEAD) * plane);
  const slab = (v: typeof gt) => cut(v, TEST);
  const train = (v: typeof gt) => {
    const parts = TRAIN.map((r) => cut(v, r));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) out.set(p, o), o += p.length;
    return out;
  };
  const scores = (p: ArrayLike<number>, t: ArrayLike<number>) => {
    const d = dicePerLabel(p, t, card.label_values);
    const bin = (a: ArrayLike<number>) => Uint8Array.from(a, (v) => (v > 0 ? 1 : 0));
    const wt = dicePerLabel(bin(p), bin(t), [1]);
    return { dice_1: r4(d[1]), dice_2: r4(d[2]), dice_4: r4(d[4]), dice_whole_tumour: r4(wt[1]) };
  };
  const variants: Variant[] = [
    { name: "none", p: {} },
    { name: "largest=1", p: { largest: 1 } },
    { name: "fill_holes", p: { fillHoles: true } },
    { name: "min_size=0.1 mL", p: { minSize: 0.1 } },
    { name: "min_size=0.5 mL", p: { minSize: 0.5 } },
    { name: "largest=1 + fill_holes", p: { largest: 1, fillHoles: true } },
    { name: "min_size=0.1 mL + fill_holes", p: { minSize: 0.1, fillHoles: true } },
  ];
  const rows: (string | number)[][] = [];
  const out: Record<string, unknown>[] = [];
  for (const flips of FLIPS) {
    const t0 = performance.now();
    const seg = await segmentBrats(volumes, layersForward(loaded.predict, 4), {
      patch: card.sliding_window.patch_zyx,
      overlap: card.sliding_window.overlap,
      blend: card.sliding_window.blend,
      batch: 1,
      threshold: card.threshold ?? 0.5,
      labels: card.label_values,
      params: { dropDepth: 155, dropHead: DROP_HEAD, dropTail: 15 },
      flips,
    });
    const seconds = (performance.now() - t0) / 1000;
    const ttaName = flips.length ? `flip ${JSON.stringify(flips)}` : "none";
    for (const v of variants) {
      const map = {
        width: truth.width,
        height: truth.height,
        depth: truth.depth,
        data: seg.labels.slice(),
      };
      const t1 = performance.now();
      const report = postprocessLabels(map, v.p, truth.spacing);
      const ms = performance.now() - t1;
      const pred = ras(map.data);
      const s = scores(slab(pred), slab(gt));
      const t = scores(train(pred), train(gt));
      const row = {
        tta: ttaName,
        postprocess: v.name,
        ...s,
        train_dice_wt: t.dice_whole_tumour,
        train_mean_dice_124: r4((t.dice_1 + t.dice_2 + t.dice_4) / 3),
        removed_voxels: report.removed_voxels,
        filled_voxels: report.filled_voxels,
        segment_s: Math.round(seconds * 10) / 10,
        postprocess_ms: Math.round(ms),
      };
      out.push(row);
      rows.push(Object.values(row));
    }
    console.error(`brats tta ${ttaName} done in ${seconds.toFixed(1)} s`);
    console.error(JSON.stringify(out.slice(-variants.length)));
  }
  console.log(
    `\nbrats-demo, BraTS2021_00006 held-out slab (RAS kept slices 80-107; dice eps 1e-5; ` +
      `${backend.name}, window ${card.sliding_window.patch_zyx.join("x")})\n`,
  );
  console.log(
    table([
      "tta",
      "postprocess",
      "dice 1",
      "dice 2",
      "dice 4",
      "dice WT",
      "train WT",
      "train mean 1,2,4",
      "removed vox",
      "filled vox",
      "segment s",
      "postprocess ms",
    ], rows),
  );
  results.brats = out;
}

if (want("fundus")) await fundus();
if (want("brats")) await brats();
if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify(results, null, 2) + "\n");
