/**
 * The pool's worker (lib/models/pool_worker.ts) that dies on a pass for the model named "crash":
 * an uncaught error thrown from its message handler, as a worker killed mid-pass would look to
 * the pool. tests/models/pool_test.ts uses it.
 */
/// <reference lib="deno.worker" />
import "../../lib/models/pool_worker.ts";
import type { PoolRequest } from "../../lib/models/pool.ts";

const real = self.onmessage!;
self.onmessage = (e: MessageEvent<PoolRequest>) => {
  if (e.data.op === "forward" && e.data.name === "crash") {
    throw new Error("this worker was told to crash");
  }
  return real.call(self, e);
};
