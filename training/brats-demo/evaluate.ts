/**
 * Measures the written brats-demo artifact the way the volume route runs it (lib/pipelines/brats.ts
 * `segmentBrats`, the card's sliding window, the wasm backend) on BraTS2021_00006 and writes the
 * seed's dice (eps 1e-5) per label on the held-out slab, and on the training slabs for contrast,
 * into the card's `metrics`.
 *
 *   deno run -A training/brats-demo/evaluate.ts models/brats-demo
 */
import { setupBackend } from "../../lib/models/backend.ts";
import { parseCard } from "../../lib/models/card.ts";
import { loadModel } from "../../lib/models/load.ts";
import { fastConv3dOnWasm, layersForward, type Size3 } from "../../lib/models/sliding3d.ts";
import { readNifti, toCanonical } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES, dicePerLabel, segmentBrats } from "../../lib/pipelines/brats.ts";

/** Kept-slice ranges of train.py (RAS z after dropping slices 0-4). */
const TEST: [number, number] = [80, 108];
const TRAIN: [number, number][] = [[0, 76], [112, 135]];
const DROP_HEAD = 5;

const dir = Deno.args[0] ?? "models/brats-demo";
const name = dir.replace(/\/+$/, "").split("/").at(-1)!;
const root = dir.replace(/\/+$/, "").split("/").slice(0, -1).join("/") || ".";
const data = new URL("../../../shared/data/brats/BraTS2021_00006/", import.meta.url).pathname;

const backend = await setupBackend("wasm");
fastConv3dOnWasm();
const loaded = await loadModel(name, { root });
const card = loaded.card as typeof loaded.card & {
  sliding_window: { patch_zyx: Size3; overlap: number; blend: "gaussian" };
  label_values: number[];
};
const read = async (m: string) =>
  await readNifti(await Deno.readFile(`${data}BraTS2021_00006_${m}.nii.gz`));
const volumes = await Promise.all(BRATS_MODALITIES.map(read));
const truth = await read("seg");
const t0 = performance.now();
const seg = await segmentBrats(volumes, layersForward(loaded.predict, 4), {
  patch: card.sliding_window.patch_zyx,
  overlap: card.sliding_window.overlap,
  blend: card.sliding_window.blend,
  batch: 1,
  threshold: card.threshold ?? 0.5,
  labels: card.label_values,
  params: { dropDepth: 155, dropHead: DROP_HEAD, dropTail: 15 },
});
const seconds = (performance.now() - t0) / 1000;

// dice on RAS slabs: reorient prediction and truth alike, then cut z ranges
const ras = (d: Uint8Array | typeof truth.data) => toCanonical({ ...truth, data: d }).volume;
const pred = ras(seg.labels), gt = ras(truth.data);
const plane = pred.width * pred.height;
const slab = (v: typeof pred, [z0, z1]: [number, number]) =>
  v.data.subarray((z0 + DROP_HEAD) * plane, (z1 + DROP_HEAD) * plane);
const concat = (parts: ArrayLike<number>[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const scores = (p: ArrayLike<number>, t: ArrayLike<number>) => {
  const d = dicePerLabel(p, t, card.label_values);
  const wt = dicePerLabel(
    Uint8Array.from(p, (v) => (v > 0 ? 1 : 0)),
    Uint8Array.from(t, (v) => (v > 0 ? 1 : 0)),
    [1],
  );
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    dice_1: round(d[1]),
    dice_2: round(d[2]),
    dice_4: round(d[4]),
    dice_whole_tumour: round(wt[1]),
  };
};
const test = scores(slab(pred, TEST), slab(gt, TEST));
const train = scores(
  concat(TRAIN.map((r) => slab(pred, r))),
  concat(TRAIN.map((r) => slab(gt, r))),
);
const metrics = {
  test_set:
    "held-out axial slab of BraTS2021_00006: kept RAS slices 80-107 (original slices 85-112), never trained on; the same patient's other slabs were",
  ...test,
  training_slabs_for_contrast: train,
  dice_formula: "(2|A∩B| + 1e-5) / (|A| + |B| + 1e-5) per label, as the seed",
  measured_with: `segmentBrats on ${backend.name} (Conv3D as XNNPACK Conv2D), window ${
    card.sliding_window.patch_zyx.join("x")
  } overlap ${card.sliding_window.overlap} ${card.sliding_window.blend}, threshold ${card.threshold}`,
  whole_volume_seconds: Math.round(seconds * 10) / 10,
  windows: seg.windows,
};
const path = `${dir}/card.json`;
const written = JSON.parse(await Deno.readTextFile(path));
written.metrics = metrics;
parseCard(written);
await Deno.writeTextFile(path, JSON.stringify(written, null, 2) + "\n");
console.log(JSON.stringify(metrics, null, 2));
