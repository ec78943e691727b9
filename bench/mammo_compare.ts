/**
 * The mammo pipeline side by side with the seed's OpenCV pipeline (bench/seed000_mammo.py, Debian
 * python3-opencv) on the same images in one run, CLAHE alone against OpenCV's, and the peak RSS of
 * a full-size 16-bit 3000x5000 mammogram. Prints markdown.
 * Run: deno run -A bench/mammo_compare.ts
 */
import { decodePng } from "../lib/image/png.ts";
import { clahe } from "../lib/image/clahe.ts";
import { mammoPreprocess } from "../lib/pipelines/mammo.ts";

const RUNS = 5;
const DATA = new URL("../../shared/data/", import.meta.url).pathname;
const files = [
  "cbis-ddsm/Mass-Test_P_00016_LEFT_CC.full.png",
  "cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO.full.png",
  "ddsm-tissue-seg/images/A_0040_1.RIGHT_MLO.png",
].map((f) => DATA + f);

const py = await new Deno.Command("/usr/bin/python3", {
  args: [new URL("seed000_mammo.py", import.meta.url).pathname, "--time", String(RUNS), ...files],
  stdout: "piped",
}).output();
const ref = JSON.parse(new TextDecoder().decode(py.stdout));

const rows = [
  `OpenCV ${ref.opencv} (${ref.threads} threads) vs Deno ${Deno.version.deno}, mean of ${RUNS} runs each`,
  "",
  "| image | size | OpenCV pipeline ms | ours ms | ratio | OpenCV CLAHE ms | our CLAHE ms | ratio |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const f of files) {
  const png = decodePng(await Deno.readFile(f));
  const img = { width: png.width, height: png.height, data: png.data as Uint8Array };
  mammoPreprocess(img);
  let t0 = performance.now();
  for (let i = 0; i < RUNS; i++) mammoPreprocess(img);
  const ours = (performance.now() - t0) / RUNS;
  clahe(img, 2, 8);
  t0 = performance.now();
  for (let i = 0; i < RUNS; i++) clahe(img, 2, 8);
  const oursClahe = (performance.now() - t0) / RUNS;
  const r = ref.results[f];
  rows.push(
    `| ${f.split("/").pop()} | ${png.width}x${png.height} | ${r.pipeline_ms.toFixed(0)} | ${
      ours.toFixed(0)
    } | ${(ours / r.pipeline_ms).toFixed(2)} | ${r.clahe_ms.toFixed(1)} | ${
      oursClahe.toFixed(1)
    } | ${(oursClahe / r.clahe_ms).toFixed(2)} |`,
  );
}
const rss = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("mammo_rss.ts", import.meta.url).pathname],
  stdout: "piped",
}).output();
const m = JSON.parse(new TextDecoder().decode(rss.stdout));
rows.push(
  "",
  `Full-size synthetic 16-bit 3000x5000 (${m.input_mb.toFixed(0)} MB of pixels): ${
    m.ms.toFixed(0)
  } ms, peak RSS ${m.peak_rss_mb.toFixed(0)} MB (${m.growth_mb.toFixed(0)} MB above the ${
    m.rss_before_mb.toFixed(0)
  } MB before the run)`,
);
console.log(rows.join("\n"));
