/**
 * Forwarding to the GPU origin: a gateway (the dev server, a self-hosted edge) passes requests for
 * routes that run on the origin (volume jobs) through to it, streaming the body both ways so job
 * uploads and Server-Sent Events pass unbuffered.
 */
import { Hono } from "hono";
import { UnavailableError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** Request headers not passed on (hop-by-hop, or set again by fetch). */
const DROP = new Set(["host", "connection", "keep-alive", "transfer-encoding", "content-length"]);

/**
 * Routes that forward every method under each prefix to `origin` (e.g. https://gpu.example.org),
 * keeping path and query. `apiKey`, when given, replaces the caller's key for the origin.
 * @example app.route("/", forwardRoutes("https://gpu.example.org", ["/segment/volume"]))
 */
export function forwardRoutes(
  origin: string,
  prefixes: string[],
  apiKey?: string,
): Hono<AppEnv> {
  const base = new URL(origin);
  const routes = new Hono<AppEnv>();
  const handler = async (c: { req: { raw: Request } }): Promise<Response> => {
    const incoming = new URL(c.req.raw.url);
    const target = new URL(incoming.pathname + incoming.search, base);
    const headers = new Headers();
    c.req.raw.headers.forEach((v, k) => {
      if (!DROP.has(k)) headers.set(k, v);
    });
    if (apiKey) {
      headers.delete("x-api-key");
      headers.set("authorization", `Bearer ${apiKey}`);
    }
    const hasBody = c.req.raw.method !== "GET" && c.req.raw.method !== "HEAD";
    let res: Response;
    try {
      res = await fetch(target, {
        method: c.req.raw.method,
        headers,
        body: hasBody ? c.req.raw.body : undefined,
        redirect: "manual",
        signal: c.req.raw.signal,
        ...(hasBody ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      throw new UnavailableError(
        `the GPU origin at ${base.origin} could not be reached: ${(err as Error).message}`,
        { retry_after: 10 },
      );
    }
    return new Response(res.body, { status: res.status, headers: res.headers });
  };
  for (const p of prefixes) {
    routes.all(p, handler);
    routes.all(`${p}/*`, handler);
  }
  return routes;
}
