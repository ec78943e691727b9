/**
 * README.md's curl examples, answered: starts the dev server (functions/main.ts) on a free port,
 * runs every example the way tests/readme_test.ts does (tests/_readme.ts finds and runs them) and
 * records, per example, the status, the content type and a hash of the answer, so that a change
 * meant to keep behaviour (a restructuring) can be checked to keep every answer.
 *
 * The hash is SHA-256 of the body as sent, except for JSON (and each line of NDJSON, each JSON
 * `data:` line of an event stream), which is hashed after dropping the fields that differ from run to run by nature: time
 * (timings_ms, load_ms, any *_ms, elapsed/duration, *_at timestamps), ids (id, request_id, job
 * ids, UUIDs anywhere in a string). Response headers are not recorded (X-Request-Id, Server-Timing
 * and Date change every time); the status and content type are.
 *
 *   deno run -A bench/service/readme_answers.ts --out bench/results/readme_answers.after.json
 *   deno run -A bench/service/readme_answers.ts --compare bench/results/readme_answers.before.json
 *       runs them again and prints every example whose status, type or hash differs, or that is
 *       only on one side; exits 1 if any does.
 */
import {
  curlExamples,
  ExampleRunner,
  missingData,
  ROOT,
  startDevServer,
} from "../../tests/_readme.ts";

export interface Recorded {
  line: number;
  command: string;
  status: number;
  content_type: string;
  /** sha256 hex of the body, or of the normalised JSON (see `normalised`). */
  sha256: string;
  bytes: number;
  /** "json", "json-lines" or "event-stream" (each JSON line normalised), or "raw". */
  hashed_as: string;
  /** The normalised JSON itself when it is small (up to 64 kB), so a difference can be shown. */
  json?: unknown;
  skipped?: string;
}

export interface AnswerRecord {
  commit: string;
  date: string;
  examples: Recorded[];
}

const VOLATILE_KEY =
  /^(timings?_ms|load_ms|elapsed(_ms)?|duration(_ms)?|.*_ms|id|ids|request_id|job_id|requestId|jobId|.*_at|created|updated|started|finished|date|time|uptime(_s)?|memory_mb|rss|heap_used|heap_total|external)$/i;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A JSON value without the fields that change from run to run, keys sorted. */
export function normalised(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalised);
  if (v && typeof v === "object") {
    const out: { [k: string]: unknown } = {};
    for (const k of Object.keys(v).sort()) {
      if (VOLATILE_KEY.test(k)) continue;
      out[k] = normalised((v as { [k: string]: unknown })[k]);
    }
    return out;
  }
  if (typeof v === "string") return v.replace(UUID, "<uuid>");
  return v;
}

const JSON_KEPT = 64 * 1024;

/** Where two JSON values differ: up to `most` paths with both values, shortened. */
export function jsonDiff(a: unknown, b: unknown, most = 8, path = "$"): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const out: string[] = [];
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const sub = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`;
      out.push(
        ...jsonDiff(
          (a as { [k: string]: unknown })[k],
          (b as { [k: string]: unknown })[k],
          most - out.length,
          sub,
        ),
      );
      if (out.length >= most) break;
    }
    return out;
  }
  const show = (v: unknown) => {
    const t = JSON.stringify(v) ?? "(absent)";
    return t.length > 160 ? t.slice(0, 157) + "..." : t;
  };
  return [`${path}: ${show(a)} -> ${show(b)}`];
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function hashAnswer(
  contentType: string,
  body: Uint8Array,
): Promise<{ sha256: string; hashed_as: string; json?: unknown }> {
  const text = () => new TextDecoder().decode(body);
  const enc = (s: string) => new TextEncoder().encode(s);
  if (/json/i.test(contentType)) {
    try {
      const json = normalised(JSON.parse(text()));
      const canonical = JSON.stringify(json);
      return {
        sha256: await sha256(enc(canonical)),
        hashed_as: "json",
        ...(canonical.length <= JSON_KEPT ? { json } : {}),
      };
    } catch {
      // not JSON after all: raw
    }
  }
  const ndjson = /ndjson|jsonl/i.test(contentType);
  if (ndjson || /event-stream/i.test(contentType)) {
    const lines = text().split("\n").map((l) => {
      const prefix = ndjson ? "" : "data:";
      if (!l.startsWith(prefix) || (ndjson && !l.trim())) return l.replace(UUID, "<uuid>");
      try {
        return prefix + JSON.stringify(normalised(JSON.parse(l.slice(prefix.length))));
      } catch {
        return l.replace(UUID, "<uuid>");
      }
    });
    return {
      sha256: await sha256(enc(lines.join("\n"))),
      hashed_as: ndjson ? "json-lines" : "event-stream",
    };
  }
  return { sha256: await sha256(body), hashed_as: "raw" };
}

/** Every README example run once against a fresh dev server. */
export async function record(): Promise<AnswerRecord> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const examples = curlExamples(readme);
  const server = await startDevServer();
  const runner = new ExampleRunner(server);
  const out: Recorded[] = [];
  try {
    for (const ex of examples) {
      const base = { line: ex.line, command: ex.command };
      const missing = missingData(ex);
      if (missing.length) {
        out.push({
          ...base,
          status: 0,
          content_type: "",
          sha256: "",
          bytes: 0,
          hashed_as: "",
          skipped: `${missing.join(", ")} not found`,
        });
        continue;
      }
      const a = await runner.run(ex);
      const h = await hashAnswer(a.contentType, a.body);
      out.push({
        ...base,
        status: a.status,
        content_type: a.contentType,
        bytes: a.body.length,
        ...h,
      });
      console.error(`README.md:${ex.line} ${a.status} ${a.contentType} ${h.sha256.slice(0, 12)}`);
    }
  } finally {
    await server.stop();
  }
  const git = await new Deno.Command("git", {
    args: ["rev-parse", "--short", "HEAD"],
    cwd: ROOT,
    stdout: "piped",
  })
    .output();
  return {
    commit: new TextDecoder().decode(git.stdout).trim(),
    date: new Date().toISOString(),
    examples: out,
  };
}

/**
 * The differences between two records, one line each. Examples are matched by command (README
 * lines may move); a command run more than once is matched in order.
 */
export function compare(before: AnswerRecord, after: AnswerRecord): string[] {
  const key = (e: Recorded, n: number) => `${e.command} #${n}`;
  const index = (r: AnswerRecord) => {
    const seen = new Map<string, number>();
    const m = new Map<string, Recorded>();
    for (const e of r.examples) {
      const n = (seen.get(e.command) ?? 0) + 1;
      seen.set(e.command, n);
      m.set(key(e, n), e);
    }
    return m;
  };
  const b = index(before), a = index(after);
  const diffs: string[] = [];
  for (const [k, eb] of b) {
    const ea = a.get(k);
    if (!ea) {
      diffs.push(`only before: README.md:${eb.line} ${eb.command}`);
      continue;
    }
    if (eb.skipped || ea.skipped) {
      if (!!eb.skipped !== !!ea.skipped) {
        diffs.push(
          `README.md:${ea.line} skipped on one side (${eb.skipped ?? ea.skipped}): ${ea.command}`,
        );
      }
      continue;
    }
    for (const f of ["status", "content_type", "sha256"] as const) {
      if (eb[f] !== ea[f]) {
        diffs.push(`README.md:${ea.line} ${f}: ${eb[f]} -> ${ea[f]} (${ea.command.slice(0, 100)})`);
      }
    }
    if (eb.sha256 !== ea.sha256 && eb.json !== undefined && ea.json !== undefined) {
      for (const d of jsonDiff(eb.json, ea.json)) diffs.push(`    ${d}`);
    }
  }
  for (const [k, ea] of a) {
    if (!b.has(k)) diffs.push(`only after: README.md:${ea.line} ${ea.command}`);
  }
  return diffs;
}

if (import.meta.main) {
  const args = Deno.args;
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = opt("--out");
  const against = opt("--compare");
  if (!out && !against) {
    console.error("usage: readme_answers.ts [--out FILE] [--compare BEFORE.json]");
    Deno.exit(2);
  }
  const rec = await record();
  if (out) await Deno.writeTextFile(out, JSON.stringify(rec, null, 2) + "\n");
  if (against) {
    const before: AnswerRecord = JSON.parse(await Deno.readTextFile(against));
    const diffs = compare(before, rec);
    for (const d of diffs) console.log(d);
    console.log(
      diffs.length
        ? `${
          diffs.filter((d) => !d.startsWith(" ")).length
        } difference(s) against ${against} (${before.commit})`
        : `every answer as in ${against} (${before.commit}): ${rec.examples.length} examples`,
    );
    if (diffs.length) Deno.exit(1);
  }
}
