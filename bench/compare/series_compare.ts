/**
 * Series assembly and SEG writing for 3D-IRCADb patient 1's 129-slice CT, lib/dicom (series.ts,
 * seg.ts) side by side with pydicom (bench/compare/series_compare.py; highdicom is not packaged by Debian)
 * in one run, taking turns on the same CPU, from the files' bytes in memory. Assembly: parse, order
 * along the normal, stack, rescale, affine. SEG: BINARY, 2 segments (HU > 100, HU < -900), frames
 * only where a segment is present. Prints a markdown table of medians.
 * Run: deno run -A bench/compare/series_compare.ts [runs=5]   (needs ../shared/data and /usr/bin/python3 with pydicom)
 */
import { assembleSeries } from "../../lib/dicom/series.ts";
import { writeSeg } from "../../lib/dicom/seg.ts";
import { startPython } from "../_python.ts";

const RUNS = Number(Deno.args[0] ?? 5);
const TARBALL = new URL(
  "../../../shared/data/ircadb-liver/3Dircadb1.1_PATIENT_DICOM+MASKS_DICOM-liver.tar.gz",
  import.meta.url,
).pathname;
const ANATOMY = { value: "123037004", scheme: "SCT", meaning: "Anatomical Structure" };

const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-series-bench-" });
try {
  const tar = await new Deno.Command("tar", { args: ["xzf", TARBALL, "-C", tmp] }).output();
  if (tar.code !== 0) throw new Error(new TextDecoder().decode(tar.stderr));
  const folder = `${tmp}/3Dircadb1.1/PATIENT_DICOM`;
  const files = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
  const blobs = files.map((f) => Deno.readFileSync(`${folder}/${f}`));
  const py = await startPython([new URL("series_compare.py", import.meta.url).pathname, folder]);

  const series = await assembleSeries(blobs); // warm-up, and the input of the SEG rounds
  const hu = series.volume.data, labels = new Uint8Array(hu.length);
  for (let i = 0; i < hu.length; i++) labels[i] = hu[i] > 100 ? 1 : hu[i] < -900 ? 2 : 0;
  const segments = [
    {
      label: 1,
      name: "Dense",
      category: ANATOMY,
      type: { value: "10200004", scheme: "SCT", meaning: "Dense" },
    },
    {
      label: 2,
      name: "Air",
      category: ANATOMY,
      type: { value: "39607008", scheme: "SCT", meaning: "Air" },
    },
  ];
  await writeSeg(labels, series, segments);

  const times: Record<string, number[]> = { ours_asm: [], py_asm: [], ours_seg: [], py_seg: [] };
  let ourSeg = 0, pySeg = { bytes: 0, frames: 0 };
  for (let r = 0; r < RUNS; r++) {
    let t0 = performance.now();
    await assembleSeries(blobs);
    times.ours_asm.push(performance.now() - t0);
    times.py_asm.push((await py.ask<{ ms: number }>("assemble")).ms);
    t0 = performance.now();
    ourSeg = (await writeSeg(labels, series, segments)).length;
    times.ours_seg.push(performance.now() - t0);
    const p = await py.ask<{ ms: number; bytes: number; frames: number }>("seg");
    times.py_seg.push(p.ms);
    pySeg = p;
  }
  await py.close();
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const fmt = (v: number[]) =>
    `${median(v).toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`;
  console.log(
    `${RUNS} runs each, turns alternating; ${JSON.stringify(py.first)}; deno ${Deno.version.deno}`,
  );
  console.log(
    "| step (129 x 512x512 CT) | lib/dicom ms median (min-max) | pydicom ms median (min-max) |",
  );
  console.log("| --- | --- | --- |");
  console.log(`| assemble series | ${fmt(times.ours_asm)} | ${fmt(times.py_asm)} |`);
  console.log(
    `| write SEG (${pySeg.frames} frames; ours ${ourSeg} B, pydicom ${pySeg.bytes} B) | ${
      fmt(times.ours_seg)
    } | ${fmt(times.py_seg)} |`,
  );
} finally {
  await Deno.remove(tmp, { recursive: true });
}
