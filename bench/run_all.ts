/**
 * `deno task bench`: every benchmark that puts our figures beside a reference (NumPy, OpenCV,
 * pydicom, nibabel, PyTorch) run in turn, one process each, and their markdown tables written to
 * bench/RESULTS.md with the date, the machine (cores, memory, load average at the start, Deno and
 * Python versions, commit) and, per benchmark, its command, load average before and after, time
 * taken and exit status. A benchmark whose script, data (../shared/data), model folder, Python
 * modules or programs are absent is skipped with the reason printed and recorded.
 *
 *   deno run -A bench/run_all.ts                 every default benchmark -> bench/RESULTS.md
 *   deno run -A bench/run_all.ts --only rle,dicom  those sections only, replaced in place in the
 *                                                 existing RESULTS.md (the others are kept)
 *   deno run -A bench/run_all.ts --list          what would run, or be skipped and why
 *   deno run -A bench/run_all.ts --out FILE      write FILE instead of bench/RESULTS.md
 *
 * Layout: bench/compare/ (our side beside a reference, with the Python side next to it; the
 * seeds and twins they run are in reference/ at the root, shared with tests/ and training/),
 * bench/micro/ (`deno bench` files), bench/service/ (the whole service or one route: fuzz, load,
 * RSS, edge fit, README answers). bench/_python.ts is shared by the comparisons.
 *
 * Opt-in entries (`fuzz`, `mammo-profile`, `load`) run only when named in --only. A
 * `bench/compare/*_compare.ts` that no entry names still runs (as `deno run -A`), marked as discovered, so
 * a new comparison is never silently left out; give it an entry in BENCHMARKS_LIST to say what it
 * needs.
 */

/** One benchmark of the suite: a `deno` command run from the repository root. */
export interface BenchEntry {
  /** Section name in RESULTS.md and in --only. */
  name: string;
  /** What it compares, one line. */
  about: string;
  /** Arguments to `deno` (the bench/ script paths among them must exist, else it is skipped). */
  deno: string[];
  /** Files or folders under ../shared/data it reads. */
  data?: string[];
  /** Files or folders under the repository root it needs (installed models). */
  files?: string[];
  /** A Python interpreter and the modules the reference side imports. */
  python?: { exe: string; modules: string[] };
  /** Programs looked up on PATH. */
  programs?: string[];
  /** Wall-clock limit in seconds (default 1200); the process is sent SIGTERM, then SIGKILL. */
  timeoutS?: number;
  /** Output is plain text (put in a code block), not markdown. */
  text?: boolean;
  /** Run only when named in --only. */
  optIn?: boolean;
}

const PY = "/usr/bin/python3";

/** The suite, in the order it runs. */
export const BENCHMARKS_LIST: BenchEntry[] = [
  {
    name: "rle",
    about: "SIIM RLE decode beside the seed's numpy rle2mask; cold start; /rle/decode under wrk; " +
      "/rle/batch on 100 MB",
    deno: ["run", "-A", "bench/compare/rle_compare.ts"],
    data: ["siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz"],
    python: { exe: "python3", modules: ["numpy"] },
    programs: ["wrk"],
  },
  {
    name: "dicom",
    about: "lib/dicom parse + one frame beside pydicom (GDCM, Pillow) on the same files",
    deno: ["run", "-A", "bench/compare/dicom_compare.ts"],
    data: ["dicom-conformance", "siim-pneumothorax"],
    python: { exe: PY, modules: ["pydicom", "numpy"] },
  },
  {
    name: "mammo",
    about: "mammo pipeline and CLAHE beside the seed's OpenCV pipeline, same images",
    deno: ["run", "-A", "bench/compare/mammo_compare.ts"],
    data: ["cbis-ddsm", "ddsm-tissue-seg/images"],
    python: { exe: PY, modules: ["cv2", "numpy"] },
  },
  {
    name: "mammo-rss",
    about: "time and peak RSS of the mammo pipeline and route on synthetic mammograms up to " +
      "3000x5000 16-bit",
    deno: ["run", "-A", "bench/service/mammo_rss.ts"],
  },
  {
    name: "mammo-mask",
    about:
      "/mammo/mask (PNG decode and encode included) beside OpenCV on a 2600x4144 CBIS-DDSM ROI",
    deno: ["run", "-A", "bench/compare/mammo_mask_compare.ts"],
    data: ["cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO_1.roi-box.png"],
    python: { exe: PY, modules: ["cv2", "numpy"] },
  },
  {
    name: "mammo-profile",
    about: "where the mammo pipeline's time goes, step by step (no reference side)",
    deno: ["run", "-A", "bench/service/mammo_profile.ts"],
    data: ["cbis-ddsm", "ddsm-tissue-seg/images"],
    optIn: true,
  },
  {
    name: "resize",
    about: "lib/image/resize beside cv2.resize (default threads and one), outputs by digest",
    deno: ["run", "-A", "bench/compare/resize_compare.ts"],
    python: { exe: PY, modules: ["cv2", "numpy"] },
  },
  {
    name: "nifti",
    about: "lib/nifti read, reorient and write beside nibabel on the BraTS volumes",
    deno: ["run", "-A", "bench/compare/nifti_bench.ts"],
    data: ["brats"],
    python: { exe: PY, modules: ["nibabel", "numpy"] },
  },
  {
    name: "brats-zscore",
    about: "BraTS stack + slice drop + z-score beside the seed's NumPy standardize",
    deno: ["run", "-A", "bench/compare/brats_zscore.ts"],
    data: ["brats/BraTS2021_00006"],
    python: { exe: PY, modules: ["nibabel", "numpy"] },
  },
  {
    name: "cxr",
    about: "cxr preprocessing beside OpenCV, and POST /cxr/classify end to end beside " +
      "pydicom + OpenCV",
    deno: ["run", "-A", "bench/compare/cxr_compare.ts"],
    data: ["rsna-pneumonia"],
    files: ["models/cxr-pneumonia/card.json"],
    python: { exe: PY, modules: ["cv2", "pydicom", "numpy"] },
  },
  {
    name: "unet",
    about: "U-Net 512x512 in tfjs-wasm beside the same network in PyTorch CPU",
    deno: ["run", "-A", "bench/compare/unet_compare.ts"],
    python: { exe: PY, modules: ["torch"] },
    timeoutS: 1800,
  },
  {
    name: "edge-fit",
    about: "each function started alone: median time per request and peak RSS (for deploy.md)",
    deno: ["run", "-A", "bench/service/edge_fit.ts"],
    data: ["siim-pneumothorax", "dicom-conformance"],
  },
  {
    name: "micro",
    about: "`deno bench` micro-benchmarks of the rle and resize hot paths (our side only)",
    deno: ["bench", "-A", "bench/micro/rle_bench.ts", "bench/micro/resize_bench.ts"],
    text: true,
  },
  {
    name: "load",
    about: "wrk, 60 s, 32 connections per route on a server started alone; RSS sampled",
    deno: ["run", "-A", "bench/service/load.ts"],
    data: ["ddsm-tissue-seg/images", "drive"],
    programs: ["wrk"],
    optIn: true,
    timeoutS: 600,
  },
  {
    name: "fuzz",
    about: "10,000 mutated real files per route against a running server (pass/fail, not a " +
      "comparison)",
    deno: ["run", "-A", "bench/service/fuzz.ts"],
    optIn: true,
    timeoutS: 7200,
  },
];

const ROOT = new URL("../", import.meta.url).pathname;
const DATA = new URL("../../shared/data/", import.meta.url).pathname;
const DEFAULT_OUT = new URL("RESULTS.md", import.meta.url).pathname;

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

/** Absolute path of a program on PATH, or undefined. */
function onPath(program: string): string | undefined {
  if (program.includes("/")) return exists(program) ? program : undefined;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && exists(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return undefined;
}

const missingModules = new Map<string, Promise<string[] | undefined>>();
/** Modules of `modules` that `exe` cannot find (find_spec: nothing is imported), or undefined. */
function pythonMissing(exe: string, modules: string[]): Promise<string[] | undefined> {
  const key = `${exe} ${modules.join(",")}`;
  let p = missingModules.get(key);
  if (!p) {
    p = (async () => {
      if (!onPath(exe)) return undefined;
      const o = await new Deno.Command(exe, {
        args: [
          "-c",
          "import importlib.util, sys\n" +
          "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))",
          ...modules,
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      const line = new TextDecoder().decode(o.stdout).trim();
      return o.success ? (line ? line.split(" ") : []) : modules;
    })();
    missingModules.set(key, p);
  }
  return p;
}

/** Why `e` cannot run here, or undefined when everything it needs is present. */
export async function skipReason(e: BenchEntry): Promise<string | undefined> {
  const scripts = e.deno.filter((a) => a.startsWith("bench/"));
  const absentScripts = scripts.filter((s) => !exists(ROOT + s));
  if (absentScripts.length) return `script not present yet: ${absentScripts.join(", ")}`;
  const absentData = (e.data ?? []).filter((d) => !exists(DATA + d));
  if (absentData.length) {
    return `data absent: ${absentData.map((d) => `../shared/data/${d}`).join(", ")}`;
  }
  const absentFiles = (e.files ?? []).filter((f) => !exists(ROOT + f));
  if (absentFiles.length) return `not installed: ${absentFiles.join(", ")}`;
  const absentPrograms = (e.programs ?? []).filter((p) => !onPath(p));
  if (absentPrograms.length) return `programs not on PATH: ${absentPrograms.join(", ")}`;
  if (e.python) {
    const missing = await pythonMissing(e.python.exe, e.python.modules);
    if (missing === undefined) return `${e.python.exe} not found`;
    if (missing.length) return `${e.python.exe} lacks the modules ${missing.join(", ")}`;
  }
  return undefined;
}

/** Entries for bench/compare/*_compare.ts files that the list does not name. */
function discovered(list: BenchEntry[]): BenchEntry[] {
  const named = new Set(list.flatMap((e) => e.deno.filter((a) => a.startsWith("bench/"))));
  const out: BenchEntry[] = [];
  for (const f of [...Deno.readDirSync(ROOT + "bench/compare")].map((d) => d.name).sort()) {
    if (f.endsWith("_compare.ts") && !named.has(`bench/compare/${f}`)) {
      out.push({
        name: f.replace(/_compare\.ts$/, "").replaceAll("_", "-"),
        about:
          `discovered: bench/compare/${f} is not in bench/run_all.ts's list (its needs are unchecked)`,
        deno: ["run", "-A", `bench/compare/${f}`],
      });
    }
  }
  return out;
}

const loadavg = () => Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
const command = (e: BenchEntry) => `deno ${e.deno.join(" ")}`;

async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", cwd: ROOT })
      .output();
    const t = new TextDecoder();
    return (t.decode(o.stdout) + t.decode(o.stderr)).trim();
  } catch {
    return "unknown";
  }
}

/** The machine, as a markdown list. */
async function machine(): Promise<string> {
  const cpuinfo = exists("/proc/cpuinfo") ? Deno.readTextFileSync("/proc/cpuinfo") : "";
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown CPU";
  const memGiB = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  const py = onPath(PY) ? await capture(PY, ["--version"]) : "absent";
  const commit = await capture("git", ["describe", "--always", "--dirty"]);
  return [
    `- cores: ${navigator.hardwareConcurrency} (${model}), memory ${memGiB} GiB`,
    `- load average at start (1, 5, 15 min): ${loadavg()}`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.target}, kernel ${Deno.osRelease()}`,
    `- ${PY}: ${py}; wrk: ${onPath("wrk") ?? "absent"}`,
    `- commit: ${commit}`,
  ].join("\n");
}

interface Outcome {
  status: "ok" | "failed" | "skipped";
  body: string;
}

/** Runs one benchmark with its stdout captured and its stderr passed through (tail kept). */
async function runOne(e: BenchEntry): Promise<Outcome> {
  const started = new Date();
  const loadBefore = loadavg();
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: e.deno,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const limit = (e.timeoutS ?? 1200) * 1000;
  const term = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
  }, limit);
  const stdoutP = new Response(child.stdout).text();
  const errTail: string[] = [];
  const stderrP = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      await Deno.stderr.write(new TextEncoder().encode(chunk));
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      errTail.push(...lines);
      errTail.splice(0, Math.max(0, errTail.length - 30));
    }
    if (rest) errTail.push(rest);
  })();
  const [status, stdout] = await Promise.all([child.status, stdoutP, stderrP]);
  clearTimeout(term);
  const seconds = (performance.now() - t0) / 1000;
  // deno bench and some scripts colour their output even so; tables must stay plain.
  // deno-lint-ignore no-control-regex
  const out = stdout.replace(/\x1b\[[0-9;]*m/g, "").trim();
  const ok = status.success && !timedOut;
  const lines = [
    `Command: \`${command(e)}\``,
    "",
    `${e.about}. Run ${started.toISOString()}, ${
      seconds.toFixed(0)
    } s, load average ${loadBefore}` +
    ` before, ${loadavg()} after${
      ok ? "" : `; **${timedOut ? `timed out after ${limit / 1000} s` : `exit ${status.code}`}**`
    }.`,
    "",
    e.text && out ? "```text\n" + out + "\n```" : out || "(no output)",
  ];
  if (!ok && errTail.length) {
    lines.push("", "stderr (last lines):", "", "```text", ...errTail.slice(-15), "```");
  }
  return { status: ok ? "ok" : "failed", body: lines.join("\n") };
}

const marker = (name: string) => [`<!-- bench:${name} -->`, `<!-- /bench:${name} -->`];
const section = (name: string, body: string) => {
  const [open, close] = marker(name);
  return `${open}\n## ${name}\n\n${body}\n${close}`;
};

function parseArgs(args: string[]) {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    only: value("--only")?.split(",").map((s) => s.trim()).filter(Boolean),
    out: value("--out") ?? DEFAULT_OUT,
    list: args.includes("--list"),
  };
}

if (import.meta.main) {
  const opts = parseArgs(Deno.args);
  const loadAtStart = loadavg();
  const all = [...BENCHMARKS_LIST, ...discovered(BENCHMARKS_LIST)];
  const unknown = (opts.only ?? []).filter((n) => !all.some((e) => e.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${all.map((e) => e.name)}`);
    Deno.exit(2);
  }
  const chosen = opts.only
    ? all.filter((e) => opts.only!.includes(e.name))
    : all.filter((e) => !e.optIn);

  if (opts.list) {
    for (const e of all) {
      const reason = await skipReason(e);
      const when = e.optIn ? " (opt-in: --only)" : "";
      console.log(`${e.name.padEnd(14)} ${reason ? `skip: ${reason}` : "runs"}${when}`);
      console.log(`${"".padEnd(14)} ${command(e)}`);
    }
    Deno.exit(0);
  }

  const header = [
    "# Benchmark results",
    "",
    "Written by `deno task bench` (bench/run_all.ts); do not edit by hand. Each section is one",
    "benchmark's own markdown output, with its command. The machine may be shared: compare figures",
    "within a section (both sides ran in the same process run), and read the load averages.",
    "",
    `Generated ${new Date().toISOString()}.`,
    "",
    await machine(),
  ].join("\n");

  const sections = new Map<string, string>();
  const summary: [string, string][] = [];
  let failed = 0;
  for (const e of chosen) {
    const reason = await skipReason(e);
    if (reason) {
      console.error(`== ${e.name}: skipped (${reason})`);
      sections.set(
        e.name,
        `Command: \`${command(e)}\`\n\nSkipped ${new Date().toISOString()}: ${reason}.`,
      );
      summary.push([e.name, `| ${e.name} | skipped: ${reason} | |`]);
      continue;
    }
    console.error(`== ${e.name}: ${command(e)}  (load ${loadavg()})`);
    const t0 = performance.now();
    const r = await runOne(e);
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    if (r.status === "failed") failed++;
    console.error(`== ${e.name}: ${r.status} in ${s} s`);
    sections.set(e.name, r.body);
    summary.push([e.name, `| ${e.name} | ${r.status} | ${s} |`]);
  }

  let text: string;
  const previous = exists(opts.out) ? Deno.readTextFileSync(opts.out) : undefined;
  if (opts.only && previous) {
    // Replace the named sections in place; keep the rest (and the header of the full run).
    text = previous;
    for (const [name, body] of sections) {
      const [open, close] = marker(name);
      const a = text.indexOf(open), b = text.indexOf(close);
      const block = section(name, body);
      text = a >= 0 && b > a
        ? text.slice(0, a) + block + text.slice(b + close.length)
        : text.trimEnd() + "\n\n" + block + "\n";
    }
    for (const [name, row] of summary) {
      const line = new RegExp(`^\\| *${name.replace(/[^\w-]/g, "\\$&")} *\\|.*$`, "m");
      // Only the summary table above the first section.
      const first = text.indexOf("\n\n<!-- bench:");
      if (first < 0) continue;
      const top = text.slice(0, first);
      text = (line.test(top) ? top.replace(line, row) : `${top}\n${row}`) + text.slice(first);
    }
    const note = `<!-- partial -->\n\nSections ${[...sections.keys()].join(", ")} regenerated ${
      new Date().toISOString()
    } with \`--only\` (load average at start ${loadAtStart}).\n\n<!-- /partial -->`;
    const span = /<!-- partial -->[\s\S]*?<!-- \/partial -->/;
    text = span.test(text)
      ? text.replace(span, note)
      : text.replace(/^(- commit: .*)$/m, `$1\n\n${note}`);
  } else {
    text = [
      header,
      "",
      "| benchmark | status | seconds |",
      "| --- | --- | --- |",
      ...summary.map(([, row]) => row),
      "",
      ...[...sections].map(([name, body]) => section(name, body) + "\n"),
    ].join("\n");
  }
  Deno.writeTextFileSync(opts.out, text.trimEnd() + "\n");
  // Formatted as the project's `deno fmt` wants it, so that `deno fmt --check` stays clean.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", ROOT + "deno.json", opts.out],
    stdout: "null",
    stderr: "null",
  }).output();
  console.error(`wrote ${opts.out}`);
  if (failed) Deno.exit(1);
}
