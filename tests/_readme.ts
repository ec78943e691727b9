/**
 * README.md's curl examples: how they are found and how one is run as written against the dev
 * server (functions/main.ts on a free port). Shared by tests/readme_test.ts (every example answers
 * 2xx) and bench/service/readme_answers.ts (the answers recorded before and after a change).
 *
 * What the runner changes, and only that: `localhost:8000` -> the server's port; `-o NAME` and a
 * later `@NAME` -> a temporary folder (an output of an earlier example, e.g. mask.png); `<id>` ->
 * the id of the last job an example created; `-sS --max-time`, `-w` appended to read the status
 * and the content type.
 */

export const ROOT = new URL("../", import.meta.url).pathname;
export const DATA_PREFIX = "../shared/data/";

export interface Example {
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

export function exists(path: string): boolean {
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

export function hasCurl(): boolean {
  try {
    return new Deno.Command("curl", { args: ["--version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** The models installed under models/. */
export function installedModels(): Set<string> {
  return new Set(
    [...Deno.readDirSync(`${ROOT}models`)].filter((d) => d.isDirectory).map((d) => d.name),
  );
}

/** The ../shared/data sets an example reads that are not there (a fresh clone): it is skipped. */
export function missingData(ex: Example): string[] {
  return [...ex.command.matchAll(/@(\.\.\/shared\/data\/[^\s'"]+)/g)]
    .map((m) => m[1].split("/").slice(0, 4).join("/"))
    .filter((dataset) => !exists(`${ROOT}${dataset}`));
}

/** The files under ../shared/data an example reads. */
export function dataFiles(ex: Example): string[] {
  return [...ex.command.matchAll(/@(\.\.\/shared\/data\/[^\s'"]+)/g)].map((m) => m[1]);
}

export interface DevServer {
  port: number;
  /** The temporary folder the server runs in and the examples write their `-o` files to. */
  tmp: string;
  stop(): Promise<void>;
}

/**
 * functions/main.ts on a free port, from a cwd outside the checkout and with an environment of
 * its own: the server must not depend on either (another test module may have set MEDIMG_* in
 * this process).
 */
export async function startDevServer(): Promise<DevServer> {
  const tmp = await Deno.makeTempDir({ prefix: "medimg-readme-" });
  const port = freePort();
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
  return {
    port,
    tmp,
    async stop() {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(tmp, { recursive: true });
    },
  };
}

/** What one example answered. */
export interface Answer {
  /** The command as run. */
  cmd: string;
  /** curl's own exit. */
  success: boolean;
  code: number;
  status: number;
  contentType: string;
  /** The answer's body: the `-o` file when the example writes one, else what curl printed. */
  body: Uint8Array;
  /** For failure messages: the command, curl's stderr and the start of what it printed. */
  why: string;
}

const MARK = "\n@@medimg-readme@@";

/**
 * Runs the examples of one README, in order, against one server: `-o` outputs and the last job's
 * id carry from an example to the next ones, as they do for a reader pasting them one by one.
 */
export class ExampleRunner {
  readonly outputs = new Set<string>();
  jobId: string | undefined;

  constructor(readonly server: DevServer) {}

  /** The command as run: see this module's comment. Throws when `<id>` has no job yet. */
  rewrite(ex: Example): string {
    const { port, tmp } = this.server;
    let cmd = ex.command.replaceAll("localhost:8000", `localhost:${port}`);
    cmd = cmd.replace(/(^|\s)-o (\S+)/g, (_, sp, f) => {
      this.outputs.add(f);
      return `${sp}-o ${tmp}/${f}`;
    });
    cmd = cmd.replace(/@([^\s'"]+)/g, (m, f) => this.outputs.has(f) ? `@${tmp}/${f}` : m);
    if (cmd.includes("<id>")) {
      if (!this.jobId) throw new Error("an example uses <id> before any example created a job");
      cmd = cmd.replaceAll("<id>", this.jobId);
    }
    return cmd;
  }

  async run(ex: Example): Promise<Answer> {
    const cmd = this.rewrite(ex);
    const out = await new Deno.Command("bash", {
      args: [
        "-c",
        `${cmd} -sS --max-time 300 -w '${MARK.replace("\n", "\\n")}%{http_code} %{content_type}'`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const marker = new TextEncoder().encode(MARK);
    const at = lastIndexOf(out.stdout, marker);
    const printed = at < 0 ? out.stdout : out.stdout.subarray(0, at);
    const tail = at < 0 ? "" : new TextDecoder().decode(out.stdout.subarray(at + marker.length));
    const [, statusText = "", contentType = ""] = tail.match(/^(\d*) ?(.*)$/s) ?? [];
    const text = new TextDecoder().decode(printed);
    this.jobId = text.match(/"id":"([0-9a-f-]{36})"/)?.[1] ?? this.jobId;
    const o = ex.command.match(/-o (\S+)/)?.[1];
    let body = printed;
    if (o) {
      try {
        body = await Deno.readFile(`${this.server.tmp}/${o}`);
      } catch {
        body = new Uint8Array();
      }
    }
    return {
      cmd,
      success: out.success,
      code: out.code,
      status: Number(statusText),
      contentType: contentType.trim(),
      body,
      why: `${cmd}\n${new TextDecoder().decode(out.stderr)}${text.slice(0, 600)}`,
    };
  }
}

function lastIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = hay.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
