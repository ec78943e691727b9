/**
 * The rle function side by side with its reference, in one run, printed as markdown:
 *  1. decode of every positive row of the SIIM CSV to a 1024x1024 mask: ours vs the seed's numpy
 *     rle2mask on the same rows (python3 + numpy);
 *  2. cold start of `deno run functions/rle.ts` to its first answered request;
 *  3. /rle/decode under wrk (loopback, 32 connections): JSON and PNG answers;
 *  4. /rle/batch on a 100 MB CSV (real rows repeated under new ImageIds): time and peak RSS.
 * Run: deno run -A bench/compare/rle_compare.ts   (needs ../shared/data, python3 with numpy, wrk)
 */
import { parseRle, runsToMask, summarizeRuns } from "../../lib/rle/mod.ts";

const DATA = new URL("../../../shared/data/siim-pneumothorax/", import.meta.url);
const gz = await Deno.readFile(new URL("siim-pneumothorax-train-rle.csv.gz", DATA));
const csvText = await new Response(
  new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
).text();
const rows = csvText.split("\n").slice(1).filter((l) => l).map((l) => l.split(","));
const positive = rows.map((r) => r[1].trim()).filter((r) => r !== "-1");
const out: string[] = [];
const fmt = (n: number, d = 2) => n.toFixed(d);

// 1. decode vs the seed
{
  const py = new Deno.Command("python3", {
    args: [new URL("seed_rle2mask.py", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = py.stdin.getWriter();
  await w.write(new TextEncoder().encode(positive.join("\n")));
  await w.close();
  const seed = JSON.parse(new TextDecoder().decode((await py.output()).stdout));
  for (const r of positive.slice(0, 20)) {
    runsToMask([parseRle(r, "siim", 1024, 1024)], 1024, 1024, "column", 255);
  }
  const t0 = performance.now();
  for (const r of positive) {
    runsToMask([parseRle(r, "siim", 1024, 1024)], 1024, 1024, "column", 255);
  }
  const ours = (performance.now() - t0) / positive.length;
  const t1 = performance.now();
  for (const r of positive) summarizeRuns(parseRle(r, "siim", 1024, 1024), 1024, 1024, "column");
  const summary = (performance.now() - t1) / positive.length;
  const np = await numpyVersion();
  out.push(
    `### SIIM decode, 1024x1024 (${positive.length} positive rows of the full CSV, same rows both sides)`,
    "| what | seed (python3 + numpy " + np + ") ms/row | lib/rle ms/row | speed-up |",
    "| --- | --- | --- | --- |",
    `| seed as written (lazy float64 zeros, column-major, \`.T\` view) vs our row-major uint8 mask | ${
      fmt(seed.as_written, 3)
    } | ${fmt(ours, 3)} | ${fmt(seed.as_written / ours, 1)}x |`,
    `| row-major uint8 mask both sides (\`np.ascontiguousarray(rle2mask(..).T, uint8)\`) | ${
      fmt(seed.row_major_uint8, 3)
    } | ${fmt(ours, 3)} | ${fmt(seed.row_major_uint8 / ours, 1)}x |`,
    `| area + bounding box (seed: rle2mask + bounding_box + count_nonzero; ours: from runs) | ${
      fmt(seed.summary, 3)
    } | ${fmt(summary, 3)} | ${fmt(seed.summary / summary, 1)}x |`,
    "",
  );
}

async function numpyVersion() {
  const o = await new Deno.Command("python3", {
    args: ["-c", "import numpy; print(numpy.__version__)"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(o.stdout).trim();
}

// 2. cold start
async function startServer(port: number) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      new URL("../../functions/rle.ts", import.meta.url).pathname,
    ],
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (;;) {
    try {
      const res = await fetch(
        `http://127.0.0.1:${port}/rle/decode?rle=1%201&width=2&height=2&format=json`,
      );
      await res.body?.cancel();
      if (res.ok) return { child, ms: performance.now() - t0 };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 2));
  }
}
{
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const { child, ms } = await startServer(18500 + i);
    times.push(ms);
    child.kill("SIGTERM");
    await child.status;
  }
  times.sort((a, b) => a - b);
  out.push(
    "### Cold start: `deno run functions/rle.ts` to the first answered request (7 starts, module cache warm)",
    `median ${fmt(times[3], 0)} ms, min ${fmt(times[0], 0)} ms, max ${fmt(times[6], 0)} ms`,
    "",
  );
}

// 3. wrk
{
  const { child } = await startServer(18600);
  const sorted = [...positive].sort((a, b) => a.length - b.length);
  const rle = sorted[Math.floor(sorted.length / 2)]; // a median-length real row
  const base = `http://127.0.0.1:18600/rle/decode?width=1024&height=1024&rle=${
    encodeURIComponent(rle)
  }`;
  out.push(
    `### /rle/decode under load (wrk -t1 -c32 -d15s, loopback; a median SIIM row of ${
      rle.split(" ").length / 2
    } runs)`,
    "| answer | requests/s | p50 | p99 | errors |",
    "| --- | --- | --- | --- | --- |",
  );
  for (
    const [label, q] of [["JSON summary", "&format=json"], ["8-bit PNG 1024x1024", ""], [
      "1-bit PNG 1024x1024",
      "&bits=1",
    ]]
  ) {
    const o = await new Deno.Command("wrk", {
      args: ["-t1", "-c32", "-d15s", "--latency", base + q],
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(o.stdout);
    const rps = text.match(/Requests\/sec:\s+([\d.]+)/)?.[1];
    const p50 = text.match(/50%\s+([\d.]+\w+)/)?.[1];
    const p99 = text.match(/99%\s+([\d.]+\w+)/)?.[1];
    const errors = text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? "0";
    const socket = text.match(/Socket errors: .*/)?.[0];
    out.push(`| ${label} | ${rps} | ${p50} | ${p99} | ${errors}${socket ? ` (${socket})` : ""} |`);
  }
  out.push("");
  child.kill("SIGTERM");
  await child.status;
}

// 4. 100 MB CSV through the batch summariser, each grouping in its own process under a heap cap
{
  out.push(
    "### /rle/batch summariser on a 100 MB CSV (the SIIM rows repeated under new ImageIds), own process each",
    "| grouping | V8 heap cap | CSV MB | images | seconds | MB/s | peak RSS growth MB | kept state MB |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const [g, cap] of [["contiguous", 32], ["all", 96]] as const) {
    const o = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=--max-old-space-size=${cap}`,
        new URL("rle_batch_memory.ts", import.meta.url).pathname,
        g,
      ],
      stdout: "piped",
    }).output();
    if (!o.success) {
      out.push(`| ${g} | ${cap} MB | failed (exit ${o.code}) | | | | | |`);
      continue;
    }
    const r = JSON.parse(new TextDecoder().decode(o.stdout));
    out.push(
      `| ${g} | ${cap} MB | ${fmt(r.mb, 0)} | ${r.lines} | ${fmt(r.s, 1)} | ${
        fmt(r.mb / r.s, 1)
      } | ${fmt(r.rssGrowth, 0)} | ${fmt(r.stateMb, 1)} |`,
    );
  }
}

console.log(out.join("\n"));
