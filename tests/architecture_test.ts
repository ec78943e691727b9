/**
 * The module graph keeps its shape: no import cycle among the project's files, and every import
 * points down the layer table below. The graph is Deno's own (`deno info --json`), built once over
 * one root that imports every function and every lib module, so it holds static, type-only and
 * dynamic (`import("...")` with a literal) imports alike; it takes well under a second.
 *
 * What fails, with the offending edges or cycle printed:
 * - a cycle among project files (type-only imports count: they tie the two files as much);
 * - an import from a lower layer to a higher one;
 * - lib/http imported from outside functions/ and lib/http, or reaching tfjs at run time;
 * - functions/rle.ts reaching tfjs or a DICOM codec at run time, dynamic imports included.
 */
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);

/**
 * The layers, highest first: a file may import its own layer and any lower one, never a higher
 * one. Keys are folders (or files) under the repository root; the longest matching key wins.
 */
export const LAYERS: Record<string, number> = {
  // Thin handlers: validated query -> decoded body -> one lib call -> negotiated answer.
  "functions/": 5,
  // Compositions of named steps (segmentSlice, classifyCxr, segmentBrats, ...).
  "lib/pipelines/": 4,
  // The Hono conventions every function is served by; only functions/ may use them (below).
  "lib/http/": 4,
  // Model loading and inference; the one decoder of request bodies.
  "lib/models/": 3,
  "lib/decode/": 3,
  // Formats and image science, no model, no HTTP. lib/jobs is the in-memory job queue.
  "lib/image/": 2,
  "lib/dicom/": 2,
  "lib/nifti/": 2,
  "lib/rle/": 2,
  "lib/jobs/": 2,
  // The typed errors everything throws and lib/http maps once.
  "lib/errors.ts": 1,
};

/** Who may import lib/http: only the functions and lib/http itself. */
const HTTP_USERS = ["functions/", "lib/http/"];

/** npm packages that load tfjs, and the DICOM codecs (wasm and the JPEG lossless decoder). */
const TFJS = /^@tensorflow\//;
const DICOM_CODEC = /^(@cornerstonejs\/|dcmjs-codecs$|jpeg-lossless-decoder-js$)/;

/**
 * Edges known to break the rules, each with why it is allowed; empty, and it should stay so (the
 * last one, lib/models/presets.ts <-> lib/pipelines/*, went when presets moved into pipelines).
 */
const KNOWN: string[] = [];

interface Edge {
  from: string;
  to: string;
  /** False for `import type`: erased at run time, so it loads nothing. */
  runtime: boolean;
  dynamic: boolean;
}

interface Graph {
  /** Project file (path from the root) -> its imports of project files. */
  edges: Map<string, Edge[]>;
  /** Project file -> the npm packages it imports at run time (name@version ids). */
  npm: Map<string, Set<string>>;
  /** npm package id -> its name and the ids it depends on. */
  packages: Map<string, { name: string; dependencies: string[] }>;
}

interface InfoJson {
  modules: {
    specifier: string;
    kind?: string;
    npmPackage?: string;
    error?: string;
    dependencies?: {
      specifier: string;
      code?: { specifier: string };
      type?: { specifier: string };
      isDynamic?: boolean;
    }[];
  }[];
  redirects: Record<string, string>;
  npmPackages: Record<string, { name: string; dependencies: string[] }>;
}

/** The project's entries: every function and every lib module. */
async function entries(): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const path = dir + e.name;
      if (e.isDirectory) await walk(path + "/");
      else if (e.name.endsWith(".ts")) out.push(path);
    }
  }
  await walk("functions/");
  await walk("lib/");
  return out.sort();
}

/** One `deno info --json` over a data: root that imports every entry. */
async function moduleGraph(files: string[]): Promise<Graph> {
  const source = files.map((f) => `import "${new URL(f, ROOT).href}";`).join("\n");
  const root = "data:application/typescript;base64," + btoa(source);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, `deno info failed: ${err}`);
  const info: InfoJson = JSON.parse(new TextDecoder().decode(stdout));
  const broken = info.modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
  assertEquals(broken, [], "modules deno info could not resolve");

  const npmOf = new Map<string, string>();
  for (const m of info.modules) if (m.npmPackage) npmOf.set(m.specifier, m.npmPackage);
  const resolve = (s: string) => info.redirects[s] ?? s;
  const local = (s: string) => s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : undefined;

  const graph: Graph = { edges: new Map(), npm: new Map(), packages: new Map() };
  for (const [id, p] of Object.entries(info.npmPackages)) graph.packages.set(id, p);
  for (const m of info.modules) {
    const from = local(m.specifier);
    if (from === undefined) continue;
    const edges: Edge[] = [];
    const npm = new Set<string>();
    for (const d of m.dependencies ?? []) {
      for (const [target, runtime] of [[d.code, true], [d.type, false]] as const) {
        if (!target) continue;
        const spec = resolve(target.specifier);
        const to = local(spec);
        if (to !== undefined) edges.push({ from, to, runtime, dynamic: d.isDynamic ?? false });
        else if (runtime && npmOf.has(spec)) npm.add(npmOf.get(spec)!);
      }
    }
    graph.edges.set(from, edges);
    graph.npm.set(from, npm);
  }
  return graph;
}

/** The layer of a project file: the longest key of LAYERS it starts with. */
function layerOf(file: string): number {
  const key = Object.keys(LAYERS).filter((k) => file.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  if (key === undefined) throw new Error(`${file} is in no layer: add its folder to LAYERS`);
  return LAYERS[key];
}

const show = (e: Edge) => `${e.from} -> ${e.to}`;

/** Every cycle's files (strongly connected components of more than one file, Tarjan). */
function cycles(edges: Map<string, Edge[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const { to } of edges.get(v) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * The npm packages a file loads at run time (dynamic imports included), through project files and
 * npm dependencies alike: package name -> the project file whose import brings it in.
 */
function runtimePackages(graph: Graph, entry: string): Map<string, string> {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  const pending: [string, string][] = []; // [package id, project file that brings it in]
  while (todo.length) {
    const f = todo.pop()!;
    for (const e of graph.edges.get(f) ?? []) {
      if (e.runtime && !seen.has(e.to)) {
        seen.add(e.to);
        todo.push(e.to);
      }
    }
    for (const id of graph.npm.get(f) ?? []) pending.push([id, f]);
  }
  const names = new Map<string, string>();
  const seenPackages = new Set<string>();
  while (pending.length) {
    const [id, via] = pending.pop()!;
    const p = graph.packages.get(id);
    if (seenPackages.has(id) || !p) continue;
    seenPackages.add(id);
    if (!names.has(p.name)) names.set(p.name, via);
    for (const d of p.dependencies) pending.push([d, via]);
  }
  return names;
}

const files = await entries();
const graph = await moduleGraph(files);
const allEdges = [...graph.edges.values()].flat();
const unknown = (e: Edge) => !KNOWN.includes(show(e));

Deno.test("module graph: every function and lib module is in it", () => {
  const missing = files.filter((f) => !graph.edges.has(f));
  assertEquals(missing, []);
  assert(allEdges.length > 100, `only ${allEdges.length} edges: is the graph read right?`);
});

Deno.test("module graph: every allow-listed edge still exists (else empty it from KNOWN)", () => {
  const stale = KNOWN.filter((k) => !allEdges.some((e) => show(e) === k));
  assertEquals(stale, [], `KNOWN lists edges that are gone:\n${stale.join("\n")}`);
});

Deno.test("module graph: no import cycle among project files", () => {
  const known = new Map<string, Edge[]>();
  for (const [f, es] of graph.edges) known.set(f, es.filter(unknown));
  const found = cycles(known).map((c) =>
    c.join(" <-> ") + "\n    " +
    allEdges.filter((e) => c.includes(e.from) && c.includes(e.to)).map(show).join("\n    ")
  );
  assertEquals(found, [], `import cycles:\n${found.join("\n")}`);
});

Deno.test("module graph: imports point down the layers", () => {
  const up = allEdges.filter((e) => layerOf(e.to) > layerOf(e.from) && unknown(e))
    .map((e) => `${show(e)} (layer ${layerOf(e.from)} -> ${layerOf(e.to)})`);
  assertEquals(up, [], `imports that go up a layer:\n${up.join("\n")}`);
});

Deno.test("module graph: lib/http is used only by functions/", () => {
  const users = allEdges.filter((e) =>
    e.to.startsWith("lib/http/") && !HTTP_USERS.some((u) => e.from.startsWith(u))
  ).map(show);
  assertEquals(users, [], `lib/http imported from outside functions/:\n${users.join("\n")}`);
});

Deno.test("module graph: lib/http never loads tfjs", () => {
  const bad = files.filter((f) => f.startsWith("lib/http/")).flatMap((f) =>
    [...runtimePackages(graph, f)].filter(([name]) => TFJS.test(name))
      .map(([name, via]) => `${f} loads ${name} (imported by ${via})`)
  );
  assertEquals(bad, [], bad.join("\n"));
});

Deno.test("module graph: functions/rle.ts loads neither tfjs nor a DICOM codec", () => {
  const bad = [...runtimePackages(graph, "functions/rle.ts")]
    .filter(([name]) => TFJS.test(name) || DICOM_CODEC.test(name))
    .map(([name, via]) => `functions/rle.ts loads ${name} (imported by ${via})`);
  assertEquals(bad, [], bad.join("\n"));
  // The check must see what it forbids: the model route does load tfjs and dicom a codec.
  assert([...runtimePackages(graph, "functions/slice.ts").keys()].some((n) => TFJS.test(n)));
  assert([...runtimePackages(graph, "functions/dicom.ts").keys()].some((n) => DICOM_CODEC.test(n)));
});
