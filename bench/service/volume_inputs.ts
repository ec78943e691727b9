/**
 * What /segment/volume's DICOM and 4D inputs and its SEG / probs=1 outputs cost on the whole BraTS
 * case (240 x 240 x 155, four modalities), our side only: tests/fixtures/make_brats_dicom.py writes
 * the case into /tmp as four DICOM MR series (155 instances each) and the test compares the forms.
 * Reading (lib/decode/volume_parts.ts, from bytes in memory, as the route gets them): four .nii.gz
 * parts, one 4D .nii.gz, four DICOM series; each gives the same voxels and affine (checked). Writing:
 * the labels as .nii.gz, the DICOM SEG of them over the T1CE series (lib/pipelines/volume.ts
 * volumeSeg, brats-demo's segments), and, with `--infer`, the per-label probabilities of one real
 * brats-demo run (wasm) as the 4D float32 .nii.gz probs=1 answers. Labels are the case's ground
 * truth (the SEG and NIfTI costs depend on the labels, not on where they came from). Prints a markdown
 * table of medians (min) over the runs.
 * Run: deno run -A bench/service/volume_inputs.ts [runs=3] [--infer]
 */
import { decodeFramesPart, decodeModalityParts } from "../../lib/decode/volume_parts.ts";
import { findModel } from "../../lib/models/registry.ts";
import { readNifti, writeNifti } from "../../lib/nifti/mod.ts";
import type { Volume } from "../../lib/nifti/volume.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { segmentVolume, volumeModel, volumeParams, volumeSeg } from "../../lib/pipelines/volume.ts";

const RUNS = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 3);
const INFER = Deno.args.includes("--infer");
const CASE = new URL("../../../shared/data/brats/BraTS2021_00006/BraTS2021_00006_", import.meta.url)
  .pathname;
const MAX = 256 ** 3;

const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-volume-inputs-" });
try {
  const made = await new Deno.Command("/usr/bin/python3", {
    args: [
      new URL("../../tests/fixtures/make_brats_dicom.py", import.meta.url).pathname,
      CASE,
      dir,
      "240",
      "240",
      "155",
    ],
  }).output();
  if (made.code !== 0) throw new Error(new TextDecoder().decode(made.stderr));
  const nifti = Object.fromEntries(
    BRATS_MODALITIES.map((m) => [m, Deno.readFileSync(`${dir}/${m}.nii.gz`)]),
  );
  const instances = Object.fromEntries(BRATS_MODALITIES.map((m) => {
    const files = [...Deno.readDirSync(`${dir}/${m}`)].map((e) => e.name).sort();
    return [m, files.map((f) => Deno.readFileSync(`${dir}/${m}/${f}`))];
  }));
  const fromNifti = await Promise.all(
    BRATS_MODALITIES.map((m) => decodeModalityParts(m, [nifti[m]], MAX)),
  );
  const n = fromNifti[0].volume.data.length;
  const stacked = new Int16Array(4 * n);
  fromNifti.forEach((p, k) => stacked.set(p.volume.data as Int16Array, k * n));
  const image = await writeNifti(fromNifti[0].volume.header, stacked, { dims: [240, 240, 155, 4] });

  // the three forms give the same voxels and affine
  const fromDicom = await Promise.all(
    BRATS_MODALITIES.map((m) => decodeModalityParts(m, instances[m], MAX)),
  );
  const fromImage = await decodeFramesPart("image", image, BRATS_MODALITIES, MAX);
  const same = (a: Volume, b: Volume) =>
    a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]) &&
    a.affine.flat().every((v, i) => Math.abs(v - b.affine.flat()[i]) < 1e-4);
  BRATS_MODALITIES.forEach((m, k) => {
    if (!same(fromNifti[k].volume, fromDicom[k].volume)) throw new Error(`${m}: DICOM differs`);
    if (!same(fromNifti[k].volume, fromImage[k])) throw new Error(`${m}: 4D differs`);
  });

  const { card } = await findModel("brats-demo", "models");
  const m = volumeModel(card);
  const truth = await readNifti(Deno.readFileSync(`${CASE}seg.nii.gz`));
  const labels = truth.data as Uint8Array;
  const series = fromDicom[2].series!; // t1ce
  const ref = fromNifti[0].volume;

  let probs: Float32Array | undefined;
  if (INFER) {
    const r = await segmentVolume(
      { volumes: fromNifti.map((p) => p.volume) },
      m,
      { ...volumeParams({ batch: 4 }, m), probabilities: true },
      "models",
      () => {},
    );
    probs = (await readNifti(r.nifti)).data as Float32Array;
  }

  const rows: [string, () => Promise<number>][] = [
    ["read four .nii.gz parts", async () => {
      for (const k of BRATS_MODALITIES) await decodeModalityParts(k, [nifti[k]], MAX);
      return Object.values(nifti).reduce((s, b) => s + b.length, 0);
    }],
    ["read one 4D .nii.gz (image)", async () => {
      await decodeFramesPart("image", image, BRATS_MODALITIES, MAX);
      return image.length;
    }],
    ["read four DICOM series (4 x 155 instances)", async () => {
      for (const k of BRATS_MODALITIES) await decodeModalityParts(k, instances[k], MAX);
      return Object.values(instances).flat().reduce((s, b) => s + b.length, 0);
    }],
    [
      "write the labels as .nii.gz",
      async () => (await writeNifti(ref.header, labels, { dims: [240, 240, 155] })).length,
    ],
    [
      "write the labels as DICOM SEG over T1CE",
      async () => (await volumeSeg(labels, series, m)).length,
    ],
    ...(probs
      ? [
        ["write probs=1 (float32 240x240x155x3 .nii.gz)", async () =>
          (await writeNifti(ref.header, probs!, { dims: [240, 240, 155, 3] })).length] as [
            string,
            () => Promise<number>,
          ],
      ]
      : []),
  ];
  console.log(`| step | ms median (min) of ${RUNS} | bytes |`);
  console.log("| --- | --- | --- |");
  for (const [name, fn] of rows) {
    await fn(); // warm-up
    const ms: number[] = [];
    let bytes = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      bytes = await fn();
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    const f = (v: number) => v.toFixed(0);
    console.log(
      `| ${name} | ${f(ms[Math.floor(ms.length / 2)])} (${f(ms[0])}) | ${bytes.toLocaleString()} |`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
