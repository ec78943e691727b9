/**
 * The cornerstonejs emscripten codecs (libjpeg-turbo, CharLS, OpenJPEG) share one shape: a module
 * factory and a decoder class with getEncodedBuffer / decode / getFrameInfo / getDecodedBuffer.
 * Each module is instantiated once per isolate, on first use, from its decode-only wasm build; the
 * emscripten glue finds its .wasm beside itself through Deno's node compatibility, so no
 * locateFile or wasmBinary is needed.
 */
import { BadInputError } from "../../errors.ts";

/**
 * A codec's wasm memory grows to fit the largest frame it has decoded and never shrinks; past this
 * size (the modules start at about 52 MB) the instance is dropped after the decode, so one huge
 * frame does not pin its memory for the life of the isolate. The next decode instantiates afresh
 * (about 30 ms).
 */
export const WASM_HEAP_KEEP = 128 * 1024 * 1024;

/** What the codecs report about a decoded frame. */
export interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

// deno-lint-ignore no-explicit-any
type EmscriptenModule = any;

/** A lazily instantiated codec module. */
export interface LazyModule {
  get(): Promise<EmscriptenModule>;
  /** Drops the instance, after a wasm abort left it unusable. */
  reset(): void;
}

/**
 * A codec module instantiated on first `get()` and kept for the isolate.
 * @example const charls = lazyModule(() => import("@cornerstonejs/codec-charls/decodewasmjs"))
 */
export function lazyModule(
  load: () => Promise<{ default: (opts?: unknown) => Promise<EmscriptenModule> }>,
): LazyModule {
  let module: Promise<EmscriptenModule> | undefined;
  return {
    get() {
      if (!module) {
        // print/printErr: OpenJPEG logs every decode to stdout, which would fill server logs.
        module = load().then((m) => m.default({ print: () => {}, printErr: () => {} }));
        // A failed load (missing .wasm) must not stick: the next call tries again.
        module.catch(() => (module = undefined));
      }
      return module;
    },
    reset() {
      module = undefined;
    },
  };
}

/** The decoded bytes (a copy out of the wasm heap) and what the codec says about them. */
export interface WasmDecoded {
  bytes: Uint8Array;
  info: WasmFrameInfo;
  /** CharLS only: 0 planar (ILV none), 1 line, 2 sample interleaved. */
  interleave?: number;
}

/**
 * Runs `className` of the wasm module on one frame. Every failure, a C++ exception (which emscripten
 * throws as a pointer) or a wasm abort, becomes a BadInputError naming `what`.
 */
export async function decodeWasm(
  lazy: LazyModule,
  className: string,
  encoded: Uint8Array,
  what: string,
): Promise<WasmDecoded> {
  const mod = await lazy.get();
  let decoder: EmscriptenModule;
  try {
    decoder = new mod[className]();
  } catch (err) {
    // The module is in a state where it cannot even construct a decoder (an earlier abort).
    lazy.reset();
    throw new BadInputError(`${what} decoder could not start: ${describe(mod, err)}`);
  }
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo() as WasmFrameInfo;
    // A copy out of the wasm heap, as a plain Uint8Array (libjpeg-turbo's build hands out a
    // Uint8ClampedArray view, which is not one of the image type's arrays).
    const view = decoder.getDecodedBuffer() as ArrayBufferView;
    const bytes = new Uint8Array(view.byteLength);
    bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    const interleave = typeof decoder.getInterleaveMode === "function"
      ? decoder.getInterleaveMode() as number
      : undefined;
    return { bytes, info, interleave };
  } catch (err) {
    // An emscripten abort leaves the module broken: start a fresh one next time.
    if (err instanceof WebAssembly.RuntimeError) lazy.reset();
    throw new BadInputError(`${what} frame could not be decoded: ${describe(mod, err)}`);
  } finally {
    try {
      decoder.delete();
    } catch {
      // already gone with an aborted module
    }
    if ((mod.HEAPU8?.length ?? 0) > WASM_HEAP_KEEP) lazy.reset();
  }
}

/** A message for a codec failure; CharLS's build can read its C++ exception's text. */
function describe(mod: EmscriptenModule, err: unknown): string {
  if (typeof err === "number") {
    if (typeof mod.getExceptionMessage === "function") {
      try {
        // This build's embind binding returns the what() text (emscripten's own returns a pair).
        const got = mod.getExceptionMessage(err) as string | [string, string];
        return Array.isArray(got) ? got[1] || got[0] : got;
      } catch {
        // fall through to the generic text
      }
    }
    return "the codec rejected the codestream";
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Decoded bytes as samples of the codec's width (little-endian, as the codecs write them; the
 * byte length is checked by the caller against the frame size).
 */
export function samples(bytes: Uint8Array, bitsPerSample: number): Uint8Array | Uint16Array {
  return bitsPerSample <= 8
    ? bytes
    : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}

/** Throws unless the codec produced a whole frame of the declared size. */
export function checkDecodedSize(
  info: WasmFrameInfo,
  bytes: Uint8Array,
  expected: { rows: number; columns: number; samplesPerPixel: number },
  what: string,
): void {
  const bytesPerSample = info.bitsPerSample <= 8 ? 1 : 2;
  const want = expected.rows * expected.columns * expected.samplesPerPixel * bytesPerSample;
  if (
    info.width !== expected.columns || info.height !== expected.rows ||
    info.componentCount !== expected.samplesPerPixel || bytes.length < want
  ) {
    throw new BadInputError(
      `${what} frame could not be decoded: the codec returned ${info.width}x${info.height}x${info.componentCount} (${bytes.length} bytes), expected ${expected.columns}x${expected.rows}x${expected.samplesPerPixel}`,
    );
  }
}
