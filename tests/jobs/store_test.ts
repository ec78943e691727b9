/**
 * The job store API (lib/jobs/store.ts) and its Deno KV engine (lib/jobs/kv.ts) in one process:
 * results with their byte arrays split out and put back, typed failures thrown again as what
 * they were, the bounds' 413 and 503, ids of another kind not found, deletion with its files, and
 * a job left running by a closed engine re-run (attempt 2) by the next one on the directory.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";

const assertInstanceOf = (v: unknown, C: abstract new (...a: never[]) => unknown) =>
  assert(v instanceof C, `${v} is not a ${C.name}`);
import {
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
} from "../../lib/errors.ts";
import {
  errorOf,
  type JobEvent,
  type JobRunner,
  joinBlobs,
  splitBlobs,
} from "../../lib/jobs/mod.ts";
import { closeKvEngine, openKvEngine, type StoreBounds } from "../../lib/jobs/kv.ts";
import { statusFor } from "../../lib/http/problem.ts";

const bounds: StoreBounds = {
  maxJobs: 4,
  maxBytes: 1000,
  ttlMs: 60_000,
  maxRunMs: 60_000,
  statusOf: statusFor,
};

interface Out {
  bytes: Uint8Array;
  summary: { n: number; parts: Uint8Array[] };
}

/** Doubles every input byte; params.fail makes it throw a typed error. */
const runner: JobRunner<Out> = async ({ params, inputs }, ctx) => {
  if (params.fail) throw new InvalidInputError("the input is wrong", { field: "x" });
  const x = inputs.x;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1));
    ctx.progress("work", i + 1, 3);
  }
  return { bytes: x.map((v) => v * 2), summary: { n: x.length, parts: [x.slice(0, 1), x] } };
};

const brief = (e: JobEvent) =>
  e.type === "state" ? e.state : e.type === "progress" ? `${e.stage}:${e.done}` : e.type;

Deno.test("splitBlobs and joinBlobs: byte arrays out as named blobs, and back", () => {
  const value = { a: new Uint8Array([1, 2]), b: [{ c: new Uint8Array([3]) }, 4, "s", null] };
  const { json, blobs } = splitBlobs(value);
  assertEquals(json, { a: { $blob: "b0" }, b: [{ c: { $blob: "b1" } }, 4, "s", null] });
  assertEquals(Object.keys(blobs), ["b0", "b1"]);
  assertEquals(joinBlobs(JSON.parse(JSON.stringify(json)), blobs), value);
});

Deno.test("errorOf: a stored failure is thrown again as its library error, else as internal", () => {
  const e = errorOf({ code: "invalid-input", message: "m", facts: { field: "x" } });
  assertInstanceOf(e, InvalidInputError);
  assertEquals([e.message, (e as InvalidInputError).facts], ["m", { field: "x" }]);
  const other = errorOf({ code: "internal", message: "boom" });
  assert(!(other instanceof InvalidInputError));
  assertEquals(other.message, "boom");
});

Deno.test({
  name: "KV engine: result, events, typed failure, bounds, other kinds, delete",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "kv_store_test_" });
    try {
      const engine = await openKvEngine(dir);
      const store = engine.store("t", runner, bounds);
      const other = engine.store("u", runner, bounds);
      const input = new Uint8Array([1, 2, 3]);
      const job = await store.submit({ kind: "t", params: {}, inputs: { x: input }, bytes: 3 });
      assertEquals([job.state, job.attempts], ["queued", 0]);
      const done = await store.settled(job.id);
      assertEquals(done.state, "done");
      assertEquals(done.attempts, 1);
      assertEquals(done.result, {
        bytes: new Uint8Array([2, 4, 6]),
        summary: { n: 3, parts: [new Uint8Array([1]), input] },
      });
      assertEquals((await store.get(job.id)).result, undefined, "get leaves the result out");
      const evs = await Array.fromAsync(store.events(job.id));
      assertEquals(evs.map(brief), ["queued", "running", "work:1", "work:2", "work:3", "done"]);
      assertEquals(evs.map((e) => e.seq), [0, 1, 2, 3, 4, 5]);
      await assertRejects(() => other.get(job.id), NotFoundError);

      const bad = await store.submit({ kind: "t", params: { fail: true }, inputs: {}, bytes: 1 });
      const failed = await store.settled(bad.id);
      assertEquals(failed.state, "failed");
      assertEquals(failed.error, {
        code: "invalid-input",
        message: "the input is wrong",
        status: 422,
        facts: { field: "x" },
      });
      assertInstanceOf(failed.cause, InvalidInputError);

      await assertRejects(
        () => store.submit({ kind: "t", params: {}, inputs: {}, bytes: 1001 }),
        PayloadTooLargeError,
      );
      await store.submit({ kind: "t", params: {}, inputs: { x: input }, bytes: 1 });
      await store.submit({ kind: "t", params: {}, inputs: { x: input }, bytes: 1 });
      await assertRejects(
        () => store.submit({ kind: "t", params: {}, inputs: {}, bytes: 1 }),
        UnavailableError,
        "queue is full",
      );

      assertEquals(await store.delete(job.id), true);
      await assertRejects(() => store.get(job.id), NotFoundError);
      assert(!(await Array.fromAsync(Deno.readDir(`${dir}/blobs`))).some((e) => e.name === job.id));
    } finally {
      await closeKvEngine(dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "KV engine: a job left running by a closed engine runs again (attempt 2) on reopening",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "kv_store_test_" });
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => started = r);
      const stuck: JobRunner<Out> = () => {
        started();
        return new Promise(() => {}); // the process "dies" here
      };
      const first = (await openKvEngine(dir)).store("t", stuck, bounds);
      const x = new Uint8Array([5]);
      const job = await first.submit({ kind: "t", params: {}, inputs: { x }, bytes: 1 });
      await running;
      assertEquals((await first.get(job.id)).state, "running");
      const next = await first.submit({ kind: "t", params: {}, inputs: { x }, bytes: 1 });
      assertEquals((await first.get(next.id)).position, 0, "next in line");
      await closeKvEngine(dir);

      const second = (await openKvEngine(dir)).store("t", runner, bounds);
      const done = await second.settled(job.id);
      assertEquals([done.state, done.attempts], ["done", 2]);
      assertEquals(done.result!.bytes, new Uint8Array([10]));
      assertEquals((await second.settled(next.id)).state, "done", "the waiting job ran too");
      const evs = await Array.fromAsync(second.events(job.id));
      assertEquals(evs.filter((e) => e.type === "state"), [
        { seq: 0, type: "state", state: "queued", at: evs[0].at },
        { seq: 1, type: "state", state: "running", at: evs[1].at },
        { seq: 2, type: "state", state: "queued", reason: "restart", at: evs[2].at },
        { seq: 3, type: "state", state: "running", attempt: 2, at: evs[3].at },
      ]);
    } finally {
      await closeKvEngine(dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
