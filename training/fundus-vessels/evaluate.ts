/**
 * Measures a shipped fundus-vessels model end to end as the service runs it: the DRIVE test photo
 * (lossless PNG copy) -> the card's preset (lib/pipelines/fundus.ts) -> lib/models segmentImage
 * (zero padding to the card's stride, tfjs wasm) -> threshold, scored against the 1st observer
 * inside the FOV mask over the 20 test images: pooled F1 (= Dice), AUC, accuracy, sensitivity,
 * specificity, plus per-image F1 and the time per image. With --write the figures go into the
 * card's `metrics` (the numbers in the card are what the artifact on disk produces).
 *
 *   deno run -A training/fundus-vessels/evaluate.ts models/fundus-vessels [--write]
 */
import { decodePng } from "../../lib/image/png.ts";
import { segmentImage } from "../../lib/models/infer.ts";
import { loadModel } from "../../lib/models/load.ts";
import { getPreset } from "../../lib/pipelines/presets.ts";

const DRIVE = new URL("../../../shared/data/drive/png/test/", import.meta.url).pathname;

/** CPU seconds (user + system) this process has used, from /proc (Linux), else NaN. */
function cpuSeconds(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ = 100 ticks
  } catch {
    return NaN;
  }
}

async function png(path: string) {
  return decodePng(await Deno.readFile(path));
}

/**
 * Area under the ROC curve of scores `pos` (vessel) against `neg` (background), ties counted half
 * (the trapezoidal ROC area, as sklearn's roc_auc_score).
 * @example auc(Float32Array.of(0.9, 0.4), Float32Array.of(0.4, 0.1)) // 0.875
 */
export function auc(pos: Float32Array, neg: Float32Array): number {
  const n = Float32Array.from(neg).sort();
  let wins = 0;
  for (const p of pos) {
    let lo = 0, hi = n.length; // first index with n[i] >= p
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (n[mid] < p) lo = mid + 1;
      else hi = mid;
    }
    let eq = lo; // first index with n[i] > p
    hi = n.length;
    while (eq < hi) {
      const mid = (eq + hi) >>> 1;
      if (n[mid] <= p) eq = mid + 1;
      else hi = mid;
    }
    wins += lo + (eq - lo) / 2;
  }
  return wins / (pos.length * n.length);
}

if (import.meta.main) {
  const dir = (Deno.args.find((a) => !a.startsWith("--")) ?? "models/fundus-vessels").replace(
    /\/$/,
    "",
  );
  const write = Deno.args.includes("--write");
  const slash = dir.lastIndexOf("/");
  const loaded = await loadModel(dir.slice(slash + 1), {
    root: slash < 0 ? "." : dir.slice(0, slash),
  });
  const { card } = loaded;
  const preset = await getPreset(card.preprocess!.preset);
  const t = card.threshold ?? 0.5;
  const posAll: number[] = [], negAll: number[] = [];
  let tp = 0, fp = 0, fn = 0, tn = 0;
  const perImage: Record<string, number> = {};
  const ms: number[] = [], cpuMs: number[] = [];
  for (let n = 1; n <= 20; n++) {
    const id = String(n).padStart(2, "0");
    const img = await png(`${DRIVE}images/${id}_test.png`);
    const manual = await png(`${DRIVE}1st_manual/${id}_manual1.png`);
    const fov = await png(`${DRIVE}mask/${id}_test_mask.png`);
    const t0 = performance.now(), c0 = cpuSeconds();
    const x = preset(
      { width: img.width, height: img.height, channels: 3, data: img.data as Uint8Array },
      {},
      card.preprocess!.params ?? {},
    );
    const { probs } = await segmentImage(loaded, x);
    ms.push(performance.now() - t0);
    cpuMs.push((cpuSeconds() - c0) * 1000);
    let itp = 0, ifp = 0, ifn = 0;
    for (let i = 0; i < probs.data.length; i++) {
      if (fov.data[i] < 128) continue;
      const p = probs.data[i], vessel = manual.data[i] >= 128, pred = p > t;
      (vessel ? posAll : negAll).push(p);
      if (pred && vessel) itp++;
      else if (pred) ifp++;
      else if (vessel) ifn++;
      else tn++;
    }
    tp += itp, fp += ifp, fn += ifn;
    perImage[`${id}_test`] = 2 * itp / (2 * itp + ifp + ifn);
  }
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  const f1s = Object.values(perImage);
  ms.sort((a, b) => a - b);
  cpuMs.sort((a, b) => a - b);
  const metrics = {
    test_set:
      "DRIVE test images 01-20, 1st observer, pixels inside the FOV mask pooled over all 20 images",
    threshold: t,
    f1: r(2 * tp / (2 * tp + fp + fn)),
    auc: r(auc(Float32Array.from(posAll), Float32Array.from(negAll))),
    accuracy: r((tp + tn) / (tp + tn + fp + fn)),
    sensitivity: r(tp / (tp + fn)),
    specificity: r(tn / (tn + fp)),
    mean_image_f1: r(f1s.reduce((a, b) => a + b, 0) / f1s.length),
    per_image_f1: Object.fromEntries(Object.entries(perImage).map(([k, v]) => [k, r(v)])),
    ms_per_image_median: Math.round(ms[10]),
    cpu_ms_per_image_median: Math.round(cpuMs[10]),
    timing_note: `preset + inference of one 565x584 photo, ${loaded.backend.name} backend` +
      ` (simd ${loaded.backend.simd}, ${loaded.backend.threads} thread), median of 20; wall ms` +
      " moves with other load on the machine, CPU ms (process user + system) much less",
    measured_with: "tfjs 4.22.0 in Deno " + Deno.version.deno,
    command: `deno run -A training/fundus-vessels/evaluate.ts ${dir} --write`,
  };
  console.log(JSON.stringify(metrics, null, 2));
  if (write) {
    const path = `${dir}/card.json`;
    const json = JSON.parse(await Deno.readTextFile(path));
    json.metrics = metrics;
    await Deno.writeTextFile(path, JSON.stringify(json, null, 2) + "\n");
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  }
}
