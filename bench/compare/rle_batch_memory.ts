/**
 * One 100 MB CSV through summarizeCsv, for bench/compare/rle_compare.ts to run in its own process (under a
 * V8 heap cap, so finishing proves the bound). Prints JSON: MB, images, seconds, RSS growth, and
 * the kept merge state (packed runs) measured as it grows.
 * Run: deno run -A --v8-flags=--max-old-space-size=32 bench/compare/rle_batch_memory.ts contiguous
 */
import { packRuns, summarizeCsv } from "../../lib/rle/batch.ts";
import { parseRle } from "../../lib/rle/mod.ts";

const grouping = Deno.args[0] === "all" ? "all" : "contiguous";
const gz = await Deno.readFile(
  new URL(
    "../../../shared/data/siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz",
    import.meta.url,
  ),
);
const text = await new Response(
  new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
).text();
const rows = text.split("\n").slice(1).filter((l) => l).map((l) => l.split(","));
// What "all" keeps per row: its packed runs (plus ~64 bytes and the id per image).
const packedBytes = rows.map(([, r]) => packRuns(parseRle(r, "siim", 1024, 1024)).byteLength);

const target = 100 * 1024 * 1024;
const enc = new TextEncoder();
let sent = 0, copy = 0, i = 0, state = 0;
const body = new ReadableStream<Uint8Array>({
  pull(c) {
    if (sent >= target) return c.close();
    let chunk = "";
    while (chunk.length < 1 << 16) {
      const [id, r] = rows[i];
      chunk += `${id}.${copy},${r}\n`;
      state += packedBytes[i];
      if (++i === rows.length) [i, copy] = [0, copy + 1];
    }
    sent += chunk.length;
    c.enqueue(enc.encode(chunk));
  },
});
const rss0 = Deno.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
const t0 = performance.now();
let lines = 0;
for await (
  const _ of summarizeCsv(body, {
    width: 1024,
    height: 1024,
    dialect: "siim",
    order: "column",
    grouping,
    stateLimit: 1 << 30,
  })
) lines++;
const s = (performance.now() - t0) / 1000;
clearInterval(timer);
peak = Math.max(peak, Deno.memoryUsage().rss);
console.log(JSON.stringify({
  grouping,
  mb: sent / 2 ** 20,
  lines,
  s,
  rssGrowth: (peak - rss0) / 2 ** 20,
  stateMb: grouping === "all" ? state / 2 ** 20 : 0,
}));
