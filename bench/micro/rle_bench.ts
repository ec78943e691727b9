/** `deno bench`: the rle hot paths on a real 1024x1024 SIIM mask. */
import { encodeMaskPng } from "../../lib/image/png.ts";
import { maskToRuns, parseRle, runsToMask, summarizeRuns } from "../../lib/rle/mod.ts";

const csv = new URL("../../../shared/data/siim-pneumothorax/train-rle-sample.csv", import.meta.url);
let rle = "";
try {
  // The longest positive row of the sample.
  for (const line of Deno.readTextFileSync(csv).replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const r = line.split(",")[1] ?? "";
    if (r.trim() !== "-1" && r.length > rle.length) rle = r;
  }
} catch {
  console.log("../shared/data absent: benchmarking a synthetic mask");
  rle = Array.from({ length: 200 }, () => "900 60").join(" ");
}
const runs = parseRle(rle, "siim", 1024, 1024);
const mask = runsToMask([runs], 1024, 1024, "column");

Deno.bench("siim decode to 1024x1024 mask", { group: "decode", baseline: true }, () => {
  runsToMask([parseRle(rle, "siim", 1024, 1024)], 1024, 1024, "column", 255);
});
Deno.bench("siim decode to summary (no mask)", { group: "decode" }, () => {
  summarizeRuns(parseRle(rle, "siim", 1024, 1024), 1024, 1024, "column");
});
Deno.bench("8-bit PNG encode 1024x1024 mask", { group: "png", baseline: true }, async () => {
  await encodeMaskPng(mask, 1024, 1024, 8);
});
Deno.bench("1-bit PNG encode 1024x1024 mask", { group: "png" }, async () => {
  await encodeMaskPng(mask, 1024, 1024, 1);
});
Deno.bench("mask to runs (encode) 1024x1024", () => {
  maskToRuns(mask, 1024, 1024, "column");
});
