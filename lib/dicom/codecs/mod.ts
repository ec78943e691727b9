/**
 * Frame decoders by transfer syntax, each module loaded on first use (a function that never sees
 * JPEG 2000 never loads OpenJPEG's wasm) and cached per isolate.
 */
import { UnsupportedError } from "../../errors.ts";
import type { FrameDecoder } from "./types.ts";

/** Encapsulated transfer syntaxes we decode, with their names. */
export const ENCAPSULATED: Record<string, string> = {
  "1.2.840.10008.1.2.5": "RLE Lossless",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless Only",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
};

const loaders: Record<string, () => Promise<FrameDecoder>> = {
  "1.2.840.10008.1.2.5": async () => (await import("./rle.ts")).decodeRle,
  "1.2.840.10008.1.2.4.50": async () => (await import("./jpeg_baseline.ts")).decodeJpegBaseline,
  "1.2.840.10008.1.2.4.51": async () => (await import("./jpeg_extended.ts")).decodeJpegExtended,
  "1.2.840.10008.1.2.4.57": async () => (await import("./jpeg_lossless.ts")).decodeJpegLossless,
  "1.2.840.10008.1.2.4.70": async () => (await import("./jpeg_lossless.ts")).decodeJpegLossless,
  "1.2.840.10008.1.2.4.80": async () => (await import("./jpeg_ls.ts")).decodeJpegLs,
  "1.2.840.10008.1.2.4.81": async () => (await import("./jpeg_ls.ts")).decodeJpegLs,
  "1.2.840.10008.1.2.4.90": async () => (await import("./jpeg2000.ts")).decodeJpeg2000,
  "1.2.840.10008.1.2.4.91": async () => (await import("./jpeg2000.ts")).decodeJpeg2000,
  "1.2.840.10008.1.2.8.1": async () => (await import("./deflate_frame.ts")).decodeDeflatedFrame,
};

/**
 * The transfer syntax a codestream's first bytes show (for files whose header names a native
 * syntax over encapsulated pixel data), or undefined.
 */
export function sniffCodec(frame: Uint8Array): string | undefined {
  const b = frame;
  if (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) {
    return "1.2.840.10008.1.2.4.90"; // J2K SOC+SIZ
  }
  if (b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20) {
    return "1.2.840.10008.1.2.4.90"; // JP2 box
  }
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  for (let i = 2; i + 4 < b.length;) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xf7) return "1.2.840.10008.1.2.4.80"; // JPEG-LS SOF55
    if (m === 0xc3) return "1.2.840.10008.1.2.4.70"; // lossless SOF3
    if (m === 0xc0) return "1.2.840.10008.1.2.4.50";
    if (m === 0xc1) return "1.2.840.10008.1.2.4.51";
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return undefined;
}

/**
 * The decoder for a transfer syntax of encapsulated pixel data.
 * @example const decode = await decoderFor("1.2.840.10008.1.2.4.50")
 */
export function decoderFor(transferSyntaxUID: string): Promise<FrameDecoder> {
  const load = loaders[transferSyntaxUID];
  if (!load) {
    throw new UnsupportedError(
      `transfer syntax ${transferSyntaxUID} is not supported for encapsulated pixel data; supported: ${
        Object.entries(ENCAPSULATED).map(([uid, name]) => `${uid} (${name})`).join(", ")
      }`,
      { field: "transfer_syntax" },
    );
  }
  return load();
}
