/**
 * The page's modules (page/*.js, page/panels/*.js) as the browser loads them, without a browser:
 * their static imports are read from the source, and each module the graph reaches is asked of
 * the app (functions/main.ts) by the URL the browser would ask. Pins what a split into native ES
 * modules must keep: every module page.js reaches is served as JavaScript (a module of another
 * type is refused), every imported name is exported where it is imported from, no module is left
 * out of the graph or imports in a circle, nothing is fetched from another origin or by a bare
 * specifier (no import map: the CSP refuses inline scripts), and no request reaches a file outside
 * page/. The browser test (page_test.ts) runs the same modules in chromium.
 */
import { assert, assertEquals } from "@std/assert";
import { app } from "../../functions/main.ts";

const PAGE = new URL("../../page/", import.meta.url);

/** Every .js file under page/, by its path under it. */
async function jsFiles(dir = PAGE, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      out.push(...await jsFiles(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    } else if (e.name.endsWith(".js")) out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

interface Import {
  specifier: string;
  /** The names imported (`run` of `run as rle`), empty for `import "x"` and `import * as`. */
  names: string[];
}

/** The static imports of a module's source: `import {a, b as c} from "x"` and `export ... from`. */
function importsOf(source: string): Import[] {
  const out: Import[] = [];
  const re = /^(?:import|export)\s+(?:([\s\S]*?)\s+from\s+)?["']([^"']+)["'];?$/gm;
  for (const m of source.matchAll(re)) {
    const braces = m[1]?.match(/\{([\s\S]*)\}/)?.[1] ?? "";
    const names = braces.split(",").map((s) => s.trim().split(/\s+as\s+/)[0]).filter(Boolean);
    out.push({ specifier: m[2], names });
  }
  return out;
}

/** The names a module exports by declaration (`export function f`, `export const X`, ...). */
function exportsOf(source: string): Set<string> {
  const re = /^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)/gm;
  return new Set([...source.matchAll(re)].map((m) => m[1]));
}

/** The path under page/ that `specifier`, imported by the module at `from`, names. */
function resolve(from: string, specifier: string): string {
  const base = new URL(`http://page.test/page/${from}`);
  const url = new URL(specifier, base);
  assertEquals(url.origin, base.origin, `${from} imports ${specifier} from another origin`);
  assert(url.pathname.startsWith("/page/"), `${from} imports ${specifier}, outside /page/`);
  return url.pathname.slice("/page/".length);
}

Deno.test("page modules: served as JavaScript, imports found, no cycle, none left out", async () => {
  const files = await jsFiles();
  const sources = new Map<string, string>();
  for (const f of files) sources.set(f, await Deno.readTextFile(new URL(f, PAGE)));

  // The graph from the entry the HTML names, by the URLs the browser would ask.
  const html = await (await app.request("/")).text();
  const entries = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assertEquals(entries.length, 1, "one script: the module page.js");
  assert(/type="module"/.test(entries[0]) && /src="\/page\/page\.js\?v=/.test(entries[0]));
  assert(!/<script\b[^>]*>\s*[^<\s]/.test(html), "no inline script (the CSP refuses it)");

  const edges = new Map<string, string[]>();
  const queue = ["page.js"];
  while (queue.length) {
    const file = queue.shift()!;
    if (edges.has(file)) continue;
    const source = sources.get(file);
    assert(source !== undefined, `${file} is imported but not in page/`);
    const res = await app.request(`/page/${file}`);
    assertEquals(res.status, 200, file);
    assertEquals(res.headers.get("content-type"), "text/javascript; charset=utf-8", file);
    assertEquals(await res.text(), source, `${file} is served as it is on disk`);
    const deps: string[] = [];
    for (const { specifier, names } of importsOf(source)) {
      assert(/^\.\.?\//.test(specifier), `${file}: bare or absolute specifier ${specifier}`);
      const dep = resolve(file, specifier);
      const target = sources.get(dep);
      assert(target !== undefined, `${file} imports ${specifier}: no page/${dep}`);
      const exported = exportsOf(target);
      for (const name of names) assert(exported.has(name), `${file} imports ${name} from ${dep}`);
      deps.push(dep);
      queue.push(dep);
    }
    edges.set(file, deps);
  }
  assertEquals([...edges.keys()].sort(), files, "every module under page/ is reached from page.js");

  // No circle: a depth-first walk never meets a module it is still inside.
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    if (done.has(file)) return;
    assert(!path.includes(file), `import cycle: ${[...path, file].join(" -> ")}`);
    for (const dep of edges.get(file)!) visit(dep, [...path, file]);
    done.add(file);
  };
  for (const f of files) visit(f, []);
});

Deno.test("page modules: the CSP is the strict one, and no request leaves page/", async () => {
  const res = await app.request("/");
  await res.body?.cancel();
  const csp = res.headers.get("content-security-policy") ?? "";
  const directives = new Map(
    csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(" ")]),
  );
  assertEquals(directives.get("script-src"), "'self'", "no inline script, no other origin");
  assertEquals(directives.get("default-src"), "'self'");
  assertEquals(directives.get("object-src"), "'none'");
  assert(!csp.includes("unsafe"), csp);

  for (
    const path of [
      "/page/../deno.json",
      "/page/%2e%2e/deno.json",
      "/page/..%2fdeno.json",
      "/page/panels/",
      "/page/panels/../../functions/page.ts",
      "/page/index.html",
      "/page/panels/nothing.js",
    ]
  ) {
    const r = await app.request(path);
    assertEquals(r.status, 404, path);
    await r.body?.cancel();
  }
  // A module under panels/ is served by its path, revalidated (its URL carries no hash).
  const panel = await app.request("/page/panels/slice.js");
  assertEquals(panel.status, 200);
  assertEquals(panel.headers.get("cache-control"), "no-cache");
  const again = await app.request("/page/panels/slice.js", {
    headers: { "if-none-match": panel.headers.get("etag")! },
  });
  await panel.body?.cancel();
  assertEquals(again.status, 304);
});

// ---------------------------------------------------------------------------------------------
// The series panel's pure modules (page/folder.js, page/series.js, page/zip.js), run under Deno.

/** A FileSystemEntry tree as a drop carries it: directories read in batches of `batch`. */
function fakeEntry(path: string, tree: Record<string, unknown> | string, batch = 2): unknown {
  const name = path.split("/").pop()!;
  if (typeof tree === "string") {
    return {
      isFile: true,
      isDirectory: false,
      name,
      fullPath: `/${path}`,
      file: (ok: (f: File) => void) => ok(new File([tree], name)),
    };
  }
  const children = Object.entries(tree).map(([k, v]) => fakeEntry(`${path}/${k}`, v as never));
  return {
    isFile: false,
    isDirectory: true,
    name,
    fullPath: `/${path}`,
    createReader() {
      let at = 0;
      return {
        readEntries(ok: (e: unknown[]) => void) {
          // Asynchronous, as the browser's: one batch per call, then an empty one.
          setTimeout(() => ok(children.slice(at, at += batch)), 0);
        },
      };
    },
  };
}

Deno.test("page folder.js: a dropped folder's files, all batches, nested, in natural order", async () => {
  const { droppedFiles, filesOfEntries, naturalOrder } = await import("../../page/folder.js");
  const tree = {
    "image_10": "ten",
    "image_2": "two",
    "image_1": "one",
    "MASKS": { "image_0": "m0", "image_11": "m11", "image_3": "m3" },
    "image_0.dcm": "zero",
    "notes": "no extension",
  };
  const files = await filesOfEntries([fakeEntry("case", tree)]);
  assertEquals(files.map((f: { path: string }) => f.path), [
    "case/image_0.dcm",
    "case/image_1",
    "case/image_2",
    "case/image_10",
    "case/MASKS/image_0",
    "case/MASKS/image_3",
    "case/MASKS/image_11",
    "case/notes",
  ]);
  assertEquals(await files[3].file.text(), "ten", "each path carries its own file");
  assertEquals(
    naturalOrder([{ path: "s/image_100" }, { path: "s/image_99" }, { path: "s/image_9" }])
      .map((f: { path: string }) => f.path),
    ["s/image_9", "s/image_99", "s/image_100"],
  );
  // A drop of a folder is read through its entries; a drop of files keeps the files as they came.
  const folderDrop = {
    items: [{ kind: "file", webkitGetAsEntry: () => fakeEntry("case", tree, 100) }],
    files: [],
  };
  assertEquals((await droppedFiles(folderDrop)).length, 8);
  const a = new File(["a"], "b.dcm"), b = new File(["b"], "a.dcm");
  const fileDrop = {
    items: [a, b].map((f) => ({ kind: "file", webkitGetAsEntry: () => fakeEntry(f.name, "x") })),
    files: [a, b],
  };
  assertEquals((await droppedFiles(fileDrop)).map((f: { path: string }) => f.path), [
    "b.dcm",
    "a.dcm",
  ]);
});

Deno.test("page series.js: slice stepping by key stops at the ends; other keys do nothing", async () => {
  const { stepSlice } = await import("../../page/series.js");
  assertEquals(stepSlice(0, "ArrowRight", 3), 1);
  assertEquals(stepSlice(1, "ArrowUp", 3), 2);
  assertEquals(stepSlice(2, "ArrowRight", 3), 2, "not past the last");
  assertEquals(stepSlice(0, "ArrowLeft", 3), 0, "not before the first");
  assertEquals(stepSlice(2, "ArrowDown", 3), 1);
  assertEquals(stepSlice(5, "PageUp", 129), 15);
  assertEquals(stepSlice(5, "PageDown", 129), 0);
  assertEquals(stepSlice(5, "Home", 129), 0);
  assertEquals(stepSlice(5, "End", 129), 128);
  assertEquals(stepSlice(5, "a", 129), null);
  assertEquals(stepSlice(0, "End", 1), 0);
});

Deno.test("page series.js: label colours from the card (sRGB or L*a*b*), else the palette", async () => {
  const { labelStyles, labToRgb, paintSlice, PALETTE } = await import("../../page/series.js");
  const { rgbToCielab } = await import("../../lib/dicom/seg.ts");
  // L*a*b* back to the sRGB it came from, for the colours DICOM SEG carries.
  for (const rgb of [[0, 0, 0], [255, 255, 255], [200, 60, 40], [0, 200, 255], [12, 34, 56]]) {
    assertEquals(labToRgb(rgbToCielab(rgb as [number, number, number])), rgb);
  }
  const card = {
    segments: [
      { label: 1, name: "liver", color: rgbToCielab([200, 60, 40]) },
      { label: 3, name: "vessel", rgb: [0, 200, 255] },
    ],
  };
  const styles = labelStyles(card, [1, 2, 3, 8]);
  assertEquals(styles.get(1), { rgb: [200, 60, 40], name: "liver" });
  assertEquals(styles.get(2), { rgb: PALETTE[1], name: "label 2" });
  assertEquals(styles.get(3), { rgb: [0, 200, 255], name: "vessel" });
  assertEquals(styles.get(8), { rgb: PALETTE[1], name: "label 8" }, "the palette wraps");
  assertEquals(labelStyles(null, [1]).get(1), { rgb: PALETTE[0], name: "label 1" });

  // One 2x2 slice (the second of the volume) painted: grey where unlabelled, the label's colour
  // blended over the grey at the opacity, magenta for a label without a style.
  const labels = Uint8Array.of(1, 1, 1, 1, 0, 1, 3, 9);
  const rgba = new Uint8ClampedArray(16);
  const toByte = (v: number) => v;
  paintSlice(rgba, [10, 20, 30, 40], toByte, labels, 4, styles, 1);
  assertEquals([...rgba], [10, 10, 10, 255, 200, 60, 40, 255, 0, 200, 255, 255, 255, 0, 255, 255]);
  paintSlice(rgba, [10, 20, 30, 40], toByte, labels, 4, styles, 0.5);
  assertEquals([...rgba.subarray(4, 8)], [110, 40, 30, 255]);
  paintSlice(rgba, null, toByte, labels, 4, styles, 0);
  assertEquals([...rgba.subarray(0, 8)], [0, 0, 0, 255, 0, 0, 0, 255], "no pixels yet: black");
});

Deno.test("page series.js: slice z shows the instance nearest the affine's slice z", async () => {
  const { slicePlan } = await import("../../page/series.js");
  // Three slices 2.5 mm apart from z = -10 (LPS), x and y negated into RAS as the NIfTI has them.
  const srow = [[-0.7, 0, 0, 120], [0, -0.7, 0, 100], [0, 0, 2.5, -10]];
  const at = (z: number) => ({ frames: 1, imagePositionPatient: [-120, -100, z] });
  const infos = [at(-5), null, at(-10.0004), at(-7.5)];
  assertEquals(slicePlan(infos, srow, "position", 3), [
    { instance: 2, frame: 0 },
    { instance: 3, frame: 0 },
    { instance: 0, frame: 0 },
  ]);
  // Without positions the service orders by InstanceNumber.
  const byNumber = [{ instanceNumber: 3 }, { instanceNumber: 1 }, null, { instanceNumber: 2 }];
  assertEquals(slicePlan(byNumber, srow, "instance-number", 3).map((s) => s.instance), [1, 3, 0]);
  // One multi-frame instance: its frames in order; a slice without an instance: -1.
  assertEquals(slicePlan([null, { frames: 3 }], null, "position", 3), [
    { instance: 1, frame: 0 },
    { instance: 1, frame: 1 },
    { instance: 1, frame: 2 },
  ]);
  assertEquals(slicePlan([{ instanceNumber: 1 }], null, "instance-number", 2)[1].instance, -1);
});

Deno.test("page zip.js: stored and deflated entries read back, folders skipped", async () => {
  const { zipSync } = await import("fflate");
  const { unzip } = await import("../../page/zip.js");
  const big = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 13);
  const zip = zipSync({
    "series/": new Uint8Array(0),
    "series/image_2": [Uint8Array.of(1, 2, 3), { level: 0 }],
    "series/image_10": [big, { level: 6 }],
  });
  const { entries, skipped } = await unzip(zip);
  assertEquals(entries.map((e: { name: string }) => e.name), ["series/image_2", "series/image_10"]);
  assertEquals(entries[0].bytes, Uint8Array.of(1, 2, 3));
  assertEquals(entries[1].bytes, big);
  assertEquals(skipped, []);
  const notZip = new TextEncoder().encode("not a zip at all, no end record");
  const threw = await unzip(notZip).then(() => false, () => true);
  assert(threw, "bytes without an end record are refused");
});

Deno.test("page zip.js: a zip written in the page reads back here, in the service, in Python", async () => {
  const { crc32, unzip, zip } = await import("../../page/zip.js");
  const { readZipInstances } = await import("../../lib/dicom/zip.ts");
  const { synthCt } = await import("../dicom/_series_fixtures.ts");
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926, "the check value");
  const slices = [10, 2, 1].map((n) =>
    synthCt({ rows: 16, columns: 16, instanceNumber: n, position: [0, 0, n] })
  );
  const random = crypto.getRandomValues(new Uint8Array(300)); // deflate would grow it: stored
  const entries = [
    { name: "CT série/image_10", bytes: slices[0] },
    { name: "CT série/image_2", bytes: slices[1] },
    { name: "CT série/image_1", bytes: slices[2] },
    { name: "CT série/noise.bin", bytes: random },
  ];
  const bytes = new Uint8Array(await (await zip(entries)).arrayBuffer());
  assert(bytes.length < slices.reduce((n, s) => n + s.length, 0) + 300, "deflated where it pays");
  const back = (await unzip(bytes)).entries;
  assertEquals(back.map((e: { name: string }) => e.name), entries.map((e) => e.name));
  back.forEach((e: { bytes: Uint8Array }, i: number) => assertEquals(e.bytes, entries[i].bytes));
  // The service's reader (fflate): the DICOM entries in natural path order, the noise skipped.
  const read = readZipInstances(bytes).instances;
  assertEquals(read.map((i) => i.bytes), [slices[2], slices[1], slices[0]]);
  // Python's zipfile checks every CRC and the UTF-8 names.
  const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".zip" });
  try {
    await Deno.writeFile(path, bytes);
    const script = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); " +
      "print(z.testzip(), *[i.compress_type for i in z.infolist()], z.namelist()[0])";
    const { code, stdout } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", script, path],
    })
      .output();
    assertEquals(code, 0);
    assertEquals(new TextDecoder().decode(stdout).trim(), "None 8 8 8 0 CT série/image_10");
  } finally {
    await Deno.remove(path);
  }
});
