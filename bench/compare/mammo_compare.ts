/**
 * The mammo pipeline side by side with the seed's OpenCV pipeline (reference/seed000_mammo.py, Debian
 * python3-opencv) on the same images in one run, CLAHE alone against OpenCV's, and time and peak
 * RSS of a full-size 16-bit 3000x5000 mammogram (bench/service/mammo_rss.ts). Medians of RUNS runs after a warm-up, both as wall time
 * and as CPU time of the whole process (OpenCV spreads over its threads; ours is one thread): on a
 * shared machine wall time moves with the load, CPU time much less. Prints markdown.
 * Run: deno run -A bench/compare/mammo_compare.ts [RUNS]
 */
import process from "node:process";
import { decodePng } from "../../lib/image/png.ts";
import { clahe } from "../../lib/image/clahe.ts";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";

const RUNS = Number(Deno.args[0] ?? 7);
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const files = [
  "cbis-ddsm/Mass-Test_P_00016_LEFT_CC.full.png",
  "cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO.full.png",
  "ddsm-tissue-seg/images/A_0040_1.RIGHT_MLO.png",
].map((f) => DATA + f);

const py = await new Deno.Command("/usr/bin/python3", {
  args: [
    new URL("../../reference/seed000_mammo.py", import.meta.url).pathname,
    "--time",
    String(RUNS),
    ...files,
  ],
  stdout: "piped",
}).output();
const ref = JSON.parse(new TextDecoder().decode(py.stdout));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** Median wall and CPU ms of fn over RUNS runs, after one warm-up. */
function measure(fn: () => unknown): [number, number] {
  fn();
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const w0 = performance.now(), c0 = cpuMs();
    fn();
    wall.push(performance.now() - w0);
    cpu.push(cpuMs() - c0);
  }
  return [median(wall), median(cpu)];
}

const load = Deno.loadavg()[0];
const rows = [
  `OpenCV ${ref.opencv} (${ref.threads} threads) vs Deno ${Deno.version.deno} (one thread), median of ${RUNS} runs each, load average ${
    load.toFixed(1)
  } on ${navigator.hardwareConcurrency} CPUs`,
  "",
  "| image | size | pipeline ms OpenCV / ours (ratio) | pipeline CPU ms OpenCV / ours (ratio) | CLAHE ms OpenCV / ours (ratio) | CLAHE CPU ms OpenCV / ours (ratio) |",
  "| --- | --- | --- | --- | --- | --- |",
];
const cell = (a: number, b: number, digits = 0) =>
  `${a.toFixed(digits)} / ${b.toFixed(digits)} (${(b / a).toFixed(2)})`;
for (const f of files) {
  const png = decodePng(await Deno.readFile(f));
  const img = { width: png.width, height: png.height, data: png.data as Uint8Array };
  const [ours, oursCpu] = measure(() => mammoPreprocess(img));
  const [oursClahe, oursClaheCpu] = measure(() => clahe(img, 2, 8));
  const r = ref.results[f];
  rows.push(
    `| ${f.split("/").pop()} | ${png.width}x${png.height} | ${cell(r.pipeline_ms, ours)} | ${
      cell(r.pipeline_cpu_ms, oursCpu)
    } | ${cell(r.clahe_ms, oursClahe, 1)} | ${cell(r.clahe_cpu_ms, oursClaheCpu, 1)} |`,
  );
}
const rss = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    new URL("../service/mammo_rss.ts", import.meta.url).pathname,
    "--json",
    "3000x5000",
  ],
  stdout: "piped",
}).output();
type Rss = { bits: number; mode: string; ms: number; cpu_ms: number; peak_rss_mb: number };
const rssRows: Rss[] = JSON.parse(new TextDecoder().decode(rss.stdout));
rows.push(
  "",
  "Full-size synthetic 3000x5000, 16-bit (bench/service/mammo_rss.ts; warm run, peak RSS of the process):",
);
for (const r of rssRows.filter((r) => r.bits === 16)) {
  rows.push(
    `- ${r.mode === "lib" ? "pipeline" : "DICOM -> /mammo/preprocess -> 8-bit PNG"}: ${
      r.ms.toFixed(0)
    } ms wall, ${r.cpu_ms.toFixed(0)} ms CPU, peak RSS ${r.peak_rss_mb.toFixed(0)} MB`,
  );
}
console.log(rows.join("\n"));
