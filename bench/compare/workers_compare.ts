/**
 * Inference on 1 and on N model workers (lib/models/pool.ts) in one run, taking turns on the same
 * CPUs: the whole BraTS case (tests/_brats.ts' BraTS2021_00006, brats-demo, the volume pipeline's
 * segmentVolume: reorient, preprocess, the sliding windows, labels, NIfTI) and a 1024 x 1024 fundus
 * photo (DRIVE test 01 upscaled, fundus-vessels, fit=tile: 512-pixel tiles, one per pass), each
 * wall time (median of the rounds) and the speedup, with a check that the labels / mask are the
 * same; then the memory the workers hold: the process's resident set before the pool, after its
 * workers loaded the models, and after the runs, and each worker's V8 heap and wasm heap.
 * Models are warm on both sides (loaded and run once before timing).
 *
 * CPU per thread (Linux /proc/self/task: the main thread, each `worker-N` thread) is read at the
 * step boundaries around "infer". On a shared machine (Linux autogroups give each session an equal
 * share, whatever its thread count) wall time cannot show a second core that is not given; the CPU
 * figures can: "2-core estimate" = main-thread CPU outside infer + the infer step's critical path
 * max(main's CPU in it, the busiest worker's, all of its CPU / 2), the wall time each run would take
 * with two free cores (1 worker: all its CPU is on the main thread, so its estimate is that CPU).
 *
 * deno run -A bench/compare/workers_compare.ts [--workers 2] [--rounds 2] [--only brats|fundus]
 * (needs ../shared/data; prints `uptime` before and after: the machine is shared)
 */
import { decodeImage } from "../../lib/decode/mod.ts";
import { setupBackend, wasmHeapBytes } from "../../lib/models/backend.ts";
import { loadModel } from "../../lib/models/load.ts";
import { ModelPool } from "../../lib/models/pool.ts";
import { findModel, modelsRoot } from "../../lib/models/registry.ts";
import { resize } from "../../lib/image/resize.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { segmentSlice } from "../../lib/pipelines/slice.ts";
import { Steps } from "../../lib/pipelines/steps.ts";
import { segmentVolume, volumeModel, volumeParams } from "../../lib/pipelines/volume.ts";

const args = Deno.args;
const opt = (name: string, def: string) => args.includes(name) ? args[args.indexOf(name) + 1] : def;
const N = Number(opt("--workers", "2"));
const ROUNDS = Number(opt("--rounds", "2"));
const only = opt("--only", "");
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const root = modelsRoot();

const mb = (b: number) => Math.round(b / 2 ** 20);
const rss = () => Deno.memoryUsage().rss;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function uptime(): Promise<string> {
  const out = await new Deno.Command("uptime").output();
  return new TextDecoder().decode(out.stdout).trim();
}
/** CPU ms so far of the main thread, of each worker thread, and of the rest of the process. */
function threadCpu(): { main: number; workers: Record<string, number>; other: number } {
  const out = { main: 0, workers: {} as Record<string, number>, other: 0 };
  for (const t of Deno.readDirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/self/task/${t.name}/stat`);
    } catch {
      continue; // a thread that just ended
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = (Number(f[11]) + Number(f[12])) * 10; // utime + stime, 100 ticks a second
    if (Number(t.name) === Deno.pid) out.main += ms;
    else if (comm.startsWith("worker-")) out.workers[comm] = (out.workers[comm] ?? 0) + ms;
    else out.other += ms;
  }
  return out;
}
type Cpu = ReturnType<typeof threadCpu>;

/** What one run cost: wall ms, and CPU ms of the main thread outside and inside "infer", and of each worker in it. */
interface Cost {
  ms: number;
  mainOut: number;
  mainInfer: number;
  workers: number[];
  other: number;
}
function estimate2(c: Cost): number {
  const all = c.mainInfer + c.workers.reduce((a, b) => a + b, 0);
  return c.mainOut + Math.max(c.mainInfer, ...c.workers, all / 2);
}

/** Runs `fn(check)` where `check` is the Steps check: CPU is read after `before` and after "infer". */
async function costed<T>(
  before: string,
  fn: (check: (step: string) => void) => Promise<T>,
): Promise<{ cost: Cost; r: T }> {
  const at: Record<string, Cpu> = {};
  const c0 = threadCpu(), t0 = performance.now();
  const r = await fn((step) => {
    if (step === before || step === "infer") at[step] = threadCpu();
  });
  const ms = performance.now() - t0, c1 = threadCpu();
  const a = at[before], b = at["infer"];
  const names = Object.keys(b.workers);
  return {
    r,
    cost: {
      ms,
      mainOut: a.main - c0.main + (c1.main - b.main),
      mainInfer: b.main - a.main,
      workers: names.map((n) => b.workers[n] - (a.workers[n] ?? 0)),
      other: c1.other - c0.other,
    },
  };
}
const sec = (ms: number) => (ms / 1000).toFixed(1);
const costRows: string[] = [];
function costRow(what: string, n: number, c: Cost): void {
  costRows.push(
    `| ${what} | ${n} | ${sec(c.ms)} | ${sec(c.mainOut)} | ${sec(c.mainInfer)} | ${
      c.workers.filter((w) => w > 0).map(sec).join(" + ") || "-"
    } | ${sec(estimate2(c))} |`,
  );
}

const memRows: string[] = [];
/** The memory after a case: the process's RSS, this isolate's wasm heap, each worker's heaps. */
async function memory(after: string): Promise<void> {
  const stats = await pool.stats();
  memRows.push(
    `| ${after} | ${mb(rss())} | ${mb(wasmHeapBytes() ?? 0)} | ${
      stats.map((s) => `${mb(s.heapUsed)} + ${s.wasmHeap === null ? "-" : mb(s.wasmHeap)}`).join(
        " / ",
      )
    } |`,
  );
}

/** Rounds of `run` in process and on the pool, taking turns; a table row and CPU rows. */
async function compare<T>(
  what: string,
  before: string,
  run: (pool: ModelPool | null, check: (step: string) => void) => Promise<T>,
  same: (a: T, b: T) => string,
  describe: (a: T) => string,
): Promise<void> {
  const one: Cost[] = [], many: Cost[] = [];
  let a: T | undefined, b: T | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    const x = await costed(before, (check) => run(null, check));
    one.push(x.cost);
    a = x.r;
    const y = await costed(before, (check) => run(pool, check));
    many.push(y.cost);
    b = y.r;
    console.log(
      `  round ${i + 1}: 1 worker ${Math.round(x.cost.ms)} ms, ${N} workers ${
        Math.round(y.cost.ms)
      } ms`,
    );
    costRow(what, 1, x.cost);
    costRow(what, N, y.cost);
  }
  const wall = (cs: Cost[]) => median(cs.map((c) => c.ms));
  const est = (cs: Cost[]) => median(cs.map(estimate2));
  rows.push(
    `| ${what}, ${describe(a!)} | ${sec(wall(one))} | ${sec(wall(many))} | ${
      (wall(one) / wall(many)).toFixed(2)
    }x | ${sec(est(one))} / ${sec(est(many))}: ${(est(one) / est(many)).toFixed(2)}x | ${
      same(a!, b!)
    } |`,
  );
}

console.log(`before: ${await uptime()}; ${navigator.hardwareConcurrency} cores`);
await setupBackend("wasm");
const rssStart = rss();
const wasmStart = wasmHeapBytes();
let rssWarm = 0;
const rows: string[] = [];
const pool = new ModelPool(N);

if (!only || only === "brats") {
  const prefix = `${DATA}brats/BraTS2021_00006/BraTS2021_00006_`;
  const volumes = await Promise.all(
    BRATS_MODALITIES.map(async (m) => readNifti(await Deno.readFile(`${prefix}${m}.nii.gz`))),
  );
  const m = volumeModel((await findModel("brats-demo", root)).card);
  const p = volumeParams({}, m);
  const run = (pl: ModelPool | null, check?: (step: string) => void) =>
    segmentVolume({ volumes }, m, p, root, () => {}, new Steps(check ? { check } : {}), pl);
  await loadModel("brats-demo", { root });
  const rssBefore = rss();
  const load = await pool.warm(root, "brats-demo");
  rssWarm = rss();
  console.log(
    `brats-demo: ${N} workers loaded in ${load.map((x) => Math.round(x)).join(", ")} ms; ` +
      `process RSS ${mb(rssBefore)} -> ${mb(rssWarm)} MB`,
  );
  await compare(
    "BraTS2021_00006 whole case, brats-demo",
    "model",
    run,
    (x, y) =>
      x.nifti.length === y.nifti.length && x.nifti.every((v, i) => v === y.nifti[i])
        ? "identical NIfTI"
        : "DIFFERENT",
    (x) => `${x.summary.inference.windows} windows of 16x96x96`,
  );
  await memory("after the BraTS runs");
}

if (!only || only === "fundus") {
  const bytes = await Deno.readFile(`${DATA}drive/png/test/images/01_test.png`);
  const decoded = await decodeImage(bytes);
  const image = resize(decoded.image as never, 1024, 1024) as typeof decoded.image;
  const loaded = await loadModel("fundus-vessels", { root });
  const options = { fit: "tile" as const, batch: 1 };
  const run = (pl: ModelPool | null, check?: (step: string) => void) =>
    segmentSlice(
      loaded,
      { image, meta: decoded.meta },
      { ...options, pool: pl },
      new Steps(check ? { check } : {}),
    );
  const rssBefore = rss();
  await pool.warm(root, "fundus-vessels");
  await run(null);
  await run(pool);
  console.log(`fundus-vessels: warm; process RSS ${mb(rssBefore)} -> ${mb(rss())} MB`);
  await compare(
    "DRIVE 01 upscaled to 1024x1024, fundus-vessels, fit=tile",
    "fit",
    run,
    (x, y) =>
      x.mask.every((v, i) => v === y.mask[i]) &&
        x.probs.data.every((v, i) => Object.is(v, y.probs.data[i]))
        ? "identical probabilities"
        : "DIFFERENT",
    (x) => `${x.plan.tiles} tiles of ${x.plan.size[0]}, batch 1`,
  );
  await memory("after the fundus runs");
}

const stats = await pool.stats();
const rssEnd = rss();
pool.terminate();
console.log(`\nafter: ${await uptime()}`);
console.log(
  `\n| case | 1 worker (in process), s | ${N} workers, s | speedup (wall, shared machine) | 2-core estimate from CPU, s: 1 / ${N}, speedup | result |`,
);
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
console.log(
  `\n| run | workers | wall, s | main thread CPU outside infer, s | main thread CPU in infer, s | each worker's CPU in infer, s | 2-core estimate, s |`,
);
console.log("|---|---|---|---|---|---|---|");
for (const r of costRows) console.log(r);
console.log(
  `\n| when | process RSS, MB | main isolate's wasm heap, MB | each worker: V8 heap used + wasm heap, MB |`,
);
console.log("|---|---|---|---|");
console.log(
  `| start (wasm backend up, no model, no worker) | ${mb(rssStart)} | ${mb(wasmStart ?? 0)} | - |`,
);
console.log(`| ${N} workers started, brats-demo loaded in each | ${mb(rssWarm)} | - | - |`);
for (const r of memRows) console.log(r);
console.log(
  `\nmodels in the workers at the end: ${
    stats.map((s) => s.models.map((x) => x.split("/").pop()).join(", ")).join(" / ")
  }; process RSS at the end ${mb(rssEnd)} MB`,
);
