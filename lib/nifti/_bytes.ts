/** Byte order of the host and in-place byte swapping of multi-byte samples. */

/** True on little-endian hosts (every platform Deno ships for). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Reverses the byte order of each `size`-byte element of `bytes` in place. */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const count = bytes.length / size;
  if (size === 2) {
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) u[i] = (u[i] >>> 8) | (u[i] << 8);
    return;
  }
  const u = new Uint32Array(bytes.buffer, bytes.byteOffset, count * (size / 4));
  const swap = (x: number) =>
    ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
  if (size === 4) {
    for (let i = 0; i < count; i++) u[i] = swap(u[i]);
    return;
  }
  for (let i = 0; i < 2 * count; i += 2) {
    const lo = u[i];
    u[i] = swap(u[i + 1]);
    u[i + 1] = swap(lo);
  }
}
