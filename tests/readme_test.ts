/**
 * README.md's curl examples, run as written: every `curl` line of its ```sh blocks goes through
 * bash from the repository root against the dev server (functions/main.ts, on a free port instead
 * of 8000), with real `curl`, and must answer 2xx. So the README cannot rot.
 *
 * What the runner changes, and only that: `localhost:8000` -> the server's port; `-o NAME` and a
 * later `@NAME` -> a temporary folder (an output of an earlier example, e.g. mask.png); `<id>` ->
 * the id of the last job an example created; `-sS --max-time`, `-w` appended to read the status.
 * An example marked `# needs a NAME model` whose model is not installed is checked to answer the
 * 404 the README shows instead (the first one against the pasted body); one that reads a missing
 * ../shared/data file is skipped with the reason printed. Anything else that fails, fails.
 */
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;
const DATA_PREFIX = "../shared/data/";

interface Example {
  line: number;
  command: string;
  needsModel?: string;
}

/** The curl commands of README's ```sh blocks, continuation lines joined, with their comments. */
export function curlExamples(readme: string): Example[] {
  const out: Example[] = [];
  const lines = readme.split("\n");
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith("```")) {
      inSh = !inSh && l.trim() === "```sh";
      continue;
    }
    if (!inSh) continue;
    const start = i;
    let text = l;
    while (text.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      text = text.trimEnd().slice(0, -1) + " " + lines[++i].trim();
    }
    const { code, comment } = splitComment(text.trim());
    if (!code.startsWith("curl ")) continue;
    const needs = comment.match(/needs an? ([\w.-]+) model/);
    out.push({ line: start + 1, command: code, needsModel: needs?.[1] });
  }
  return out;
}

/** Splits a shell line at its first `#` comment outside quotes. */
function splitComment(s: string): { code: string; comment: string } {
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]))) {
      return { code: s.slice(0, i).trim(), comment: s.slice(i + 1).trim() };
    }
  }
  return { code: s, comment: "" };
}

Deno.test("README: the curl examples are found, each with a real file or none", () => {
  const ex = curlExamples(Deno.readTextFileSync(`${ROOT}README.md`));
  assert(ex.length >= 30, `only ${ex.length} curl examples found`);
  for (const e of ex) {
    // No placeholder file names: every @file is real data, or an output of an earlier example.
    for (const [, f] of e.command.matchAll(/@([^\s'"]+)/g)) {
      assert(
        f.startsWith(DATA_PREFIX) ||
          ex.some((o) => o.line < e.line && o.command.includes(`-o ${f}`)),
        `README.md:${e.line}: @${f} is neither under ${DATA_PREFIX} nor made by an earlier example`,
      );
    }
  }
  assertEquals(
    ex.filter((e) => e.needsModel).map((e) => e.needsModel),
    ["ct-liver", "ct-liver", "cxr-pneumothorax", "ct-liver"],
  );
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function hasCurl(): boolean {
  try {
    return new Deno.Command("curl", { args: ["--version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const CURL = hasCurl();
if (!CURL) console.log("skipping the README examples: no curl on PATH");

/** The problem body pasted under "Without the model" in README.md. */
function readme404(readme: string): Record<string, unknown> {
  const block = readme.match(/```text\nHTTP\/1\.1 404 Not Found\n[^\n]*\n\n([\s\S]*?)```/);
  assert(block, "README.md shows no 404 answer");
  return JSON.parse(block[1]);
}

Deno.test({
  name: "README: every curl example runs as written against the dev server and answers 2xx",
  ignore: !CURL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const readme = await Deno.readTextFile(`${ROOT}README.md`);
    const examples = curlExamples(readme);
    const installed = new Set(
      [...Deno.readDirSync(`${ROOT}models`)].filter((d) => d.isDirectory).map((d) => d.name),
    );
    const tmp = await Deno.makeTempDir({ prefix: "medimg-readme-" });
    const port = freePort();
    // A cwd outside the checkout and an environment of its own: the server must not depend on
    // either (another test module may have set MEDIMG_* in this process).
    const env: Record<string, string> = { PORT: String(port), NO_COLOR: "1" };
    for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        `--config=${ROOT}deno.json`,
        `${ROOT}functions/main.ts`,
      ],
      cwd: tmp,
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    while (!log.includes("listening")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the dev server exited before listening: ${log}`);
      log += value;
    }
    reader.releaseLock();
    server.stdout.pipeTo(new WritableStream()).catch(() => {});

    const outputs = new Set<string>();
    let jobId: string | undefined;
    let first404 = true;
    try {
      for (const ex of examples) {
        // A data set that is not there (a fresh clone) skips; a data set that is there without
        // the file named is a wrong path in README.md, and fails below.
        const missing = [...ex.command.matchAll(/@(\.\.\/shared\/data\/[^\s'"]+)/g)]
          .map((m) => m[1].split("/").slice(0, 4).join("/"))
          .filter((dataset) => !exists(`${ROOT}${dataset}`));
        const label = `README.md:${ex.line} ${ex.command.slice(0, 90)}`;
        if (missing.length) {
          console.log(`skipping ${label}: ${missing.join(", ")} not found`);
          await t.step({ name: label, ignore: true, fn: () => {} });
          continue;
        }
        const absent = ex.needsModel && !installed.has(ex.needsModel);
        await t.step(label, async () => {
          let cmd = ex.command.replaceAll("localhost:8000", `localhost:${port}`);
          cmd = cmd.replace(/(^|\s)-o (\S+)/g, (_, sp, f) => {
            outputs.add(f);
            return `${sp}-o ${tmp}/${f}`;
          });
          cmd = cmd.replace(/@([^\s'"]+)/g, (m, f) => outputs.has(f) ? `@${tmp}/${f}` : m);
          if (cmd.includes("<id>")) {
            assert(jobId, "an example uses <id> before any example created a job");
            cmd = cmd.replaceAll("<id>", jobId);
          }
          for (const [, f] of ex.command.matchAll(/@(\.\.\/shared\/data\/[^\s'"]+)/g)) {
            assert(exists(`${ROOT}${f}`), `README.md:${ex.line}: no such file ${f}`);
          }
          const out = await new Deno.Command("bash", {
            args: ["-c", `${cmd} -sS --max-time 300 -w '\\n@@status=%{http_code}'`],
            cwd: ROOT,
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stdout = new TextDecoder().decode(out.stdout);
          const status = Number(stdout.match(/@@status=(\d+)\s*$/)?.[1]);
          const why = `${cmd}\n${new TextDecoder().decode(out.stderr)}${stdout.slice(0, 600)}`;
          jobId = stdout.match(/"id":"([0-9a-f-]{36})"/)?.[1] ?? jobId;
          if (absent) {
            console.log(`README.md:${ex.line} needs a ${ex.needsModel} model, not installed: 404`);
            assertEquals(status, 404, why);
            if (first404) {
              // The first one's problem body is the one README.md pastes.
              first404 = false;
              const o = ex.command.match(/-o (\S+)/)?.[1];
              const body = JSON.parse(
                o ? await Deno.readTextFile(`${tmp}/${o}`) : stdout.replace(/@@status=\d+\s*$/, ""),
              );
              const shown = readme404(readme);
              for (const k of ["type", "title", "status", "detail", "instance", "model"]) {
                assertEquals(body[k], shown[k], `README's 404 body, ${k}`);
              }
            }
            return;
          }
          assert(out.success, `curl failed (${out.code}): ${why}`);
          assert(status >= 200 && status < 300, `status ${status}: ${why}`);
        });
      }
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
