/**
 * Time and peak resident memory of the mammo pipeline on synthetic mammograms (a breast on the
 * right, a bright border, a bright label) of several sizes, 8- and 16-bit, each in its own
 * process: the library alone (pixels already in memory), and the whole route (an uncompressed
 * DICOM body POSTed to /mammo/preprocess, the 8-bit PNG answer read). Peak RSS is the kernel's
 * high-water mark (VmHWM, reset through /proc/self/clear_refs just before the run, Linux only);
 * CPU time is the whole process's. One warm-up run on a small image first, as a warm isolate;
 * the first run at full size gives the peak, three more the warm time (median).
 * Prints a markdown table, or with --json the rows.
 * Run: deno run -A bench/service/mammo_rss.ts [--json] [WxH ...]   (default 1000x1600 2000x3300 3000x5000)
 * One case: deno run -A --v8-flags=--expose-gc bench/service/mammo_rss.ts --child W H BITS lib|route
 */
import process from "node:process";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";

/** A portrait mammogram-like image: breast on the right, bright border, bright label. */
export function syntheticMammogram(
  width: number,
  height: number,
  bits: 8 | 16,
): Uint8Array | Uint16Array {
  const data = bits === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  for (let y = 0; y < height; y++) syntheticRow(data, width, height, y, bits === 16 ? 1 : 257);
  return data;
}

/** One row of syntheticMammogram (a function per row: see lib/pipelines/mammo.ts on OSR). */
function syntheticRow(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
  y: number,
  div: number,
): void {
  const bx = width / 20, by = height / 125;
  for (let x = 0; x < width; x++) {
    const dx = (x - width) / (width * 0.73), dy = (y - height / 2) / (height * 0.46);
    const r = dx * dx + dy * dy;
    let v = r < 1 ? 12000 + 30000 * (1 - r) + ((x * 7 + y * 13) % 997) * 9 : 300 + ((x + y) % 50);
    if (x < bx / 7.5 || y < by || x >= width - bx / 7.5 || y >= height - by) v = 65535;
    if (x > width * 0.1 && x < width * 0.23 && y > height * 0.08 && y < height * 0.12) v = 60000;
    data[y * width + x] = Math.floor(v / div);
  }
}

/** An uncompressed explicit-VR little-endian MG DICOM of the pixels. */
function dicomOf(
  data: Uint8Array | Uint16Array,
  width: number,
  height: number,
): Uint8Array<ArrayBuffer> {
  const bits = data instanceof Uint16Array ? 16 : 8;
  const parts: number[] = [];
  const u16 = (n: number) => parts.push(n & 255, n >> 8);
  const el = (g: number, e: number, vr: string, value: number[] | string) => {
    let bytes = typeof value === "string" ? [...new TextEncoder().encode(value)] : value;
    if (bytes.length % 2) bytes = [...bytes, vr === "UI" ? 0 : 32];
    u16(g), u16(e), parts.push(vr.charCodeAt(0), vr.charCodeAt(1)), u16(bytes.length);
    parts.push(...bytes);
  };
  el(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
  el(0x0008, 0x0060, "CS", "MG");
  el(0x0028, 0x0002, "US", [1, 0]);
  el(0x0028, 0x0004, "CS", "MONOCHROME2");
  el(0x0028, 0x0010, "US", [height & 255, height >> 8]);
  el(0x0028, 0x0011, "US", [width & 255, width >> 8]);
  el(0x0028, 0x0100, "US", [bits, 0]);
  el(0x0028, 0x0101, "US", [bits, 0]);
  el(0x0028, 0x0102, "US", [bits - 1, 0]);
  el(0x0028, 0x0103, "US", [0, 0]);
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const length = pixels.length + (pixels.length % 2);
  const out = new Uint8Array(132 + parts.length + 12 + length);
  out.set(new TextEncoder().encode("DICM"), 128);
  out.set(parts, 132);
  const v = new DataView(out.buffer, 132 + parts.length, 12);
  v.setUint16(0, 0x7fe0, true), v.setUint16(2, 0x0010, true);
  v.setUint8(4, 0x4f), v.setUint8(5, bits === 16 ? 0x57 : 0x42); // OW or OB
  v.setUint32(8, length, true);
  out.set(pixels, 132 + parts.length + 12);
  return out;
}

const status = () => Deno.readTextFileSync("/proc/self/status");
const kb = (field: string) => Number(status().match(new RegExp(`${field}:\\s+(\\d+)`))![1]);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function child(width: number, height: number, bits: 8 | 16, mode: "lib" | "route") {
  const { app } = await import("../../functions/mammo.ts");
  const run = async (
    data: Uint8Array | Uint16Array,
    w: number,
    h: number,
    body?: Uint8Array<ArrayBuffer>,
  ) => {
    if (mode === "lib") return mammoPreprocess({ width: w, height: h, data }).square;
    const res = await app.request("/mammo/preprocess", {
      method: "POST",
      headers: { "content-type": "application/dicom" },
      body: body ?? dicomOf(data, w, h),
    });
    if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
    return (await res.arrayBuffer()).byteLength;
  };
  // Warm-up on a small image: the code is compiled, as in an isolate that has served requests.
  await run(syntheticMammogram(400, 640, bits), 400, 640);
  let data: Uint8Array | Uint16Array | undefined = syntheticMammogram(width, height, bits);
  const body = mode === "route" ? dicomOf(data, width, height) : undefined;
  if (body) data = undefined; // the route has only the request body
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBefore = kb("VmRSS");
  Deno.writeTextFileSync("/proc/self/clear_refs", "5"); // reset VmHWM to the current RSS
  const c0 = cpuMs(), w0 = performance.now();
  const answer = await run(data ?? new Uint8Array(), width, height, body);
  const first = [performance.now() - w0, cpuMs() - c0];
  const peak = kb("VmHWM");
  // Then the time of a warm isolate: median of three more runs.
  const walls: number[] = [], cpus: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c1 = cpuMs(), w1 = performance.now();
    await run(data ?? new Uint8Array(), width, height, body);
    walls.push(performance.now() - w1), cpus.push(cpuMs() - c1);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
  return {
    width,
    height,
    bits,
    mode,
    input_mb: (width * height * (bits / 8)) / 2 ** 20,
    rss_before_mb: rssBefore / 1024,
    peak_rss_mb: peak / 1024,
    growth_mb: (peak - rssBefore) / 1024,
    first_ms: first[0],
    first_cpu_ms: first[1],
    ms: median(walls),
    cpu_ms: median(cpus),
    answer,
  };
}

if (Deno.args[0] === "--child") {
  const [w, h, bits, mode] = Deno.args.slice(1);
  const r = await child(Number(w), Number(h), Number(bits) as 8 | 16, mode as "lib" | "route");
  console.log(JSON.stringify(r));
} else if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const sizes = Deno.args.filter((a) => /^\d+x\d+$/.test(a));
  const rows = [];
  for (const size of sizes.length ? sizes : ["1000x1600", "2000x3300", "3000x5000"]) {
    const [w, h] = size.split("x");
    for (const bits of ["8", "16"]) {
      for (const mode of ["lib", "route"]) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--v8-flags=--expose-gc",
            new URL(import.meta.url).pathname,
            "--child",
            w,
            h,
            bits,
            mode,
          ],
          stdout: "piped",
          stderr: "inherit",
        }).output();
        rows.push(JSON.parse(new TextDecoder().decode(out.stdout)));
      }
    }
  }
  if (json) console.log(JSON.stringify(rows));
  else {
    console.log(
      `load average ${Deno.loadavg()[0].toFixed(1)} on ${navigator.hardwareConcurrency} CPUs\n`,
    );
    console.log(
      "| size | bits | what | input MB | first run wall / CPU ms | warm wall / CPU ms | RSS before MB | peak RSS MB | growth MB |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) {
      console.log(
        `| ${r.width}x${r.height} | ${r.bits} | ${
          r.mode === "lib" ? "pipeline" : "DICOM -> /mammo/preprocess -> PNG"
        } | ${r.input_mb.toFixed(1)} | ${r.first_ms.toFixed(0)} / ${r.first_cpu_ms.toFixed(0)} | ${
          r.ms.toFixed(0)
        } / ${r.cpu_ms.toFixed(0)} | ${r.rss_before_mb.toFixed(0)} | ${
          r.peak_rss_mb.toFixed(0)
        } | ${r.growth_mb.toFixed(0)} |`,
      );
    }
  }
}
