/**
 * Errors as `application/problem+json` (RFC 9457). Typed library errors map to status codes here,
 * once, for every function; anything unexpected becomes a 500 whose body reveals nothing inside.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  BadInputError,
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  NotFoundError,
  PayloadTooLargeError,
  type ProblemFacts,
  UnavailableError,
  UnsupportedError,
  UpstreamError,
} from "../errors.ts";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Status code for a library error. */
export function statusFor(err: MedimgError): number {
  if (err instanceof BadInputError) return 400;
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof UnsupportedError) return 415;
  if (err instanceof InvalidInputError || err instanceof LimitExceededError) return 422;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof UnavailableError) return 503;
  if (err instanceof UpstreamError) return 502;
  return 500;
}

/** The problem body for a status and detail, with the request's id and extra facts. */
export function problemBody(
  c: Context,
  status: number,
  detail: string,
  code = "about:blank",
  facts: ProblemFacts = {},
): Record<string, unknown> {
  return {
    type: code === "about:blank" ? code : `urn:medimg-edge:problem:${code}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    instance: new URL(c.req.url).pathname,
    request_id: c.get("requestId"),
    ...facts,
  };
}

/** A problem+json response. */
export function problem(
  c: Context,
  status: number,
  detail: string,
  code?: string,
  facts?: ProblemFacts,
  headers: Record<string, string> = {},
): Response {
  const body = problemBody(c, status, detail, code, facts);
  // Set here too: responses made outside the middleware chain (notFound) would otherwise lack it.
  const id: Record<string, string> = body.request_id
    ? { "x-request-id": String(body.request_id) }
    : {};
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...id, ...headers },
  });
}

/** Hono onError: typed errors to their status, HTTP exceptions kept, the rest to an opaque 500. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof MedimgError) {
    const retry = err.facts.retry_after;
    const headers: Record<string, string> = retry == null ? {} : { "retry-after": String(retry) };
    return problem(c, statusFor(err), err.message, err.code, err.facts, headers);
  }
  if (err instanceof HTTPException) {
    return problem(c, err.status, err.message || TITLES[err.status] || "error");
  }
  // Never echo an unexpected error to the caller: it may hold internals or patient data.
  console.error(`[${c.get("requestId")}] unexpected ${err?.name}: ${err?.stack ?? err}`);
  return problem(c, 500, "internal error; the request id identifies it in the server log");
}

/** Hono notFound: a problem body naming the path. */
export function notFound(c: Context): Response {
  return problem(c, 404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}
