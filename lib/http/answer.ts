/** Binary answers (PNG, raw pixels) with their media type and any extra headers. */
import type { Context } from "hono";

/**
 * A 200 with `data` as the body.
 * @example return sendBytes(c, png, "image/png")
 */
export function sendBytes(
  c: Context,
  data: Uint8Array,
  type: string,
  headers: Record<string, string> = {},
): Response {
  return c.body(data as Uint8Array<ArrayBuffer>, 200, { "content-type": type, ...headers });
}
