/**
 * Encoders the tests use to make JPEG and TIFF bodies from real images: JPEG by libjpeg-turbo's
 * own encoder (the full build of the codec package lib/dicom already pins), TIFF as the plainest
 * baseline file (one uncompressed strip, TIFF 6.0 §3).
 */

interface TurboEncoder {
  getDecodedBuffer(info: {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  }): Uint8Array;
  setQuality(lossless: boolean, quality: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
}

/** An 8-bit JPEG (grey or RGB interleaved) at `quality`. */
export async function encodeJpeg(
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 = 1,
  quality = 95,
): Promise<Uint8Array<ArrayBuffer>> {
  const mod = await import("@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs");
  const factory = ((mod as { default?: unknown }).default ?? mod) as () => Promise<{
    JPEGEncoder: new () => TurboEncoder;
  }>;
  const codec = await factory();
  const enc = new codec.JPEGEncoder();
  enc.getDecodedBuffer({
    width,
    height,
    bitsPerSample: 8,
    componentCount: channels,
    isSigned: false,
  })
    .set(data);
  enc.setQuality(false, quality);
  enc.encode();
  return Uint8Array.from(enc.getEncodedBuffer());
}

/** An uncompressed 8-bit grey little-endian TIFF. */
export function encodeGreyTiff(
  data: Uint8Array,
  width: number,
  height: number,
): Uint8Array<ArrayBuffer> {
  const entries: [number, number, number][] = [
    [256, 4, width],
    [257, 4, height],
    [258, 3, 8],
    [259, 3, 1], // no compression
    [262, 3, 1], // BlackIsZero
    [273, 4, 0], // strip offset, set below
    [277, 3, 1],
    [278, 4, height],
    [279, 4, data.length],
  ];
  const offset = 8 + 2 + entries.length * 12 + 4;
  entries[5][2] = offset;
  const out = new Uint8Array(offset + data.length);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  v.setUint32(4, 8, true);
  v.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, value], i) => {
    const p = 10 + i * 12;
    v.setUint16(p, tag, true);
    v.setUint16(p + 2, type, true);
    v.setUint32(p + 4, 1, true);
    if (type === 3) v.setUint16(p + 8, value, true);
    else v.setUint32(p + 8, value, true);
  });
  out.set(data, offset);
  return out;
}
