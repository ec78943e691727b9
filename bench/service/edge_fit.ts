/**
 * What fits an edge isolate: each function started alone (as it would be deployed), one kind of
 * request sent a few times, then its median time per request and the process's peak RSS (VmHWM),
 * which includes the runtime itself (an empty Deno server is measured first for reference).
 * Run: deno run -A bench/service/edge_fit.ts   (needs ../shared/data; Linux, for /proc)
 */
import { decodeImage } from "../../lib/decode/mod.ts";
import { encodeImagePng } from "../../lib/image/png.ts";
import { resize } from "../../lib/image/resize.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

interface Case {
  label: string;
  fn: string;
  path: string;
  type: string;
  body: () => Promise<Uint8Array>;
  runs?: number;
}

/** Optional: only the cases whose label matches this regex (first argument). */
const ONLY = new RegExp(Deno.args[0] ?? ".");
const file = (p: string) => () => Deno.readFile(DATA + p);
const CASES: Case[] = [
  {
    label: "/rle/decode 1024x1024 mask -> 8-bit PNG",
    fn: "rle",
    path: "/rle/decode",
    type: "application/json",
    body: () =>
      Promise.resolve(new TextEncoder().encode(JSON.stringify({
        rle: "175349 7 1013 12 1009 17 1005 19 1003 20 1002 22 1001 22 1001 23 1000 23 1000 23",
        width: 1024,
        height: 1024,
      }))),
  },
  {
    label: "/rle/batch full SIIM CSV (gzip, 12,954 rows)",
    fn: "rle",
    path: "/rle/batch",
    type: "application/gzip",
    body: file("siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz"),
    runs: 3,
  },
  {
    label: "/dicom/info SIIM CR (JPEG baseline)",
    fn: "dicom",
    path: "/dicom/info",
    type: "application/dicom",
    body: file("siim-pneumothorax/1.2.276.0.7230010.3.1.4.8323329.1000.1517875165.878027.dcm"),
  },
  {
    label: "/dicom/render 1024x1024 JPEG baseline CR",
    fn: "dicom",
    path: "/dicom/render",
    type: "application/dicom",
    body: file("siim-pneumothorax/1.2.276.0.7230010.3.1.4.8323329.1000.1517875165.878027.dcm"),
  },
  {
    label: "/dicom/render 1024x1024 JPEG 2000 MR",
    fn: "dicom",
    path: "/dicom/render",
    type: "application/dicom",
    body: file("dicom-conformance/MR2_J2KI.dcm"),
  },
  {
    label: "/segment/slice fundus-vessels, 565x584 DRIVE photo",
    fn: "slice",
    path: "/segment/slice?model=fundus-vessels",
    type: "image/png",
    body: file("drive/png/test/images/01_test.png"),
  },
  {
    // over the slice function's pass cap (384 Ki pixels): run as 512x512 tiles
    label: "/segment/slice fundus-vessels, DRIVE photo upscaled to 1024x1024",
    fn: "slice",
    path: "/segment/slice?model=fundus-vessels",
    type: "image/png",
    body: async () => {
      const { image } = await decodeImage(await file("drive/png/test/images/01_test.png")());
      const big = resize(image as never, 1024, 1024) as typeof image;
      return encodeImagePng(big.data as Uint8Array, 1024, 1024, big.channels);
    },
  },
  {
    label: "/cxr/classify 1024x1024 JPEG-baseline DICOM",
    fn: "cxr",
    path: "/cxr/classify",
    type: "application/dicom",
    body: file("rsna-pneumonia/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm"),
  },
];

function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function start(entry: string, port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", entry],
    cwd: ROOT,
    env: { PORT: String(port), MEDIMG_TIME_BUDGET_MS: "600000" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/openapi.json`).then((r) => r.body?.cancel());
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${entry} did not start`);
}

const rows = [
  "| request | function alone | median ms | peak RSS MB |",
  "| --- | --- | --- | --- |",
];
let port = 18_400;
{
  const empty = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    empty,
    "Deno.serve({ port: Number(Deno.env.get('PORT')) }, () => new Response('{}'));",
  );
  const child = await start(empty, ++port);
  rows.push(`| (empty Deno.serve, for reference) | - | - | ${peakRss(child.pid).toFixed(0)} |`);
  child.kill("SIGTERM");
  await child.status;
}
for (const c of CASES.filter((c) => ONLY.test(c.label))) {
  const child = await start(`functions/${c.fn}.ts`, ++port);
  const body = await c.body() as Uint8Array<ArrayBuffer>;
  const times: number[] = [];
  for (let i = 0; i < (c.runs ?? 10); i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}${c.path}`, {
      method: "POST",
      headers: { "content-type": c.type },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${c.label}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  rows.push(`| ${c.label} | ${c.fn} | ${median.toFixed(1)} | ${peakRss(child.pid).toFixed(0)} |`);
  child.kill("SIGTERM");
  await child.status;
}
console.log(rows.join("\n"));
