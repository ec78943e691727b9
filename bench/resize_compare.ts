/**
 * lib/image/resize beside OpenCV's cv2.resize (Debian python3-opencv 4.6, /usr/bin/python3) in one
 * run, on the same synthetic 1024x1024 image built by the same formula on both sides: the sizes
 * the segmentation and classification presets use, and a 256x256 mask mapped back with nearest.
 * OpenCV is timed with its default threads and with one thread; outputs are compared by digest.
 * Prints markdown. Run: deno run -A bench/resize_compare.ts
 */
import { type Interpolation, resize } from "../lib/image/resize.ts";

const RUNS = 200;
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

const PY = `
import hashlib, json, sys, time
import cv2, numpy as np
runs, cases = int(sys.argv[1]), json.loads(sys.argv[2])
codes = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
def synthetic(n, bits):
    y, x = np.indices((n, n), dtype=np.int64)
    v = ((x * 7 + y * 13 + (x * y) % 251) * 257) & 0xffff
    return (v & 0xff).astype(np.uint8) if bits == 8 else v.astype(np.uint16)
def median_ms(fn):
    for _ in range(20): fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter(); fn(); t.append((time.perf_counter() - t0) * 1000)
    return sorted(t)[len(t) // 2]
out = []
threads = cv2.getNumThreads()
for c in cases:
    a = synthetic(c["src"], c["bits"])
    fn = lambda: cv2.resize(a, (c["dst"], c["dst"]), interpolation=codes[c["interp"]])
    cv2.setNumThreads(threads); ms = median_ms(fn)
    cv2.setNumThreads(1); ms1 = median_ms(fn)
    cv2.setNumThreads(threads)
    out.append({"ms": ms, "ms1": ms1, "sha": hashlib.sha256(fn().tobytes()).hexdigest()})
print(json.dumps({"opencv": cv2.__version__, "threads": threads, "results": out}))
`;

async function sha256(a: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function medianMs(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[t.length >> 1];
}

const py = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", PY, String(RUNS), JSON.stringify(cases)],
  stdout: "piped",
}).output();
if (!py.success) throw new Error("the OpenCV side failed");
const ref = JSON.parse(new TextDecoder().decode(py.stdout));

const rows = [
  `OpenCV ${ref.opencv} (${ref.threads} threads, and 1) vs Deno ${Deno.version.deno}; median of ${RUNS} runs each`,
  "",
  "| resize | OpenCV ms | OpenCV 1 thread ms | ours ms | ours / OpenCV 1 thread | same pixels |",
  "| --- | --- | --- | --- | --- | --- |",
];
for (const [i, c] of cases.entries()) {
  const img = synthetic(c.src, c.bits);
  const ms = medianMs(() => resize(img, c.dst, c.dst, c.interp));
  const same = (await sha256(resize(img, c.dst, c.dst, c.interp).data)) === ref.results[i].sha;
  const r = ref.results[i];
  rows.push(
    `| ${c.src}² ${c.bits}-bit -> ${c.dst}² ${c.interp} | ${r.ms.toFixed(3)} | ${
      r.ms1.toFixed(3)
    } | ${ms.toFixed(3)} | ${(ms / r.ms1).toFixed(1)}x | ${same ? "yes" : "NO"} |`,
  );
}
console.log(rows.join("\n"));
