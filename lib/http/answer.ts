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

/**
 * NDJSON, one line per pull from `first` then `rest`; a failure after the headers are sent becomes a
 * last line {error}.
 * @example new Response(ndjsonStream(await lines.next(), lines))
 */
export function ndjsonStream<T>(
  first: IteratorResult<T>,
  rest: AsyncGenerator<T>,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let pending: IteratorResult<T> | undefined = first;
  // One line per pull: gathering lines would hold back a streamed (contiguous) answer.
  return new ReadableStream({
    async pull(ctl) {
      try {
        const r = pending ?? await rest.next();
        pending = undefined;
        if (r.done) ctl.close();
        else ctl.enqueue(enc.encode(JSON.stringify(r.value) + "\n"));
      } catch (err) {
        // Headers are gone: the failure becomes the last line, so the caller sees where it stopped.
        ctl.enqueue(enc.encode(JSON.stringify({ error: (err as Error).message }) + "\n"));
        ctl.close();
      }
    },
    async cancel() {
      await rest.return(undefined);
    },
  });
}
