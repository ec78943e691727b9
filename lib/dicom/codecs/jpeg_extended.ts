/**
 * JPEG extended, process 2 and 4 (1.2.840.10008.1.2.4.51). 8-bit frames go to libjpeg-turbo as
 * baseline. 12-bit frames go to the IJG libjpeg 6b 12-bit build that DCMTK ships (dcmjs-codecs'
 * wasm), the same library family GDCM uses: on the conformance files it gives GDCM's values
 * exactly. No 12-bit libjpeg-turbo is published for JavaScript, and the pure-JS decoders
 * (jpeg-js, pdf.js) stop at 8 bits; cornerstone's 12-bit jpeg.js is not exported by its package.
 */
import { BadInputError, UnsupportedError } from "../../errors.ts";
import { checkFrameSize, type JpegHeader, readJpegHeader } from "./_codestream.ts";
import { WASM_HEAP_KEEP } from "./_wasm.ts";
import { decodeJpeg8 } from "./jpeg8.ts";
import type { DecodedFrame, FrameInfo } from "./types.ts";

type DcmjsCodecs = typeof import("dcmjs-codecs");

/**
 * IJG warnings that mean the entropy-coded data is damaged or cut short: libjpeg fills the rest
 * with grey and goes on, where libjpeg-turbo (our 8-bit path) stops. Benign ones (extraneous
 * bytes before a marker, JPEG-lossy.dcm's non-conformant SOS) are let through, as GDCM does.
 */
const DAMAGED = [
  "Premature end of JPEG file",
  "Corrupt JPEG data: bad Huffman code",
  "Corrupt JPEG data: premature end of data segment",
  "Corrupt JPEG data: found marker",
];

let loading: Promise<DcmjsCodecs> | undefined;

/** dcmjs-codecs' initial wasm memory (its build's INITIAL_MEMORY). */
const INITIAL_RESERVATION = 256 * 1024 * 1024;

/** dcmjs-codecs, its wasm instantiated once per isolate (and again after a failed decode). */
async function codecs(): Promise<DcmjsCodecs> {
  for (;;) {
    if (!loading) {
      loading = import("dcmjs-codecs").then(async (m) => {
        // A webpack UMD bundle: Deno exposes module.exports as the default export only.
        const api = (m as unknown as { default: DcmjsCodecs }).default;
        // Info messages carry libjpeg's warnings, which decodeJpeg12 reads.
        await api.NativeCodecs.initializeAsync({ logCodecsInfo: true });
        return api;
      });
      loading.catch(() => (loading = undefined));
    }
    const api = await loading;
    // Another request may have dropped the instance while this one waited.
    if (api.NativeCodecs.isInitialized()) return api;
    loading = undefined;
  }
}

/**
 * Decodes one JPEG extended frame, 8- or 12-bit.
 * @example const { data } = await decodeJpegExtended(frame, info) // Uint16Array for 12-bit
 */
export async function decodeJpegExtended(
  encoded: Uint8Array,
  info: FrameInfo,
): Promise<DecodedFrame> {
  const header = readJpegHeader(encoded, "JPEG extended");
  if (header.precision <= 8) {
    return await decodeJpeg8(encoded, header, info);
  }
  if (header.precision !== 12 || header.sof === 0xc3 || header.sof === 0xf7) {
    throw new UnsupportedError(
      `JPEG extended frame has ${header.precision}-bit samples and frame marker FF${
        header.sof.toString(16).toUpperCase()
      }; only 8- and 12-bit DCT frames are JPEG extended`,
      { field: "transfer_syntax" },
    );
  }
  return decodeJpeg12(encoded, header, info);
}

async function decodeJpeg12(
  encoded: Uint8Array,
  header: JpegHeader,
  info: FrameInfo,
): Promise<DecodedFrame> {
  checkFrameSize(header, info, "JPEG extended");
  const api = await codecs();
  const ybr = header.components === 3 && info.photometricInterpretation.startsWith("YBR");
  const context = new api.Context({
    width: header.columns,
    height: header.rows,
    // 12-bit samples are written as 16-bit words whatever the dataset says.
    bitsAllocated: 16,
    bitsStored: 12,
    samplesPerPixel: header.components,
    // Unsigned, so the library never refuses a colour conversion; pixels.ts applies the sign.
    pixelRepresentation: 0,
    planarConfiguration: 0,
    photometricInterpretation: header.components === 3 ? "RGB" : "MONOCHROME2",
    encodedBuffer: encoded,
  });
  const warnings: string[] = [];
  const log = api.log as unknown as { info: (...args: unknown[]) => void };
  const info0 = log.info;
  log.info = (...args: unknown[]) => warnings.push(args.join(" "));
  let decoded: Uint8Array;
  try {
    decoded = api.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: ybr })
      .getDecodedBuffer() as Uint8Array;
  } catch (err) {
    // A JS exception thrown through the wasm stack skips libjpeg's clean-up: start afresh.
    api.NativeCodecs.release();
    loading = undefined;
    const message = (err instanceof Error ? err.message : String(err))
      .replace(/^.*::/, "");
    throw new BadInputError(`JPEG extended frame could not be decoded: ${message}`);
  } finally {
    log.info = info0;
  }
  // As for the other codecs (see WASM_HEAP_KEEP), a heap grown past its initial reservation by a
  // huge frame is let go (this module reserves 256 MiB up front, resident only as touched).
  const memory = (api.NativeCodecs as unknown as {
    wasmApi?: { wasmMemory?: WebAssembly.Memory };
  }).wasmApi?.wasmMemory?.buffer.byteLength ?? 0;
  if (memory > Math.max(WASM_HEAP_KEEP, INITIAL_RESERVATION)) {
    decoded = decoded.slice();
    api.NativeCodecs.release();
    loading = undefined;
  }
  const damage = warnings.find((w) => DAMAGED.some((d) => w.includes(d)));
  if (damage) {
    throw new BadInputError(
      `JPEG extended frame is damaged: ${damage.replace(/^.*::/, "")}`,
    );
  }
  const want = info.rows * info.columns * header.components * 2;
  if (!decoded || decoded.length < want) {
    throw new BadInputError(
      `JPEG extended frame decoded to ${decoded?.length ?? 0} bytes, expected ${want}`,
    );
  }
  return {
    data: new Uint16Array(decoded.buffer, decoded.byteOffset, want / 2),
    photometricInterpretation: ybr ? "RGB" : info.photometricInterpretation,
  };
}
