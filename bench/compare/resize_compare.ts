/**
 * lib/image/resize beside OpenCV's cv2.resize (Debian python3-opencv 4.6, /usr/bin/python3) in one
 * run, on the same synthetic 1024x1024 image built by the same formula on both sides: the sizes
 * the segmentation and classification presets use, and a 256x256 mask mapped back with nearest.
 * OpenCV is timed with its default threads and with one thread, taking turns with ours (the build
 * machine is shared); outputs are compared by digest.
 * Prints markdown. Run: deno run -A bench/compare/resize_compare.ts
 */
import { type Interpolation, resize } from "../../lib/image/resize.ts";
import { startPython } from "../_python.ts";

const ROUNDS = 10, BATCH = 20;
const N = 1024;
const cases: { src: number; dst: number; interp: Interpolation; bits: 8 | 16 }[] = [
  { src: N, dst: 224, interp: "bicubic", bits: 8 },
  { src: N, dst: 256, interp: "bilinear", bits: 8 },
  { src: N, dst: 512, interp: "bilinear", bits: 8 },
  { src: N, dst: 512, interp: "bicubic", bits: 8 },
  { src: N, dst: 224, interp: "bicubic", bits: 16 },
  { src: 256, dst: N, interp: "nearest", bits: 8 },
];

/** Both sides build pixel (x, y) as ((x * 7 + y * 13 + (x * y) % 251) * 257) & 0xffff. */
function synthetic(n: number, bits: 8 | 16) {
  const data = bits === 8 ? new Uint8Array(n * n) : new Uint16Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = ((x * 7 + y * 13 + (x * y) % 251) * 257) & 0xffff;
      data[y * n + x] = bits === 8 ? v & 0xff : v;
    }
  }
  return { width: n, height: n, channels: 1 as const, data };
}

// The OpenCV side stays up and answers one line per request, "<case> <runs> <threads>", with the
// run times in ms, so that both sides take turns under the same load.
const PY = `
import hashlib, json, sys, time
import cv2, numpy as np
cases = json.loads(sys.argv[1])
codes = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
def synthetic(n, bits):
    y, x = np.indices((n, n), dtype=np.int64)
    v = ((x * 7 + y * 13 + (x * y) % 251) * 257) & 0xffff
    return (v & 0xff).astype(np.uint8) if bits == 8 else v.astype(np.uint16)
images = [synthetic(c["src"], c["bits"]) for c in cases]
threads = cv2.getNumThreads()
def run(i):
    c = cases[i]
    return cv2.resize(images[i], (c["dst"], c["dst"]), interpolation=codes[c["interp"]])
print(json.dumps({"opencv": cv2.__version__, "threads": threads,
                  "sha": [hashlib.sha256(run(i).tobytes()).hexdigest() for i in range(len(cases))]}), flush=True)
for line in sys.stdin:
    i, runs, n = map(int, line.split())
    cv2.setNumThreads(n or threads)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter(); run(i); t.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(t), flush=True)
`;

async function sha256(a: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

const py = await startPython(["-c", PY, JSON.stringify(cases)]);
const opencv = (i: number, runs: number, threads: number) =>
  py.ask<number[]>(`${i} ${runs} ${threads}`);
// deno-lint-ignore no-explicit-any
const ref = py.first as any;

const median = (t: number[]) => [...t].sort((a, b) => a - b)[t.length >> 1];
const min = (t: number[]) => Math.min(...t);
const f3 = (v: number) => v.toFixed(3);

const rows = [
  `OpenCV ${ref.opencv} (${ref.threads} threads, and 1) vs Deno ${Deno.version.deno}; ${ROUNDS} alternating rounds of ${BATCH} runs per side, median / minimum ms`,
  "",
  "| resize | OpenCV | OpenCV 1 thread | ours | ours / OpenCV 1 thread (median, min) | same pixels |",
  "| --- | --- | --- | --- | --- | --- |",
];
for (const [i, c] of cases.entries()) {
  const img = synthetic(c.src, c.bits);
  const run = () => resize(img, c.dst, c.dst, c.interp);
  const same = (await sha256(run().data)) === ref.sha[i];
  for (let k = 0; k < 20; k++) run();
  await opencv(i, 20, 0);
  const cv: number[] = [], cv1: number[] = [], ours: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    cv.push(...await opencv(i, BATCH, 0));
    cv1.push(...await opencv(i, BATCH, 1));
    for (let k = 0; k < BATCH; k++) {
      const t0 = performance.now();
      run();
      ours.push(performance.now() - t0);
    }
  }
  rows.push(
    `| ${c.src}² ${c.bits}-bit -> ${c.dst}² ${c.interp} | ${f3(median(cv))} / ${f3(min(cv))} | ${
      f3(median(cv1))
    } / ${f3(min(cv1))} | ${f3(median(ours))} / ${f3(min(ours))} | ${
      (median(ours) / median(cv1)).toFixed(1)
    }x, ${(min(ours) / min(cv1)).toFixed(1)}x | ${same ? "yes" : "NO"} |`,
  );
}
await py.close();

console.log(rows.join("\n"));
