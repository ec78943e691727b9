/**
 * Whole-volume inference time per tfjs backend: the shipped brats-demo model on BraTS2021_00006
 * through `segmentBrats` (the volume route's pipeline: RAS, preprocessing, sliding window with the
 * card's window, labels back), each backend in its own process, wall and CPU time.
 *
 *   deno run -A bench/service/brats_infer.ts [--backends=wasm,cpu,webgpu] [--sample=4]
 *
 * A backend listed in `--full` (default: wasm) runs the whole volume; the others run `--sample`
 * windows of the same volume and the whole-volume figure is extrapolated from the forward time per
 * window (said so in the table). webgpu runs where an adapter exists (a software one, Mesa's
 * llvmpipe, only with MEDIMG_WEBGPU_ALLOW_FALLBACK=1, which this script sets for its child).
 * `wasm-stock` is the wasm backend with tfjs 4.22's own 3D kernels, for contrast: its Conv3D is a
 * scalar loop and its Conv3DTranspose gives wrong values (the labels are not usable).
 */
import process from "node:process";
import { setupBackend } from "../../lib/models/backend.ts";
import { loadModel } from "../../lib/models/load.ts";
import {
  fastConv3dOnWasm,
  layersForward,
  type Size3,
  slidingWindow3d,
  windowStarts,
} from "../../lib/models/sliding3d.ts";
import { readNifti, toCanonical } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES, bratsPreprocess, segmentBrats } from "../../lib/pipelines/brats.ts";

const args = Object.fromEntries(
  Deno.args.map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "1"]),
);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const data = new URL("../../../shared/data/brats/BraTS2021_00006/", import.meta.url).pathname;
const models = new URL("../../models", import.meta.url).pathname;

interface Row {
  backend: string;
  windows: number;
  ran: number;
  perWindowWall: number;
  perWindowCpu: number;
  wholeWall: number;
  wholeCpu: number;
  extrapolated: boolean;
  stages?: Record<string, number>;
  device?: string;
}

async function one(
  name: "wasm" | "cpu" | "webgpu" | "wasm-stock",
  full: boolean,
  sample: number,
) {
  // wasm-stock: tfjs 4.22's own wasm kernels (slow Conv3D, wrong Conv3DTranspose), for contrast
  const backend = name === "wasm-stock" ? "wasm" : name;
  const info = await setupBackend(backend);
  if (name === "wasm") fastConv3dOnWasm();
  const loaded = await loadModel("brats-demo", { root: models });
  const card = loaded.card as typeof loaded.card & {
    sliding_window: { patch_zyx: Size3; overlap: number; blend: "gaussian" };
    label_values: number[];
  };
  const sw = card.sliding_window;
  const volumes = await Promise.all(
    BRATS_MODALITIES.map(async (m) =>
      await readNifti(await Deno.readFile(`${data}BraTS2021_00006_${m}.nii.gz`))
    ),
  );
  const forward = layersForward(loaded.predict, 4);
  const options = {
    patch: sw.patch_zyx,
    overlap: sw.overlap,
    blend: sw.blend,
    batch: 1,
    threshold: card.threshold ?? 0.5,
    labels: card.label_values,
    params: { dropDepth: 155, dropHead: 5, dropTail: 15 },
  };
  let row: Row;
  if (full) {
    const t0 = performance.now(), c0 = cpu();
    const seg = await segmentBrats(volumes, forward, options);
    const wall = performance.now() - t0, c = cpu() - c0;
    row = {
      backend: name,
      windows: seg.windows,
      ran: seg.windows,
      perWindowWall: seg.forwardMs / seg.windows,
      perWindowCpu: NaN,
      wholeWall: wall,
      wholeCpu: c,
      extrapolated: false,
      stages: seg.timings,
    };
  } else {
    // the first `sample` windows of the same preprocessed volume, one forward pass each
    const stack = bratsPreprocess(volumes.map((v) => toCanonical(v).volume)).stack;
    const [pd, ph, pw] = sw.patch_zyx;
    const total = windowStarts(stack.depth, pd, sw.overlap).length *
      windowStarts(stack.height, ph, sw.overlap).length *
      windowStarts(stack.width, pw, sw.overlap).length;
    // the first window depth of every channel: a slab that the sample's windows lie in
    const per = stack.depth * stack.height * stack.width, slab = pd * stack.height * stack.width;
    const crop = new Float32Array(4 * slab);
    for (let c = 0; c < 4; c++) crop.set(stack.data.subarray(c * per, c * per + slab), c * slab);
    const sub = { data: crop, channels: 4, depth: pd, height: stack.height, width: stack.width };
    await forward(new Float32Array(pd * ph * pw * 4), 1, sw.patch_zyx); // warm the kernels
    const t0 = performance.now(), c0 = cpu();
    let ran = 0;
    await slidingWindow3d(sub, async (b, n, p) => {
      if (ran >= sample) return new Float32Array(n * pd * ph * pw * 3);
      ran += n;
      return await forward(b, n, p);
    }, { patch: sw.patch_zyx, overlap: sw.overlap, outChannels: 3 });
    const wall = (performance.now() - t0) / ran, c = (cpu() - c0) / ran;
    row = {
      backend: name,
      windows: total,
      ran,
      perWindowWall: wall,
      perWindowCpu: c,
      wholeWall: wall * total,
      wholeCpu: c * total,
      extrapolated: true,
    };
  }
  row.device = `${name}${info.simd ? " simd" : ""}, ${info.threads} thread(s)`;
  console.log(JSON.stringify(row));
}

if (args.one) {
  await one(args.one as "wasm", args.full === "1", Number(args.sample ?? 4));
  Deno.exit(0);
}

const backends = (args.backends ?? "wasm,cpu,webgpu").split(",");
const full = new Set((args.full ?? "wasm").split(","));
const rows: Row[] = [];
for (const b of backends) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      `--one=${b}`,
      `--full=${full.has(b) ? 1 : 0}`,
      `--sample=${args.sample ?? 4}`,
    ],
    env: { MEDIMG_WEBGPU_ALLOW_FALLBACK: "1" },
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success || !text.startsWith("{")) {
    const err = new TextDecoder().decode(out.stderr).split("\n").filter((l) =>
      /error|Error/.test(l) && !/XDG_RUNTIME_DIR/.test(l)
    )[0];
    console.log(`${b}: not run (${err ?? "no output"})`);
    continue;
  }
  rows.push(JSON.parse(text));
}
const s = (ms: number) => (ms / 1000).toFixed(1);
console.log(
  `brats-demo on BraTS2021_00006 (4 x 240 x 240 x 155), load ${Deno.loadavg()[0].toFixed(1)}`,
);
console.log(
  "| backend | windows | forward s/window (wall) | whole volume s (wall) | CPU s | how |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.device} | ${r.windows} | ${s(r.perWindowWall)} | ${s(r.wholeWall)} | ${
      s(r.wholeCpu)
    } | ${
      r.extrapolated
        ? `extrapolated from ${r.ran} windows`
        : `measured; stages ${
          Object.entries(r.stages ?? {}).map(([k, v]) => `${k} ${s(v)}`).join(", ")
        }`
    } |`,
  );
}
