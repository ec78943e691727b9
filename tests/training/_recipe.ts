/**
 * What the recipe tests share: whether Debian's PyTorch is here, running a recipe's one command
 * (niced, one thread) into a temporary folder, PyTorch's answer for an image as the service
 * computes it, and one request to /segment/slice with the trained folder as the models root.
 */
import { assert, assertEquals } from "@std/assert";
import { decodePng } from "../../lib/image/png.ts";
import { unloadModels } from "../../lib/models/load.ts";

export const PYTHON = "/usr/bin/python3";
const ROOT = new URL("../../", import.meta.url).pathname;

/** Why the recipe tests cannot run here (no python3 with torch, cv2, pydicom), or undefined. */
export async function withoutTorch(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch, cv2, pydicom"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    return `${PYTHON} lacks torch, cv2 or pydicom (python3-torch, python3-opencv, python3-pydicom)`;
  } catch (err) {
    return `${PYTHON} did not run: ${(err as Error).message}`;
  }
}

/** Runs `deno run -A <script> ...args` from the repository root (niced); throws with its output. */
export async function runCommand(script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("nice", {
    args: ["-n", "10", Deno.execPath(), "run", "-A", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${script} failed:\n${text.slice(-3000)}`);
  return text;
}

/** Runs a Python snippet with training/_shared, reference/ and `dir` importable; its stdout. */
export async function python(code: string, dir: string): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", code],
    cwd: ROOT,
    env: {
      PYTHONPATH: [`${ROOT}training/_shared`, `${ROOT}reference`, `${ROOT}${dir}`].join(":"),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Base64 of little-endian float32s -> Float32Array. */
export function float32s(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64.trim()), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** Little-endian float32 bytes -> Float32Array. */
export function rawFloat32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

/** POSTs `body` to the slice function with `root` as MEDIMG_MODELS_DIR; the response read whole. */
export async function postSlice(
  root: string,
  query: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<{ status: number; type: string | null; headers: Headers; bytes: Uint8Array }> {
  const before = Deno.env.get("MEDIMG_MODELS_DIR");
  Deno.env.set("MEDIMG_MODELS_DIR", root);
  try {
    const { app } = await import("../../functions/slice.ts");
    const res = await app.request(`/segment/slice?${query}`, { method: "POST", body });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      headers: res.headers,
      bytes,
    };
  } finally {
    await unloadModels();
    if (before === undefined) Deno.env.delete("MEDIMG_MODELS_DIR");
    else Deno.env.set("MEDIMG_MODELS_DIR", before);
  }
}

/** The largest absolute difference of two arrays of one length. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * What /segment/slice serves for `dicom` with the trained `model` under `root`: a binary PNG mask of
 * side `side`, probabilities (format=raw&probs=1) within 1e-4 of PyTorch's, and the mask exactly
 * the probabilities over 0.5. Answers the probabilities, the mask and their distance.
 */
export async function servedAsTorch(
  root: string,
  model: string,
  dicom: Uint8Array<ArrayBuffer>,
  torchProbs: Float32Array,
  side: number,
): Promise<{ served: Float32Array; mask: Uint8Array | Uint16Array; diff: number }> {
  const png = await postSlice(root, `model=${model}`, dicom);
  assertEquals(png.status, 200, new TextDecoder().decode(png.bytes));
  assertEquals(png.type, "image/png");
  const mask = await decodePng(png.bytes);
  assertEquals([mask.width, mask.height, mask.channels], [side, side, 1]);
  assert(mask.data.every((v) => v === 0 || v === 255));
  const raw = await postSlice(root, `model=${model}&format=raw&probs=1`, dicom);
  assertEquals(raw.status, 200);
  const served = rawFloat32(raw.bytes);
  const diff = maxDiff(served, torchProbs);
  assert(diff < 1e-4, `served vs PyTorch ${diff}`);
  for (let i = 0; i < served.length; i++) {
    if ((mask.data[i] === 255) !== (served[i] > 0.5)) throw new Error(`pixel ${i}`);
  }
  return { served, mask: mask.data, diff };
}
