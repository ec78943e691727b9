/** The OpenCV fixture of tests/fixtures/make_image_reference.py, decoded. */
import { readGzipText } from "../_data.ts";

export interface MaskCase {
  width: number;
  height: number;
  [k: string]: unknown;
}

// deno-lint-ignore no-explicit-any
export const reference: any = JSON.parse(
  await readGzipText(new URL("../fixtures/image_reference.json.gz", import.meta.url).pathname),
);

/** base64 -> bytes. */
export function bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** base64 of little-endian uint16 -> Uint16Array. */
export function u16(b64: string): Uint16Array {
  return new Uint16Array(bytes(b64).buffer);
}
