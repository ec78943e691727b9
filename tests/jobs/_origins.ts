/**
 * Origin processes for the job engine tests: `deno run functions/volume.ts` on a free port with the
 * environment a test gives (a KV directory, a Redis URL), the downsampled BraTS case as the form,
 * and the labels of a single-process run (memory engine, ?wait=1) to compare with.
 */
import { assert } from "@std/assert";
import { createApp } from "../../lib/http/mod.ts";
import { JobQueue } from "../../lib/jobs/mod.ts";
import { readNifti } from "../../lib/nifti/mod.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { createVolumeRoutes, type VolumeResult } from "../../functions/volume.ts";
import { downsampled } from "../_brats.ts";

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** A running origin: its base URL, and how to stop it. */
export interface Origin {
  url: string;
  child: Deno.ChildProcess;
  log: () => string;
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Starts functions/volume.ts with `env` and waits until it listens (or throws with its log). */
export async function startOrigin(env: Record<string, string>): Promise<Origin> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-kv",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      "functions/volume.ts",
    ],
    env: { ...env, PORT: String(port), MEDIMG_BACKEND: "wasm", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const read = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) text += dec.decode(chunk, { stream: true });
  };
  const done = Promise.all([read(child.stdout), read(child.stderr)]);
  let killed = false;
  const origin: Origin = {
    url: `http://127.0.0.1:${port}`,
    child,
    log: () => text,
    async kill(signal: Deno.Signal = "SIGTERM") {
      if (!killed) {
        killed = true;
        try {
          child.kill(signal);
        } catch { /* gone */ }
      }
      await child.status;
      await done;
    },
  };
  const until = Date.now() + 60_000;
  while (!text.includes("listening on")) {
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 50)),
    ]);
    if (exited || Date.now() > until) {
      await origin.kill("SIGKILL");
      throw new Error(`the origin did not start:\n${text}`);
    }
  }
  return origin;
}

/** The downsampled case as the volume form. */
export async function caseForm(): Promise<FormData> {
  const f = new FormData();
  for (const m of BRATS_MODALITIES) {
    const { bytes } = await downsampled(m);
    f.append(m, new File([bytes as Uint8Array<ArrayBuffer>], `${m}.nii.gz`));
  }
  return f;
}

/** The query every job of these tests uses. */
export const QUERY = "model=tiny-brats&batch=8";

/** Submits the case to an origin; the job's id. */
export async function submit(origin: Origin): Promise<string> {
  const res = await fetch(`${origin.url}/segment/volume?${QUERY}`, {
    method: "POST",
    body: await caseForm(),
  });
  const body = await res.json();
  assert(res.status === 202, `POST answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

/** A job's JSON view from an origin. */
export async function view(origin: Origin, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin.url}/segment/volume/jobs/${id}?format=json`);
  const body = await res.json();
  assert(res.status === 200, `GET job answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Polls until `ok` holds of the views of `ids` (or throws after `ms` with the last views). */
export async function waitFor(
  origin: Origin,
  ids: string[],
  ok: (views: Record<string, unknown>[]) => boolean,
  ms = 60_000,
): Promise<Record<string, unknown>[]> {
  const until = Date.now() + ms;
  while (true) {
    const views = await Promise.all(ids.map((id) => view(origin, id)));
    if (ok(views)) return views;
    if (Date.now() > until) {
      throw new Error(`timed out waiting: ${JSON.stringify(views)}\n${origin.log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A finished job's label volume from an origin. */
export async function labels(origin: Origin, id: string): Promise<Uint8Array> {
  const res = await fetch(`${origin.url}/segment/volume/jobs/${id}/result`);
  assert(res.status === 200, `GET result answered ${res.status}: ${await res.clone().text()}`);
  return (await readNifti(new Uint8Array(await res.arrayBuffer()))).data as Uint8Array;
}

/** A job's Server-Sent Events from an origin, as [event, data] pairs. */
export async function events(origin: Origin, id: string): Promise<[string, unknown][]> {
  const text = await (await fetch(`${origin.url}/segment/volume/jobs/${id}`)).text();
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const ev: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const i = line.indexOf(":");
      ev[line.slice(0, i)] = line.slice(i + 1).trimStart();
    }
    return [ev.event, JSON.parse(ev.data)];
  });
}

/** The labels of the case segmented in this process with the memory engine (?wait=1). */
export async function singleProcessLabels(root: string): Promise<Uint8Array> {
  const app = createApp().route(
    "/",
    createVolumeRoutes({ modelsRoot: root, queue: new JobQueue<VolumeResult>() }),
  );
  const res = await app.request(`/segment/volume?${QUERY}&wait=1`, {
    method: "POST",
    body: await caseForm(),
  });
  assert(res.status === 200, `wait=1 answered ${res.status}: ${await res.clone().text()}`);
  return (await readNifti(new Uint8Array(await res.arrayBuffer()))).data as Uint8Array;
}

/**
 * Whether the origin stops within `ms` of SIGTERM (its job store's queue listener or Redis
 * connections must not keep it alive).
 */
export async function stopsOnSigterm(origin: Origin, ms = 15_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = await Promise.race([
    origin.kill("SIGTERM").then(() => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), ms)),
  ]);
  clearTimeout(timer);
  return stopped;
}
