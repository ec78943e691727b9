/**
 * Runs reference/metrics_reference.py on arrays written to a temporary folder (deleted after), for
 * the tests that hold lib/image/metrics.ts and lib/image/surface.ts to it.
 */
const SCRIPT = new URL("../reference/metrics_reference.py", import.meta.url).pathname;

/** Why /usr/bin/python3 cannot run the reference (numpy, scipy), or null when it can. */
export async function metricsPythonMissing(): Promise<string | null> {
  try {
    const { code } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import numpy, scipy.ndimage, scipy.stats"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0 ? null : "python3 lacks numpy or scipy";
  } catch (err) {
    return `/usr/bin/python3 cannot run: ${err instanceof Error ? err.message : err}`;
  }
}

/** The reference's JSON for `mode` with the arrays (written raw, little-endian) and the other args. */
export async function metricsReference<T>(
  mode: "slice" | "labels",
  arrays: (Uint8Array | Float32Array | null)[],
  rest: string[],
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "metrics_ref_" });
  try {
    const paths = await Promise.all(arrays.map(async (a, i) => {
      if (!a) return "-";
      const path = `${dir}/${i}.bin`;
      await Deno.writeFile(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return path;
    }));
    const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [SCRIPT, mode, ...paths, ...rest],
    }).output();
    if (code !== 0) throw new Error(`metrics_reference.py: ${new TextDecoder().decode(stderr)}`);
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts every number of `ours` within `tol` of the reference's, nulls equal, same keys. */
export function assertClose(ours: unknown, ref: unknown, tol = 1e-6, at = ""): void {
  if (typeof ref === "number" && typeof ours === "number") {
    if (!(Math.abs(ours - ref) <= tol)) throw new Error(`${at}: ${ours} here, ${ref} in Python`);
    return;
  }
  if (ref && typeof ref === "object" && ours && typeof ours === "object") {
    const a = Object.keys(ours).sort(), b = Object.keys(ref).sort();
    if (a.join() !== b.join()) throw new Error(`${at}: keys ${a} here, ${b} in Python`);
    for (const k of b) {
      assertClose(
        (ours as Record<string, unknown>)[k],
        (ref as Record<string, unknown>)[k],
        tol,
        `${at}.${k}`,
      );
    }
    return;
  }
  if (ours !== ref) throw new Error(`${at}: ${ours} here, ${ref} in Python`);
}
