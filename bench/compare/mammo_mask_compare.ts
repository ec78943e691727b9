/**
 * /mammo/mask side by side with OpenCV (bench/compare/mammo_mask_reference.py: cv2.imread, non-zero in any
 * channel, the seed's crop/flip/pad, cv2.imencode) on one 2600x4144 CBIS-DDSM ROI, in one run,
 * taking turns request by request so both see the same load. Rows:
 * - the route (in-process app.request, multipart, lr_flip=true) with the ROI as an 8-bit grey 0/255
 *   PNG (written by OpenCV from the ROI), and with the ROI as it comes (16-bit RGB) where the route
 *   takes RGB masks (it answers 422 where it does not; the row says so);
 * - the library path for the 16-bit RGB ROI (decodePng, maskFromPng, maskPreprocess,
 *   encodeMaskPng): what the route does with it once it takes RGB masks.
 * Medians of RUNS runs after one warm-up, wall and whole-process CPU ms; the route's Server-Timing
 * stages (median); and whether our answer's pixels equal OpenCV's. Prints markdown.
 * Run: deno run -A bench/compare/mammo_mask_compare.ts [RUNS]
 */
import process from "node:process";
import { app } from "../../functions/mammo.ts";
import { decodePng, encodeMaskPng, maskFromPng } from "../../lib/image/png.ts";
import { maskPreprocess } from "../../lib/pipelines/mammo.ts";
import { startPython } from "../_python.ts";

const RUNS = Number(Deno.args[0] ?? 7);
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const ROI = DATA + "cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO_1.roi-box.png";
const GREY = await Deno.makeTempFile({ suffix: ".png" });
const OUT = await Deno.makeTempFile({ suffix: ".png" });

const py = await startPython([new URL("mammo_mask_reference.py", import.meta.url).pathname]);
await py.ask(`grey ${ROI} ${GREY}`);
const ref = py.first as { opencv: string; threads: number };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function route(bytes: Uint8Array): Promise<Response> {
  const form = new FormData();
  form.append("mask", new File([bytes as Uint8Array<ArrayBuffer>], "roi.png"));
  form.append("lr_flip", "true");
  return await app.request("/mammo/mask", { method: "POST", body: form });
}

async function library(bytes: Uint8Array): Promise<Uint8Array> {
  const png = decodePng(bytes);
  const { mask, square } = maskPreprocess([maskFromPng(png)], png.width, png.height, true);
  return await encodeMaskPng(mask, square, square, 8);
}

/** Our answer's pixels against OpenCV's, for the same input. */
async function sameAsOpenCv(path: string, answer: Uint8Array): Promise<string> {
  await py.ask(`save ${path} 1 ${OUT}`);
  const a = decodePng(answer), b = decodePng(await Deno.readFile(OUT));
  if (a.width !== b.width || a.height !== b.height) return `no (${a.width} vs ${b.width})`;
  let diff = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) diff++;
  return diff === 0 ? "yes" : `no (${diff} pixels differ)`;
}

type Row = { what: string; cv: number[]; cvCpu: number[]; ours: number[]; oursCpu: number[] };
const rows: string[] = [];
const stageRows: string[] = [];

async function compare(what: string, path: string, viaRoute: boolean) {
  const bytes = await Deno.readFile(path);
  const row: Row = { what, cv: [], cvCpu: [], ours: [], oursCpu: [] };
  const stages: Record<string, number[]> = {};
  let answer: Uint8Array = new Uint8Array(0);
  for (let i = 0; i <= RUNS; i++) {
    const r = await py.ask<{ ms: number; cpu_ms: number }>(`time ${path} 1`);
    const w0 = performance.now(), c0 = cpuMs();
    if (viaRoute) {
      const res = await route(bytes);
      answer = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) {
        const detail = JSON.parse(new TextDecoder().decode(answer)).detail;
        rows.push(`| ${what} | refused here: ${res.status} ${detail} | | | |`);
        return;
      }
      for (const m of (res.headers.get("server-timing") ?? "").split(",")) {
        const [name, ...rest] = m.trim().split(";");
        const dur = rest.find((p) => p.startsWith("dur="));
        if (i > 0 && dur) (stages[name] ??= []).push(Number(dur.slice(4)));
      }
    } else answer = await library(bytes);
    const ms = performance.now() - w0, cpu = cpuMs() - c0;
    if (i === 0) continue; // warm-up
    row.cv.push(r.ms), row.cvCpu.push(r.cpu_ms), row.ours.push(ms), row.oursCpu.push(cpu);
  }
  const cell = (a: number[], b: number[]) => {
    const [x, y] = [median(a), median(b)];
    return `${x.toFixed(0)} / ${y.toFixed(0)} (${(y / x).toFixed(2)})`;
  };
  rows.push(
    `| ${what} | ${cell(row.cv, row.ours)} | ${cell(row.cvCpu, row.oursCpu)} | ${await sameAsOpenCv(
      path,
      answer,
    )} | ${bytes.length} |`,
  );
  if (Object.keys(stages).length) {
    stageRows.push(
      `- ${what}: ${
        Object.entries(stages).map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(", ")
      } ms`,
    );
  }
}

const load0 = Deno.loadavg()[0];
await compare("/mammo/mask, ROI as 8-bit grey 0/255 PNG", GREY, true);
await compare("/mammo/mask, ROI as it comes (16-bit RGB PNG)", ROI, true);
await compare("library path, ROI as it comes (16-bit RGB PNG)", ROI, false);
await py.close();
await Deno.remove(GREY);
await Deno.remove(OUT);
console.log(
  [
    `OpenCV ${ref.opencv} (${ref.threads} threads) vs Deno ${Deno.version.deno}, ${
      ROI.split("/").pop()
    } (2600x4144), lr_flip=true, median of ${RUNS} runs each after a warm-up, taking turns; load average ${
      load0.toFixed(1)
    }-${Deno.loadavg()[0].toFixed(1)} on ${navigator.hardwareConcurrency} CPUs`,
    "",
    "| body | ms OpenCV / ours (ratio) | CPU ms OpenCV / ours (ratio) | same pixels as OpenCV | PNG bytes |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "Server-Timing of the route (median ms):",
    ...stageRows,
  ].join("\n"),
);
