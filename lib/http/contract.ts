/**
 * What every function's app enforces from its own routes, so that the OpenAPI document and the
 * behaviour cannot drift apart:
 * - a known path asked with a method it does not have: 405 with `Allow` (not 404);
 * - a body whose Content-Type is not one of the media types the route documents: 415 naming them
 *   (without a Content-Type the bytes decide, as RFC 9110 allows; within a documented type the
 *   handlers recognise the image format by its bytes);
 * - `X-Request-Id` on every answer, streamed ones (NDJSON, Server-Sent Events) and errors included;
 * - `GET /health` for platform health checks, on each function started alone too.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { UnsupportedError } from "../errors.ts";
import { mediaType } from "./body.ts";
import { problem } from "./problem.ts";

/** A route path (hono `/a/:id/*` or OpenAPI `/a/{id}`) as a regular expression for a whole path. */
function pathRegex(path: string): RegExp {
  const re = path
    .split(/(:[A-Za-z0-9_]+|\{[A-Za-z0-9_]+\}|\*)/)
    .map((part) =>
      part === "*"
        ? ".*"
        : /^(:\w+|\{\w+\})$/.test(part)
        ? "[^/]+"
        : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
    )
    .join("");
  return new RegExp(`^${re}/?$`);
}

// deno-lint-ignore no-explicit-any
type AnyApp = OpenAPIHono<any>;

/**
 * The methods the app serves at `path` (HEAD wherever GET is: hono answers it from the GET
 * route), sorted; empty when no route matches the path at all.
 * @example allowedMethods(app, "/rle/encode") // ["POST"]
 */
export function allowedMethods(app: AnyApp, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // middleware, and routes that take every method
    if (pathRegex(r.path).test(path)) methods.add(r.method.toUpperCase());
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/** notFound for an app: 405 with Allow for a known path, else `fallback` (the 404 problem). */
export function notFoundOr405(
  app: AnyApp,
  fallback: (c: Context) => Response,
): (c: Context) => Response {
  return (c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length === 0 || allow.includes(c.req.method)) return fallback(c);
    return problem(
      c,
      405,
      `${c.req.method} is not a method of ${c.req.path}; it takes ${allow.join(", ")}`,
      "method-not-allowed",
      { allow: allow.join(", ") },
      { allow: allow.join(", ") },
    );
  };
}

type Declared = { method: string; path: RegExp; types: string[] };

/** The request-body media types each documented route declares, from the app's OpenAPI registry. */
function declaredBodies(app: AnyApp): Declared[] {
  const out: Declared[] = [];
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const content = (def.route.request?.body as { content?: Record<string, unknown> } | undefined)
      ?.content;
    out.push({
      method: def.route.method.toUpperCase(),
      path: pathRegex(def.route.path),
      types: Object.keys(content ?? {}).map((t) => t.toLowerCase()),
    });
  }
  return out;
}

/**
 * The media types the documented route for this request takes as its body, or undefined when the
 * route is not documented (or takes no body).
 */
export function documentedBodyTypes(
  app: AnyApp,
  method: string,
  path: string,
): string[] | undefined {
  const route = declaredBodies(app).find((d) => d.method === method && d.path.test(path));
  return route && route.types.length > 0 ? route.types : undefined;
}

/** Whether `type` is one of `allowed` (an allowed `image/*` takes every image type). */
export function typeAllowed(type: string, allowed: readonly string[]): boolean {
  return allowed.some((a) =>
    a === type || a === "*/*" || (a.endsWith("/*") && type.startsWith(a.slice(0, -1)))
  );
}

/**
 * 415 for a request body declared as a media type its route does not document; the documented
 * types are read from the app's OpenAPI declarations (cached per number of routes).
 */
export function documentedBodyType(app: AnyApp): MiddlewareHandler {
  let cache: { n: number; bodies: Declared[] } | undefined;
  return async (c, next) => {
    const type = mediaType(c);
    if (type === "") return await next(); // no Content-Type: the bytes decide
    const n = app.openAPIRegistry.definitions.length;
    if (cache?.n !== n) cache = { n, bodies: declaredBodies(app) };
    const route = cache.bodies.find((d) => d.method === c.req.method && d.path.test(c.req.path));
    if (!route || route.types.length === 0 || typeAllowed(type, route.types)) return await next();
    throw new UnsupportedError(
      `Content-Type ${
        JSON.stringify(type)
      } is not accepted here (${c.req.method} ${c.req.path}); ` +
        `send ${route.types.join(" or ")}`,
      { field: "content-type", accepted: route.types.join(", ") },
    );
  };
}

/**
 * Puts `X-Request-Id` on answers that were made outside the context (a streamed `new Response`),
 * which hono's request-id middleware cannot reach. Use it outside requestId().
 */
export function requestIdOnEveryAnswer(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const id = c.get("requestId") as string | undefined;
    if (!id || c.res.headers.get("x-request-id")) return;
    try {
      c.res.headers.set("x-request-id", id);
    } catch {
      // immutable headers (a fetched answer): a new answer around the same body stream
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("x-request-id", id);
    }
  };
}
