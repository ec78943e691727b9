/**
 * Peak resident memory of one mammo pipeline run on a full-size synthetic 16-bit 3000x5000
 * mammogram (bright border, label artefact), in its own process. Prints JSON.
 * Run: deno run -A bench/mammo_rss.ts
 */
import { mammoPreprocess } from "../lib/pipelines/mammo.ts";

const width = 3000, height = 5000, data = new Uint16Array(width * height);
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) {
    const dx = (x - width) / 2200, dy = (y - height / 2) / 2300, r = dx * dx + dy * dy;
    let v = r < 1 ? 12000 + 30000 * (1 - r) + ((x * 7 + y * 13) % 997) * 9 : 300 + ((x + y) % 50);
    if (x < 20 || y < 40 || x >= width - 20 || y >= height - 40) v = 65535;
    if (x > 300 && x < 700 && y > 400 && y < 600) v = 60000;
    data[y * width + x] = v;
  }
}
const before = Deno.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 5);
const t0 = performance.now();
// Yield once so the sampler runs during the pipeline's allocations too.
await new Promise((r) => setTimeout(r, 10));
const r = mammoPreprocess({ width, height, data });
const ms = performance.now() - t0 - 10;
peak = Math.max(peak, Deno.memoryUsage().rss);
clearInterval(timer);
console.log(JSON.stringify({
  input_mb: data.byteLength / 2 ** 20,
  rss_before_mb: before / 2 ** 20,
  peak_rss_mb: peak / 2 ** 20,
  growth_mb: (peak - before) / 2 ** 20,
  ms,
  square: r.square,
}));
