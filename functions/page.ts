/**
 * The dev server's page at `/`: drop a file, pick a function, see the answer as pictures with its
 * numbers. Serves page/ (plain HTML, CSS and native ES modules: no build step, no CDN) with its
 * content type, a strong ETag (304 on If-None-Match) and cache headers: the HTML is revalidated
 * every time, the assets it names carry a content hash (`?v=`) and are cached as immutable; the
 * modules page.js imports (`./api.js`, `./panels/slice.js`, ...) are fetched by their plain URL and
 * revalidated. Every .js, .css and .html file under page/ is served, by its path under page/ only:
 * a request names a file of that list or gets 404, so no path leaves the folder.
 * Mounted only by functions/main.ts; no edge function carries it.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { AppEnv } from "../lib/http/mod.ts";

const DIR = new URL("../page/", import.meta.url);

/**
 * Content types by extension. A module script must come as JavaScript or the browser refuses it,
 * so each module page.js imports, directly or not, is served as text/javascript.
 */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/**
 * The page may talk to its own origin only; images and download links are blob: URLs made from
 * answers, which may be read back (connect-src blob:) as the page test does to check each link.
 */
const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  body: Uint8Array;
  type: string;
  /** Hex SHA-256 prefix of the body: the ETag and the `?v=` of the assets. */
  hash: string;
}

let cache: { stamp: string; assets: Map<string, Asset> } | undefined;

async function hashOf(body: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>));
  return Array.from(d.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

function typeOf(name: string): string | undefined {
  return TYPES[name.slice(name.lastIndexOf("."))];
}

/** The servable files under page/ by their path under it (`page.js`, `panels/slice.js`), sorted. */
async function list(dir = DIR, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".")) continue;
    if (e.isDirectory) names.push(...await list(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    else if (e.isFile && typeOf(e.name)) names.push(`${prefix}${e.name}`);
  }
  return names.sort();
}

/**
 * The files, read again when one of them changed, came or went on disk, so that an edit shows
 * on reload without restarting `deno task dev`. The HTML is rewritten to name each asset with its
 * hash.
 */
async function load(): Promise<Map<string, Asset>> {
  const names = await list();
  const stats = await Promise.all(names.map((n) => Deno.stat(new URL(n, DIR))));
  const stamp = names.map((n, i) => `${n}:${stats[i].mtime?.getTime()}:${stats[i].size}`).join("|");
  if (cache?.stamp === stamp) return cache.assets;
  const assets = new Map<string, Asset>();
  for (const name of names.filter((n) => n !== "index.html")) {
    const body = await Deno.readFile(new URL(name, DIR));
    assets.set(name, { body, type: typeOf(name)!, hash: await hashOf(body) });
  }
  let html = await Deno.readTextFile(new URL("index.html", DIR));
  for (const [name, a] of assets) {
    html = html.replaceAll(`/page/${name}"`, `/page/${name}?v=${a.hash}"`);
  }
  const body = new TextEncoder().encode(html);
  assets.set("index.html", { body, type: TYPES[".html"], hash: await hashOf(body) });
  cache = { stamp, assets };
  return assets;
}

function send(c: Context<AppEnv>, a: Asset, cacheControl: string): Response {
  const etag = `"${a.hash}"`;
  const headers: Record<string, string> = {
    "etag": etag,
    "cache-control": cacheControl,
    "x-content-type-options": "nosniff",
  };
  const match = c.req.header("if-none-match");
  if (match && match.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
    return c.body(null, 304, headers);
  }
  return c.body(a.body as Uint8Array<ArrayBuffer>, 200, { ...headers, "content-type": a.type });
}

/**
 * The page routes: GET / and GET /page/<path> for page.js, page.css and the modules page.js
 * imports (`/page/panels/volume.js`).
 * @example createApp().route("/", pageRoutes)
 */
export const pageRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const page = (await load()).get("index.html")!;
    c.header("content-security-policy", CSP);
    c.header("referrer-policy", "no-referrer");
    return send(c, page, "no-cache");
  })
  .get("/page/:path{.+}", async (c) => {
    const path = c.req.param("path");
    // index.html is served at / only, rewritten, with its CSP.
    const asset = path === "index.html" ? undefined : (await load()).get(path);
    if (!asset) throw new NotFoundError(`no page asset ${JSON.stringify(path)}`);
    // Only the hash the HTML names is immutable; any other URL revalidates.
    const pinned = c.req.query("v") === asset.hash;
    return send(c, asset, pinned ? "public, max-age=31536000, immutable" : "no-cache");
  });
