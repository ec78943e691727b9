/**
 * A long-lived Python reference for side-by-side benchmarks: one child process that answers each
 * line sent to its stdin with one JSON line, so both sides take turns on the same (shared) CPU.
 */

/** The reference process: `ask` sends a line and parses the answer; `close` ends it. */
export interface PythonReference {
  /** The JSON line the script prints first, on its own (e.g. its versions). */
  first: unknown;
  ask<T>(line: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts `/usr/bin/python3 <args>` and reads its first JSON line.
 * @example const py = await startPython(["bench/compare/cxr_reference.py", dir]); await py.ask("time 5")
 */
export async function startPython(args: string[]): Promise<PythonReference> {
  const child = new Deno.Command("/usr/bin/python3", {
    args,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let pending = "";
  async function readLine(): Promise<string> {
    while (!pending.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the Python reference stopped");
      pending += value;
    }
    const at = pending.indexOf("\n"), line = pending.slice(0, at);
    pending = pending.slice(at + 1);
    return line;
  }
  const first = JSON.parse(await readLine());
  return {
    first,
    async ask<T>(line: string): Promise<T> {
      await writer.write(new TextEncoder().encode(line + "\n"));
      return JSON.parse(await readLine()) as T;
    },
    async close() {
      await writer.close();
      await child.status;
    },
  };
}
