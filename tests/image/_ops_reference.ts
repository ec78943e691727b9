/** The OpenCV fixture of tests/fixtures/make_ops_reference.py, decoded. */
import { readGzipText } from "../_data.ts";
import type { Image } from "../../lib/image/image.ts";

/** Sample types the fixture stores, by numpy name. */
export type DtypeName = "uint8" | "uint16" | "int16" | "float32";

// deno-lint-ignore no-explicit-any
export const ops: any = JSON.parse(
  await readGzipText(new URL("../fixtures/ops_reference.json.gz", import.meta.url).pathname),
);

/** base64 of little-endian samples -> a typed array of `dtype`. */
export function samples(
  b64: string,
  dtype: DtypeName,
): Uint8Array | Uint16Array | Int16Array | Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const buf = bytes.buffer;
  if (dtype === "uint8") return bytes;
  if (dtype === "uint16") return new Uint16Array(buf);
  if (dtype === "int16") return new Int16Array(buf);
  return new Float32Array(buf);
}

/** A fixture case's input image. */
export function inputImage(c: {
  width: number;
  height: number;
  channels: 1 | 3;
  dtype: DtypeName;
  input: string;
}): Image<Uint8Array | Uint16Array | Int16Array | Float32Array> {
  return {
    width: c.width,
    height: c.height,
    channels: c.channels,
    data: samples(c.input, c.dtype),
  };
}

/** Index and values of the first difference, or null; float32 within `rel` relative (and 1e-6 absolute). */
export function firstDifference(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel = 0,
): { i: number; got: number; want: number } | null {
  if (got.length !== want.length) return { i: -1, got: got.length, want: want.length };
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d > 0 && !(rel > 0 && d <= rel * Math.max(Math.abs(want[i]), 1e-2))) {
      return { i, got: got[i], want: want[i] };
    }
  }
  return null;
}

/** SHA-256 of a typed array's little-endian bytes, hex. */
export async function sha256(a: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
