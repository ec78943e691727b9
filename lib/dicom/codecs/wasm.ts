/**
 * The cornerstonejs emscripten codecs (libjpeg-turbo, CharLS, OpenJPEG) share one shape: a module
 * factory, a decoder class with getEncodedBuffer / decode / getFrameInfo / getDecodedBuffer. Each
 * module is instantiated once per isolate, on first use, from its decode-only wasm build.
 */
import { BadInputError } from "../../errors.ts";

/** What the codecs report about a decoded frame. */
export interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

// deno-lint-ignore no-explicit-any
type Module = any;

/** A lazily instantiated codec module; `reset` drops it after a wasm abort left it unusable. */
export function lazyModule(load: () => Promise<{ default: (opts?: unknown) => Promise<Module> }>) {
  let module: Promise<Module> | undefined;
  return {
    // print/printErr: OpenJPEG logs every decode to stdout, which would fill server logs.
    get: () => (module ??= load().then((m) => m.default({ print: () => {}, printErr: () => {} }))),
    reset: () => (module = undefined),
  };
}

/**
 * Runs `className` of the module on one frame; returns a copy of the decoded bytes and the frame
 * info (and, for CharLS, the interleave mode).
 */
export async function decodeWith(
  lazy: ReturnType<typeof lazyModule>,
  className: string,
  encoded: Uint8Array,
  what: string,
): Promise<{ bytes: Uint8Array; info: WasmFrameInfo; interleave?: number }> {
  const mod = await lazy.get();
  const decoder = new mod[className]();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo() as WasmFrameInfo;
    const decoded = decoder.getDecodedBuffer() as Uint8Array;
    const bytes = new Uint8Array(decoded.length);
    bytes.set(decoded);
    const interleave = typeof decoder.getInterleaveMode === "function"
      ? decoder.getInterleaveMode()
      : undefined;
    return { bytes, info, interleave };
  } catch (err) {
    // An emscripten abort can leave the module broken: start a fresh one next time.
    if (err instanceof WebAssembly.RuntimeError) lazy.reset();
    const m = err instanceof Error
      ? err.message
      : typeof err === "number"
      ? `codec error ${err}`
      : String(err);
    throw new BadInputError(`${what} frame could not be decoded: ${m}`);
  } finally {
    try {
      decoder.delete();
    } catch {
      // already gone with an aborted module
    }
  }
}

/** Bytes to samples of the given width (little-endian, as the codecs write them). */
export function samples(bytes: Uint8Array, bitsPerSample: number): Uint8Array | Uint16Array {
  return bitsPerSample <= 8
    ? bytes
    : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}
