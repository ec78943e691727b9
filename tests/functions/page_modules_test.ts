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
