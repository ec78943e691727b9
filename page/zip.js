/**
 * The entries of a dropped zip, so the page can show the slices of a series it sends as a zip:
 * the central directory read from the end record (PKWARE APPNOTE.TXT 4.3.12, 4.3.16), each entry stored
 * (method 0) or deflated (method 8, the browser's DecompressionStream "deflate-raw"). Folders,
 * encrypted entries, zip64 entries and other methods are skipped and counted, not fatal: the
 * server reads the zip itself (lib/dicom/zip.ts), this only feeds the previews.
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
