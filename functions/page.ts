/**
 * The dev server's page at `/`: drop a file, pick a function, see the answer as pictures with its
 * numbers. Serves page/ (plain HTML, CSS and native ES modules: no build step, no CDN) with its
 * content type, a strong ETag (304 on If-None-Match) and cache headers: the HTML is revalidated
 * every time, the assets it names carry a content hash (`?v=`) and are cached as immutable; the
 * modules page.js imports (`./viewer.js`, ...) are fetched by their plain URL and revalidated.
 * Mounted only by functions/main.ts; no edge function carries it.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { AppEnv } from "../lib/http/mod.ts";

const DIR = new URL("../page/", import.meta.url);

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "page.js": "text/javascript; charset=utf-8",
  "page.css": "text/css; charset=utf-8",
  // The modules page.js imports: a module script must come as JavaScript or the browser refuses it.
  "viewer.js": "text/javascript; charset=utf-8",
  "downloads.js": "text/javascript; charset=utf-8",
  "models.js": "text/javascript; charset=utf-8",
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

/**
 * The files, read again when one of them changed on disk, so that an edit shows on reload
 * without restarting `deno task dev`. The HTML is rewritten to name each asset with its hash.
 */
async function load(): Promise<Map<string, Asset>> {
  const names = Object.keys(TYPES);
  const stats = await Promise.all(names.map((n) => Deno.stat(new URL(n, DIR))));
  const stamp = stats.map((s) => `${s.mtime?.getTime()}:${s.size}`).join("|");
  if (cache?.stamp === stamp) return cache.assets;
  const assets = new Map<string, Asset>();
  for (const name of names.filter((n) => n !== "index.html")) {
    const body = await Deno.readFile(new URL(name, DIR));
    assets.set(name, { body, type: TYPES[name], hash: await hashOf(body) });
  }
  let html = await Deno.readTextFile(new URL("index.html", DIR));
  for (const [name, a] of assets) {
    html = html.replaceAll(`/page/${name}"`, `/page/${name}?v=${a.hash}"`);
  }
  const body = new TextEncoder().encode(html);
  assets.set("index.html", { body, type: TYPES["index.html"], hash: await hashOf(body) });
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
 * The page routes: GET / and GET /page/<file> for page.js, page.css and the modules page.js imports.
 * @example createApp().route("/", pageRoutes)
 */
export const pageRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const page = (await load()).get("index.html")!;
    c.header("content-security-policy", CSP);
    c.header("referrer-policy", "no-referrer");
    return send(c, page, "no-cache");
  })
  .get("/page/:name", async (c) => {
    const name = c.req.param("name");
    const asset = name === "index.html" ? undefined : (await load()).get(name);
    if (!asset) throw new NotFoundError(`no page asset ${JSON.stringify(name)}`);
    // Only the hash the HTML names is immutable; any other URL revalidates.
    const pinned = c.req.query("v") === asset.hash;
    return send(c, asset, pinned ? "public, max-age=31536000, immutable" : "no-cache");
  });
