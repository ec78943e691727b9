/**
 * Zips in the page. Reading: the entries of a dropped zip, so the page can show the slices of a
 * series it sends as a zip: the central directory read from the end record (PKWARE APPNOTE.TXT
 * 4.3.12, 4.3.16), each entry stored (method 0) or deflated (method 8, the browser's
 * DecompressionStream "deflate-raw"). Folders, encrypted entries, zip64 entries and other methods
 * are skipped and counted, not fatal: the server reads the zip itself (lib/dicom/zip.ts), this only
 * feeds the previews. Writing: a folder's files as one zip (deflated by CompressionStream where
 * that is smaller, else stored; CRC-32 as APPNOTE 4.4.7), so a series goes up in fewer bytes:
 * 3D-IRCADb patient 1's 129 slices are 67.8 MB as they are, over the service's 64 MiB body limit.
 */

const u16 = (v, o) => v.getUint16(o, true);
const u32 = (v, o) => v.getUint32(o, true);

/**
 * {entries: [{name, bytes}], skipped: [{name, why}]} of zip bytes; an Error when there is no
 * end record (not a zip).
 * @example (await unzip(bytes)).entries.map((e) => e.name) // ["series/image_0", ...]
 */
export async function unzip(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  // The end record is 22 bytes plus a comment of at most 65535.
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - 65535); o--) {
    if (u32(v, o) === 0x06054b50) {
      end = o;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip: no end of central directory record");
  const count = u16(v, end + 10);
  let o = u32(v, end + 16);
  const entries = [], skipped = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (o + 46 > bytes.length || u32(v, o) !== 0x02014b50) {
      throw new Error(`not a zip: central directory entry ${i} is broken`);
    }
    const flags = u16(v, o + 8), method = u16(v, o + 10);
    const packed = u32(v, o + 20), size = u32(v, o + 24);
    const [nameLen, extraLen, commentLen] = [u16(v, o + 28), u16(v, o + 30), u16(v, o + 32)];
    const local = u32(v, o + 42);
    const name = decoder.decode(bytes.subarray(o + 46, o + 46 + nameLen));
    o += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith("/")) continue;
    const why = flags & 1
      ? "encrypted"
      : packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff
      ? "zip64"
      : method !== 0 && method !== 8
      ? `compression method ${method}`
      : null;
    if (why) {
      skipped.push({ name, why });
      continue;
    }
    const start = local + 30 + u16(v, local + 26) + u16(v, local + 28);
    const data = bytes.subarray(start, start + packed);
    entries.push({ name, bytes: method === 0 ? data.slice() : await inflateRaw(data) });
  }
  return { entries, skipped };
}

async function inflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** CRC-32 (IEEE 802.3, reflected, as zip and gzip use) lookup table. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of bytes, as zip stores it.
 * @example crc32(new TextEncoder().encode("123456789")) // 0xcbf43926
 */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A zip (application/zip Blob) of `entries` ({name, bytes}), names in UTF-8, each deflated where
 * that is smaller, else stored; an Error past what a zip without zip64 holds (65535 entries,
 * 4 GiB).
 * @example await zip([{ name: "series/image_0", bytes }])
 */
export async function zip(entries) {
  if (entries.length > 0xffff) {
    throw new Error(`a zip holds at most 65535 files, not ${entries.length}`);
  }
  const encoder = new TextEncoder();
  const parts = [], central = [];
  let offset = 0;
  for (const { name, bytes } of entries) {
    const nameBytes = encoder.encode(name);
    const packed = await deflateRaw(bytes);
    const [method, data] = packed.length < bytes.length ? [8, packed] : [0, bytes];
    const crc = crc32(bytes);
    const head = new Uint8Array(30 + nameBytes.length);
    const h = new DataView(head.buffer);
    // Local file header: version 2.0, flag 11 (UTF-8 names), DOS date 1980-01-01.
    h.setUint32(0, 0x04034b50, true);
    h.setUint16(4, 20, true);
    h.setUint16(6, 0x0800, true);
    h.setUint16(8, method, true);
    h.setUint16(12, 0x21, true);
    h.setUint32(14, crc, true);
    h.setUint32(18, data.length, true);
    h.setUint32(22, bytes.length, true);
    h.setUint16(26, nameBytes.length, true);
    head.set(nameBytes, 30);
    const entry = new Uint8Array(46 + nameBytes.length);
    const e = new DataView(entry.buffer);
    e.setUint32(0, 0x02014b50, true);
    e.setUint16(4, 20, true);
    e.setUint16(6, 20, true);
    e.setUint16(8, 0x0800, true);
    e.setUint16(10, method, true);
    e.setUint16(14, 0x21, true);
    e.setUint32(16, crc, true);
    e.setUint32(20, data.length, true);
    e.setUint32(24, bytes.length, true);
    e.setUint16(28, nameBytes.length, true);
    e.setUint32(42, offset, true);
    entry.set(nameBytes, 46);
    parts.push(head, data);
    central.push(entry);
    offset += head.length + data.length;
    if (offset > 0xffffffff) throw new Error("a zip without zip64 holds at most 4 GiB");
  }
  const size = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const d = new DataView(end.buffer);
  d.setUint32(0, 0x06054b50, true);
  d.setUint16(8, entries.length, true);
  d.setUint16(10, entries.length, true);
  d.setUint32(12, size, true);
  d.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end], { type: "application/zip" });
}
