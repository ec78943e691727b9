/**
 * The pool's worker (lib/models/pool_worker.ts) that dies on a pass for the model named "crash":
 * an uncaught error thrown from its message handler, as a worker killed mid-pass would look to
 * the pool; and that answers an untyped error holding a path for the model named "plain".
 * tests/models/pool_test.ts uses it.
 */
/// <reference lib="deno.worker" />
import "../../lib/models/pool_worker.ts";
import type { PoolRequest } from "../../lib/models/pool.ts";

const real = self.onmessage!;
self.onmessage = (e: MessageEvent<PoolRequest>) => {
  if (e.data.op === "forward" && e.data.name === "crash") {
    throw new Error("this worker was told to crash");
  }
  if (e.data.op === "forward" && e.data.name === "plain") {
    const error = { name: "Error", message: "ENOENT /srv/secret/path" };
    return self.postMessage({ id: e.data.id, ok: false, error });
  }
  return real.call(self as never, e);
};
