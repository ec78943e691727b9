import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { type JobEvent, JobQueue } from "../../lib/jobs/mod.ts";
import {
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
} from "../../lib/errors.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

function brief(ev: JobEvent): string {
  if (ev.type === "state") return ev.state;
  if (ev.type === "progress") return `${ev.stage}:${ev.done ?? ""}/${ev.total ?? ""}`;
  return ev.type;
}

Deno.test("jobs run one at a time in arrival order; events arrive in order and replay", async () => {
  const q = new JobQueue<string>();
  const order: string[] = [];
  const make = (name: string) =>
    q.submit({
      bytes: 10,
      run: async (ctx) => {
        order.push(`start ${name}`);
        ctx.progress("read");
        for (let i = 1; i <= 3; i++) {
          await tick();
          ctx.progress("infer", i, 3);
        }
        order.push(`end ${name}`);
        return name.toUpperCase();
      },
      resultBytes: (r) => r.length,
    });
  const a = make("a"), b = make("b");
  assertEquals(q.get(b.id).state, "queued");
  assertEquals(q.get(b.id).position, 0);
  const live: string[] = [];
  for await (const ev of q.events(a.id)) live.push(brief(ev));
  assertEquals(live, [
    "queued",
    "running",
    "read:/",
    "infer:1/3",
    "infer:2/3",
    "infer:3/3",
    "done",
  ]);
  const done = await q.settled(b.id);
  assertEquals(done.state, "done");
  assertEquals(done.result, "B");
  assertEquals(done.bytes, 1);
  assertEquals(order, ["start a", "end a", "start b", "end b"]);
  // a late listener gets every event again, numbered from 0
  const replay = await Array.fromAsync(q.events(a.id));
  assertEquals(replay.map((e) => e.seq), [0, 1, 2, 3, 4, 5, 6]);
});

Deno.test("bounds: job count and bytes give 503, a job over the byte bound alone 413", async () => {
  const q = new JobQueue<number>({ maxJobs: 2, maxBytes: 100 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = q.submit({ bytes: 60, run: async () => (await gate, 1) });
  assertThrows(() => q.submit({ bytes: 50, run: () => Promise.resolve(2) }), UnavailableError);
  assertThrows(() => q.submit({ bytes: 101, run: () => Promise.resolve(2) }), PayloadTooLargeError);
  const b = q.submit({ bytes: 40, run: () => Promise.resolve(2) });
  assertThrows(() => q.submit({ bytes: 0, run: () => Promise.resolve(3) }), UnavailableError);
  release();
  await q.settled(a.id);
  await q.settled(b.id);
  assertEquals(q.bytes, 0, "finished jobs hold only their results' bytes (none here)");
  assert(q.delete(a.id));
  q.submit({ bytes: 100, run: () => Promise.resolve(4) });
});

Deno.test("finished jobs expire after their time to live", async () => {
  let now = 1_000;
  const q = new JobQueue<number>({ ttlMs: 500, now: () => now });
  const job = q.submit({ bytes: 1, run: () => Promise.resolve(7) });
  const done = await q.settled(job.id);
  assertEquals(done.expiresAt, 1_500);
  now = 1_499;
  assertEquals(q.get(job.id).result, 7);
  now = 1_500;
  const err = assertThrows(() => q.get(job.id), NotFoundError);
  assert(err.message.includes("expired"));
  assertEquals(q.size, 0);
});

Deno.test("a failed job says why; unexpected errors do not leak their message", async () => {
  const q = new JobQueue<number>({ statusOf: () => 422 });
  const bad = q.submit({
    bytes: 1,
    run: () => Promise.reject(new InvalidInputError("t1 is 240x240x155, flair 120x120x78")),
  });
  const f = await q.settled(bad.id);
  assertEquals(f.state, "failed");
  assertEquals(f.error, {
    code: "invalid-input",
    status: 422,
    message: "t1 is 240x240x155, flair 120x120x78",
  });
  assert(f.cause instanceof InvalidInputError);
  const events = await Array.fromAsync(q.events(bad.id));
  assertEquals(events.map(brief), ["queued", "running", "failed"]);
  const boom = q.submit({ bytes: 1, run: () => Promise.reject(new TypeError("secret path /x")) });
  const g = await q.settled(boom.id);
  assertEquals(g.error?.code, "internal");
  assert(!g.error!.message.includes("secret"));
  // the queue goes on
  assertEquals(
    (await q.settled(q.submit({ bytes: 1, run: () => Promise.resolve(1) }).id)).state,
    "done",
  );
});

Deno.test("a job past its run limit is stopped at its next progress report", async () => {
  const q = new JobQueue<number>({ maxRunMs: 20 });
  const job = q.submit({
    bytes: 1,
    run: async (ctx) => {
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 5));
        ctx.progress("infer", i, 100);
      }
      return 1;
    },
  });
  const f = await q.settled(job.id);
  assertEquals(f.state, "failed");
  assertEquals(f.error?.code, "unavailable");
});

Deno.test("unknown ids are 404s", async () => {
  const q = new JobQueue<number>();
  assertThrows(() => q.get("nope"), NotFoundError);
  await assertRejects(() => q.settled("nope"), NotFoundError);
});
