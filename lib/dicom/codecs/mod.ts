/**
 * Frame decoders by transfer syntax (names as in PS3.6 Annex A). Each codec module is imported on
 * first use, so a function that never sees JPEG 2000 never loads OpenJPEG's wasm, and kept for the
 * isolate with its initialised codec.
 */
import { UnsupportedError } from "../../errors.ts";
import type { FrameDecoder } from "./types.ts";

/** Transfer syntaxes whose encapsulated frames we decode, with their PS3.6 names. */
export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.5": "RLE Lossless",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70":
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless Image Compression",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless) Image Compression",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
};

/** Native (not encapsulated) transfer syntaxes: their pixel data is plain bytes. */
const NATIVE: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2": "Implicit VR Little Endian",
  "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
};

/** Encapsulated syntaxes we know by name but do not decode, for the error message. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.1.98": "Encapsulated Uncompressed Explicit VR Little Endian",
  "1.2.840.10008.1.2.4.55": "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (Retired)",
  "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component Image Compression",
  "1.2.840.10008.1.2.4.94": "JPIP Referenced",
  "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.100.1": "Fragmentable MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
  "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
  "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
  "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
  "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
  "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
  "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
  "1.2.840.10008.1.2.4.112": "JPEG XL",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.202":
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000 Image Compression",
};

const loaders: Readonly<Record<string, () => Promise<FrameDecoder>>> = {
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

const cache = new Map<string, Promise<FrameDecoder>>();

/**
 * The PS3.6 name of a transfer syntax, or undefined for one we do not know.
 * @example transferSyntaxName("1.2.840.10008.1.2.4.50") // "JPEG Baseline (Process 1)"
 */
export function transferSyntaxName(uid: string): string | undefined {
  return SUPPORTED_TRANSFER_SYNTAXES[uid] ?? NATIVE[uid] ?? UNSUPPORTED[uid];
}

/**
 * Whether a transfer syntax stores pixel data encapsulated (as fragments, PS3.5 A.4): every syntax
 * but the four native ones, unknown ones included, since PS3.5 requires any other encoding to be
 * encapsulated.
 * @example isEncapsulated("1.2.840.10008.1.2.5") // true
 */
export function isEncapsulated(uid: string): boolean {
  return !(uid in NATIVE);
}

/**
 * The decoder for a transfer syntax of encapsulated pixel data, its module loaded on first use and
 * kept; UnsupportedError (415) for any other syntax.
 * @example const decode = await decoderFor("1.2.840.10008.1.2.4.50"); await decode(frame, info)
 */
export async function decoderFor(transferSyntaxUID: string): Promise<FrameDecoder> {
  const load = loaders[transferSyntaxUID];
  if (!load) {
    const name = transferSyntaxName(transferSyntaxUID);
    throw new UnsupportedError(
      `transfer syntax ${transferSyntaxUID} is not supported${
        name ? ` (${name})` : ""
      } for encapsulated pixel data; supported: ${
        Object.entries(SUPPORTED_TRANSFER_SYNTAXES).map(([uid, n]) => `${uid} (${n})`).join(", ")
      }`,
      { field: "transfer_syntax", transfer_syntax: transferSyntaxUID },
    );
  }
  let decoder = cache.get(transferSyntaxUID);
  if (!decoder) {
    decoder = load();
    cache.set(transferSyntaxUID, decoder);
    // A module that failed to load is tried again next time.
    decoder.catch(() => cache.delete(transferSyntaxUID));
  }
  return await decoder;
}

/**
 * The transfer syntax a codestream's first bytes show, for files whose header names a native
 * syntax over encapsulated pixel data, or undefined.
 * @example sniffCodec(Uint8Array.of(0xff, 0x4f, 0xff, 0x51)) // "1.2.840.10008.1.2.4.90"
 */
export function sniffCodec(frame: Uint8Array): string | undefined {
  const b = frame;
  if (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) {
    return "1.2.840.10008.1.2.4.90"; // J2K SOC+SIZ
  }
  if (b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20) {
    return "1.2.840.10008.1.2.4.90"; // JP2 signature box
  }
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  for (let i = 2; i + 4 < b.length;) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xf7) return "1.2.840.10008.1.2.4.80"; // JPEG-LS SOF55
    if (m === 0xc3) return "1.2.840.10008.1.2.4.70"; // lossless SOF3
    if (m === 0xc0) return "1.2.840.10008.1.2.4.50";
    if (m === 0xc1 || m === 0xc2) return "1.2.840.10008.1.2.4.51";
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return undefined;
}
