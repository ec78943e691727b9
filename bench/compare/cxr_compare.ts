/**
 * The cxr pipeline beside its OpenCV reference in one run, on the 16 RSNA DICOMs (1024x1024 JPEG
 * baseline) of ../shared/data/rsna-pneumonia: the four image steps (CLAHE clip 4 8x8, 1 mm
 * resample, 224 bicubic, /255) per film, ours against reference/cxr_preprocess.py (cv2 4.6, default
 * threads and one; the sides take turns, the machine is shared), outputs compared by digest; then
 * POST /cxr/classify end to end through the app (body -> DICOM decode -> features -> preprocessing
 * -> model on tfjs wasm -> JSON), cold and warm, with and without the Grad-CAM map, beside
 * pydicom + OpenCV doing only the read, decode and preprocessing.
 * Prints markdown. Run: deno run -A bench/compare/cxr_compare.ts
 */
import * as tf from "@tensorflow/tfjs-core";
import { app } from "../../functions/cxr.ts";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { cxrPreprocess } from "../../lib/pipelines/cxr.ts";
import { startPython } from "../_python.ts";

const DIR = new URL("../../../shared/data/rsna-pneumonia/", import.meta.url).pathname;
const ROUNDS = 5, RUNS = 3;
const names = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".dcm"))
  .sort();
const raw = await Promise.all(names.map((n) => Deno.readFile(DIR + n)));

const median = (t: number[]) => [...t].sort((a, b) => a - b)[t.length >> 1];
const f2 = (v: number) => v.toFixed(2);

// End to end, cold: the first request of this process pays the wasm backend start and model load.
const post = (body: Uint8Array<ArrayBuffer>, query = "") =>
  app.request(`/cxr/classify${query}`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body,
  });
let t0 = performance.now();
const first = await post(raw[0]);
const cold = performance.now() - t0;
if (first.status !== 200) throw new Error(`cold request: ${first.status} ${await first.text()}`);
const coldTimings = (await first.json()).timings_ms;

const py = await startPython([new URL("cxr_reference.py", import.meta.url).pathname, DIR]);
const python = <T = number[]>(cmd: string) => py.ask<T>(cmd);
// deno-lint-ignore no-explicit-any
const ref = py.first as any;

async function sha256(a: Float32Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(a.buffer).slice()));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
const films = await Promise.all(raw.map(async (b) => (await decodeDicom(b)).image));
let same = 0;
for (const [i, img] of films.entries()) {
  if ((await sha256(cxrPreprocess(img).tensor)) === ref.sha[i]) same++;
}

// Preprocessing, taking turns.
for (const img of films) for (let k = 0; k < 3; k++) cxrPreprocess(img);
await python("pre 2 0");
const cv: number[] = [], cv1: number[] = [], ours: number[] = [];
const steps: Record<string, number[]> = {};
const cvSteps: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [s, t] of Object.entries(await python<Record<string, number[]>>(`steps 1`))) {
    (cvSteps[s] ??= []).push(...t);
  }
  cv.push(...await python(`pre ${RUNS} 0`));
  cv1.push(...await python(`pre ${RUNS} 1`));
  for (const img of films) {
    for (let k = 0; k < RUNS; k++) {
      const t = performance.now();
      const out = cxrPreprocess(img);
      ours.push(performance.now() - t);
      for (const [s, ms] of Object.entries(out.timings)) (steps[s] ??= []).push(ms);
    }
  }
}

// End to end, warm.
const warm: number[] = [], warmMap: number[] = [], pyE2e: number[] = [];
const stages: Record<string, number[]> = {};
const before = tf.memory().numTensors;
for (let r = 0; r < ROUNDS; r++) {
  pyE2e.push(...await python(`e2e 1`));
  for (const b of raw) {
    t0 = performance.now();
    const res = await post(b);
    const body = await res.json();
    warm.push(performance.now() - t0);
    for (const [s, ms] of Object.entries(body.timings_ms as Record<string, number>)) {
      (stages[s] ??= []).push(ms);
    }
  }
  for (const b of raw.slice(0, 4)) {
    t0 = performance.now();
    await (await post(b, "?heatmap=1")).json();
    warmMap.push(performance.now() - t0);
  }
}
const leaked = tf.memory().numTensors - before;
await py.close();

const out = [
  `OpenCV ${ref.opencv} (${ref.threads} threads, and 1), pydicom ${ref.pydicom} vs Deno ${Deno.version.deno}, tfjs wasm; ` +
  `16 RSNA DICOMs 1024x1024 JPEG baseline, ${ROUNDS} alternating rounds, median ms per film`,
  "",
  "| preprocessing (CLAHE, 1 mm, 224 bicubic, /255) | OpenCV | OpenCV 1 thread | ours | ours / OpenCV 1 thread | same float32 values |",
  "| --- | --- | --- | --- | --- | --- |",
  `| per film | ${f2(median(cv))} | ${f2(median(cv1))} | ${f2(median(ours))} | ${
    (median(ours) / median(cv1)).toFixed(1)
  }x | ${same} of ${films.length} |`,
  "",
  "| step (median ms) | OpenCV 1 thread | ours |",
  "| --- | --- | --- |",
  ...Object.entries(steps).map(([s, t]) =>
    `| ${s} | ${cvSteps[s] ? f2(median(cvSteps[s])) : "-"} | ${f2(median(t))} |`
  ),
  "",
  "| POST /cxr/classify, 1024x1024 JPEG-baseline DICOM | ms |",
  "| --- | --- |",
  `| cold (first request: wasm start + model load + pass) | ${f2(cold)} (load ${
    f2(coldTimings.load)
  }) |`,
  `| warm, median of ${warm.length} | ${f2(median(warm))} |`,
  `| warm with ?heatmap=1 (Grad-CAM + PNG), median of ${warmMap.length} | ${f2(median(warmMap))} |`,
  `| pydicom read + decode + OpenCV preprocessing only (no model), median | ${f2(median(pyE2e))} |`,
  "",
  `warm request by stage (median ms): ${
    Object.entries(stages).map(([s, t]) => `${s} ${f2(median(t))}`).join(", ")
  }; tensors left after ${warm.length + warmMap.length} requests: ${leaked}`,
];
console.log(out.join("\n"));
