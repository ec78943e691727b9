/**
 * Sustained load on loopback (issue 9): functions/main.ts started alone on a free port, then
 * Debian's `wrk` (60 s, 32 connections by default, bench/service/wrk_post.lua for the POST body and the
 * error counts) on each route in turn, with real bodies:
 *  - `POST /rle/decode`: JSON {rle, width: 1024, height: 1024}, a median-length SIIM row -> 8-bit PNG;
 *  - `POST /mammo/preprocess`: a real DDSM PNG (ddsm-tissue-seg, 480x960) -> 8-bit PNG;
 *  - `POST /segment/slice?model=<name>`: a real DRIVE test photo (565x584 RGB PNG) -> mask PNG,
 *    with `fundus-vessels` (or --model) when `GET /models` lists it; otherwise reported as pending.
 * Throughput, p50/p99 latency and every answer >= 300 as an error (503 apart); during each run the
 * server's RSS (VmRSS of /proc/<pid>/status) every 5 s, its first and last values and its
 * least-squares slope, and a tfjs tensor count if `GET /health` exposes one (any numeric field
 * whose name contains "tensor"). Prints markdown.
 *
 *   deno run -A bench/service/load.ts [--duration 60] [--connections 32] [--threads 1] [--timeout 30]
 *     [--routes rle,mammo,slice] [--model fundus-vessels] [--models-dir DIR] [--interval 5]
 *
 * The model route bounds concurrency (MEDIMG_SLICE_CONCURRENCY 1, MEDIMG_SLICE_QUEUE 8 by default:
 * past the queue it answers 503 by design). So that the run measures the model rather than the
 * queue's refusals, the server gets MEDIMG_SLICE_QUEUE = connections unless the environment
 * already sets it; the table says what was used. Needs ../shared/data, wrk, Linux (/proc).
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}
const DURATION = Number(flag("duration", "60"));
const CONNECTIONS = Number(flag("connections", "32"));
const THREADS = Number(flag("threads", "1"));
const TIMEOUT = Number(flag("timeout", "30"));
const INTERVAL = Number(flag("interval", "5"));
const ROUTES = flag("routes", "rle,mammo,slice").split(",");
const MODEL = flag("model", "fundus-vessels");
const MODELS_DIR = flag("models-dir", "");

/** One wrk run's figures (times in microseconds), as wrk_post.lua prints them. */
export interface WrkResult {
  duration_us: number;
  requests: number;
  bytes: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  ok: number;
  s3xx: number;
  s4xx: number;
  s503: number;
  s5xx: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  first_error: string;
}

/** A time series sample: seconds since the run started, value. */
type Sample = [number, number];

/**
 * Least-squares slope of the samples, in value units per minute (0 for fewer than two).
 * @example slopePerMinute([[0, 100], [60, 110]]) // 10
 */
export function slopePerMinute(samples: Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, [x]) => s + x, 0) / n;
  const my = samples.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of samples) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? 0 : (sxy / sxx) * 60;
}

/** Resident set size of a process in MB (VmRSS), or NaN when it is gone. */
function rssMb(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The first numeric field named like "tensor" anywhere in a JSON value, or undefined. */
function tensorField(v: unknown, path = ""): [string, number] | undefined {
  if (v === null || typeof v !== "object") return undefined;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = path ? `${path}.${k}` : k;
    if (typeof x === "number" && /tensor/i.test(k)) return [p, x];
    const inner = tensorField(x, p);
    if (inner) return inner;
  }
  return undefined;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const tmp = await Deno.makeTempDir({ prefix: "medimg-load-" });
const port = freePort();
const base = `http://127.0.0.1:${port}`;
const sliceQueue = Deno.env.get("MEDIMG_SLICE_QUEUE") ?? String(CONNECTIONS);
const serverEnv: Record<string, string> = { PORT: String(port), MEDIMG_SLICE_QUEUE: sliceQueue };
if (MODELS_DIR) serverEnv.MEDIMG_MODELS_DIR = MODELS_DIR;

// The server alone, its log drained into a tail kept for the report.
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", ROOT + "functions/main.ts"],
  env: serverEnv,
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const logTail: string[] = [];
const drain = async (s: ReadableStream<Uint8Array<ArrayBuffer>>) => {
  for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
    logTail.push(...chunk.split("\n").filter((l) => l));
    logTail.splice(0, Math.max(0, logTail.length - 50));
  }
};
const drained = Promise.all([drain(server.stdout), drain(server.stderr)]);
let exited = false;
server.status.then(() => exited = true);

async function stop() {
  if (!exited) server.kill("SIGTERM");
  await server.status;
  await drained;
  await Deno.remove(tmp, { recursive: true });
}

const t0 = performance.now();
for (;;) {
  if (exited) {
    console.error(logTail.join("\n"));
    throw new Error("functions/main.ts exited before answering");
  }
  try {
    const r = await fetch(`${base}/health`);
    await r.body?.cancel();
    if (r.ok) break;
  } catch { /* not listening yet */ }
  if (performance.now() - t0 > 60_000) {
    await stop();
    throw new Error("functions/main.ts did not answer /health within 60 s");
  }
  await new Promise((r) => setTimeout(r, 50));
}

const health = await (await fetch(`${base}/health`)).json();
const models = await (await fetch(`${base}/models`)).json() as { models: { name: string }[] };
const modelNames = models.models.map((m) => m.name);

interface Case {
  key: string;
  label: string;
  path: string;
  type: string;
  body?: string; // file path
  pending?: string;
}

async function cases(): Promise<Case[]> {
  const out: Case[] = [];
  if (ROUTES.includes("rle")) {
    const gz = await Deno.readFile(
      DATA + "siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz",
    );
    const text = await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    const rows = text.split("\n").slice(1).map((l) => l.split(",")[1]?.trim())
      .filter((r): r is string => !!r && r !== "-1").sort((a, b) => a.length - b.length);
    const rle = rows[rows.length >> 1];
    const file = `${tmp}/rle.json`;
    await Deno.writeTextFile(file, JSON.stringify({ rle, width: 1024, height: 1024 }));
    out.push({
      key: "rle",
      label: `POST /rle/decode: JSON body, a median SIIM row (${
        rle.split(" ").length / 2
      } runs) -> 1024x1024 8-bit PNG`,
      path: "/rle/decode",
      type: "application/json",
      body: file,
    });
  }
  if (ROUTES.includes("mammo")) {
    const file = DATA + "ddsm-tissue-seg/images/A_0040_1.RIGHT_MLO.png";
    out.push({
      key: "mammo",
      label: "POST /mammo/preprocess: DDSM A_0040_1.RIGHT_MLO.png (480x960 grey, 99 kB) -> PNG",
      path: "/mammo/preprocess",
      type: "image/png",
      body: file,
    });
  }
  if (ROUTES.includes("slice")) {
    const file = DATA + "drive/png/test/images/01_test.png";
    const c: Case = {
      key: "slice",
      label: `POST /segment/slice?model=${MODEL}: DRIVE test 01_test.png (565x584 RGB) -> mask PNG`,
      path: `/segment/slice?model=${encodeURIComponent(MODEL)}`,
      type: "image/png",
      body: file,
    };
    if (!modelNames.includes(MODEL)) {
      c.pending = `model ${MODEL} is not installed (GET /models lists: ${
        modelNames.join(", ") || "none"
      })`;
      delete c.body;
    }
    out.push(c);
  }
  return out;
}

interface Outcome {
  c: Case;
  status?: number;
  wrk?: WrkResult;
  rss: Sample[];
  rssBefore: number;
  rssAfter: number;
  tensors: Sample[];
  tensorName?: string;
  load: [string, string];
  note?: string;
}

const loadavg = () => Deno.loadavg().map((v) => v.toFixed(2)).join(" ");

async function sampleTensors(): Promise<[string, number] | undefined> {
  try {
    return tensorField(await (await fetch(`${base}/health`)).json());
  } catch {
    return undefined;
  }
}

async function run(c: Case): Promise<Outcome> {
  const o: Outcome = {
    c,
    rss: [],
    rssBefore: NaN,
    rssAfter: NaN,
    tensors: [],
    load: [loadavg(), ""],
  };
  if (!c.body) return o;
  // One request first: it must succeed (and warms the route: model load, wasm start).
  const first = await fetch(base + c.path, {
    method: "POST",
    headers: { "content-type": c.type },
    body: await Deno.readFile(c.body),
  });
  o.status = first.status;
  const text = first.ok ? "" : await first.text();
  if (first.ok) await first.body?.cancel();
  else {
    o.note = `first request answered ${first.status}: ${text.slice(0, 200)}`;
    return o;
  }
  o.rssBefore = rssMb(server.pid);
  const before = await sampleTensors();
  if (before) {
    o.tensorName = before[0];
    o.tensors.push([0, before[1]]);
  }
  const started = performance.now();
  const wrk = new Deno.Command("wrk", {
    args: [
      `-t${THREADS}`,
      `-c${CONNECTIONS}`,
      `-d${DURATION}s`,
      `--timeout`,
      `${TIMEOUT}s`,
      "--latency",
      "-s",
      ROOT + "bench/service/wrk_post.lua",
      base + c.path,
    ],
    env: { WRK_BODY: c.body, WRK_TYPE: c.type },
    stdout: "piped",
    stderr: "piped",
  }).output();
  let done = false;
  const sampler = (async () => {
    for (let k = 1; !done; k++) {
      const wait = started + k * INTERVAL * 1000 - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
      if (done) break;
      const t = (performance.now() - started) / 1000;
      o.rss.push([t, rssMb(server.pid)]);
      if (o.tensorName) {
        const s = await sampleTensors();
        if (s) o.tensors.push([t, s[1]]);
      }
    }
  })();
  const out = await wrk;
  done = true;
  await sampler;
  const stdout = new TextDecoder().decode(out.stdout);
  console.error(`--- ${c.path}\n${stdout}${new TextDecoder().decode(out.stderr)}`);
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (line) o.wrk = JSON.parse(line.slice(9));
  else o.note = `wrk exited ${out.code} without its summary`;
  await new Promise((r) => setTimeout(r, INTERVAL * 1000));
  o.rssAfter = rssMb(server.pid);
  if (o.tensorName) {
    const s = await sampleTensors();
    if (s) o.tensors.push([(performance.now() - started) / 1000, s[1]]);
  }
  o.load[1] = loadavg();
  return o;
}

const f0 = (n: number) => Number.isFinite(n) ? n.toFixed(0) : "-";
const f1 = (n: number) => Number.isFinite(n) ? n.toFixed(1) : "-";
const ms = (us: number) => (us / 1000).toFixed(1);

const outcomes: Outcome[] = [];
const deno = Deno.version.deno;
const startLoad = loadavg();
try {
  for (const c of await cases()) {
    console.error(`== ${c.path} (load ${loadavg()})`);
    outcomes.push(await run(c));
    if (exited) break;
  }
} finally {
  await stop();
}

const lines: string[] = [];
lines.push(
  `wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s --timeout ${TIMEOUT}s -s bench/service/wrk_post.lua, ` +
    `loopback, against \`deno run -A functions/main.ts\` alone (Deno ${deno}, ` +
    `MEDIMG_SLICE_QUEUE=${sliceQueue}); ${navigator.hardwareConcurrency} cores, load average ` +
    `${startLoad} at the start. ${new Date().toISOString()}.`,
  "",
  "| route and body | requests | req/s | p50 ms | p99 ms | max ms | errors (non-2xx; 503) | socket errors | RSS MB: before, first, last, after | RSS slope MB/min (all; 2nd half) | load avg before / after |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
);
for (const o of outcomes) {
  if (o.c.pending || !o.wrk) {
    lines.push(
      `| ${o.c.label} | **${o.c.pending ? `pending: ${o.c.pending}` : `failed: ${o.note}`}** |` +
        " | | | | | | | | |",
    );
    continue;
  }
  const w = o.wrk;
  const secs = w.duration_us / 1e6;
  const errs = w.s3xx + w.s4xx + w.s503 + w.s5xx;
  const sock = w.connect + w.read + w.write + w.timeout;
  const half = o.rss.filter(([t]) => t >= DURATION / 2);
  const rss = o.rss.map(([, v]) => v);
  lines.push(
    `| ${o.c.label} | ${w.requests} | ${f1(w.requests / secs)} | ${ms(w.p50_us)} | ${
      ms(w.p99_us)
    } | ${ms(w.max_us)} | ${errs}; ${w.s503} | ${sock ? `${sock} (timeout ${w.timeout})` : 0} | ${
      f0(o.rssBefore)
    }, ${f0(rss[0])}, ${f0(rss.at(-1)!)}, ${f0(o.rssAfter)} | ${f1(slopePerMinute(o.rss))}; ${
      f1(slopePerMinute(half))
    } | ${o.load[0]} / ${o.load[1]} |`,
  );
}
lines.push("");
for (const o of outcomes) {
  if (!o.wrk) continue;
  lines.push(
    `- ${o.c.path} RSS every ${INTERVAL} s (MB): ${o.rss.map(([, v]) => f0(v)).join(" ")}`,
  );
  if (o.wrk.first_error) lines.push(`  first error: \`${o.wrk.first_error.trim()}\``);
  if (o.c.key === "slice") {
    lines.push(
      o.tensorName
        ? `  tfjs tensors (${o.tensorName}): ${o.tensors.map(([, v]) => v).join(" ")}`
        : "  tfjs tensor count: not exposed by GET /health, not sampled",
    );
  }
}
if (!outcomes.some((o) => o.tensorName)) {
  lines.push(
    `- GET /health exposes no tensor count (it answers ${JSON.stringify(health)}).`,
  );
}
console.log(lines.join("\n"));
