/**
 * Where the mammo pipeline's time goes: PNG decode, each pipeline step (the wall-clock timings
 * mammoPreprocess reports) and the 8-bit PNG encode of the answer, median of several runs per
 * image; also the pipeline's CPU time on this thread (/proc/thread-self/schedstat), which moves
 * less than wall time when other processes share the CPU. Prints markdown.
 * Run: deno run -A bench/service/mammo_profile.ts [RUNS]
 */
import { decodePng, encodeImagePng } from "../../lib/image/png.ts";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";

const RUNS = Number(Deno.args[0] ?? 7);
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const files = [
  "cbis-ddsm/Mass-Test_P_00016_LEFT_CC.full.png",
  "cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO.full.png",
  "ddsm-tissue-seg/images/A_0040_1.RIGHT_MLO.png",
];

/** CPU time of this thread in ms (Linux). */
const cpuMs = () =>
  Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let header = false;
for (const f of files) {
  const bytes = await Deno.readFile(DATA + f);
  const samples: Record<string, number[]> = {};
  const add = (k: string, v: number) => (samples[k] ??= []).push(v);
  for (let i = 0; i <= RUNS; i++) {
    let t = performance.now();
    const png = decodePng(bytes);
    const decode = performance.now() - t;
    t = performance.now();
    const c = cpuMs();
    const r = mammoPreprocess({ width: png.width, height: png.height, data: png.data });
    const cpu = cpuMs() - c;
    const total = performance.now() - t;
    t = performance.now();
    await encodeImagePng(r.image, r.square, r.square);
    const encode = performance.now() - t;
    if (i === 0) continue; // warm-up
    add("decode", decode);
    for (const [k, v] of Object.entries(r.timings)) add(k, v);
    add("pipeline", total);
    add("pipeline CPU", cpu);
    add("encode", encode);
  }
  const keys = Object.keys(samples);
  if (!header) {
    console.log(`median of ${RUNS} runs, ms\n\n| image | ${keys.join(" | ")} |`);
    console.log(`| --- | ${keys.map(() => "---").join(" | ")} |`);
    header = true;
  }
  console.log(
    `| ${f.split("/").pop()} | ${keys.map((k) => median(samples[k]).toFixed(1)).join(" | ")} |`,
  );
}
