/**
 * Optional API-key auth: when MEDIMG_API_KEY is set, a request must carry it as
 * `Authorization: Bearer <key>` or `x-api-key: <key>` (401 otherwise); unset, the service is open,
 * as on a laptop. Keys are compared by their SHA-256 digests in constant time.
 */
import type { MiddlewareHandler } from "hono";
import { problem } from "./problem.ts";

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/** Constant-time equality of two strings (through their digests, so lengths leak nothing). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/**
 * Paths that stay open: health checks for platforms, and the static documents (the page, the API
 * description and its UI), which hold no data; every route that reads input needs the key.
 */
const OPEN_PATHS = new Set(["/health", "/", "/openapi.json", "/docs"]);
const OPEN_PREFIXES = ["/page/", "/docs/"];

function isOpen(c: { req: { path: string; method: string } }): boolean {
  if (c.req.method === "OPTIONS") return true;
  if (c.req.method !== "GET" && c.req.path !== "/health") return false;
  return OPEN_PATHS.has(c.req.path) || OPEN_PREFIXES.some((p) => c.req.path.startsWith(p));
}

/** The auth middleware; `key()` is read per request so the key can rotate without a restart. */
export function apiKeyAuth(key: () => string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const expected = key();
    if (!expected || isOpen(c)) return next();
    const auth = c.req.header("authorization") ?? "";
    const given = auth.toLowerCase().startsWith("bearer ")
      ? auth.slice(7).trim()
      : c.req.header("x-api-key");
    if (given === undefined || given === "" || !(await safeEqual(given, expected))) {
      return problem(
        c,
        401,
        "an API key is required: send Authorization: Bearer <key> or x-api-key: <key>",
        "unauthorized",
        {},
        { "www-authenticate": 'Bearer realm="medimg-edge"' },
      );
    }
    await next();
  };
}
