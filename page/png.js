/**
 * PNG made in the browser. A JPEG in is decoded by the browser and sent as a PNG, since the mammo
 * and cxr functions read DICOM and PNG. Those functions work on grey images, so the JPEG (often
 * stored as RGB) becomes grey by the luma weights Pillow's convert("L") uses.
 */
import { MEDIA } from "./api.js";

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** 8-bit grey (1 channel) or RGB (3) pixels as a PNG blob, deflated by CompressionStream. */
export async function encodePng(pixels, width, height, channels) {
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const zlib = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const chunk = (type, data) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  const sig = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Blob(
    [sig, chunk("IHDR", ihdr), chunk("IDAT", zlib), chunk("IEND", new Uint8Array())],
    {
      type: "image/png",
    },
  );
}

/** A JPEG (or any image the browser decodes) as a grey PNG of the same size. */
export async function jpegToGreyPng(file) {
  const bitmap = await createImageBitmap(file);
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const rgba = g.getImageData(0, 0, width, height).data;
  const grey = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < grey.length; i += 4, j++) {
    grey[j] = (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >>> 16;
  }
  return await encodePng(grey, width, height, 1);
}

/** The request body for a grey-image function and its media type. */
export async function greyBodyOf(entry) {
  if (entry.kind === "jpeg") return { body: await jpegToGreyPng(entry.file), type: "image/png" };
  return { body: entry.file, type: MEDIA[entry.kind] ?? "application/octet-stream" };
}
