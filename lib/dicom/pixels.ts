/**
 * DICOM pixels: one frame's stored values (what pydicom's `pixel_array` gives: BitsStored masked,
 * signed per PixelRepresentation), then the pixel pipeline of PS3.3 C.7.6.3 / C.11: Modality LUT
 * (RescaleSlope/Intercept; CT becomes Hounsfield units), MONOCHROME1 inverted so bright means dense,
 * optional VOI window (C.11.2.1.2 linear function), YBR_FULL / YBR_FULL_422 to RGB (C.7.6.3.1.2).
 * Encapsulated frames go to the codec of their transfer syntax, loaded only when first needed.
 */
import dicomParser from "dicom-parser";
import { BadInputError, InvalidInputError, LimitExceededError } from "../errors.ts";
import { type Image, interleavePlanes } from "../image/image.ts";
import { windowTo8 } from "../image/grey8.ts";
import type { DecodedFrame, FrameInfo } from "./codecs/types.ts";
import {
  type DataSet,
  DEFAULT_INFLATE_LIMIT,
  DEFLATED_LE,
  type DicomMeta,
  EXPLICIT_BE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  parseDataSet,
  readMeta,
} from "./parse.ts";

export type { Image } from "../image/image.ts";

/** Stored values of one frame, before the Modality LUT. */
export interface StoredFrame {
  data: Image["data"];
  photometricInterpretation: string;
}

/** Default largest declared pixel data: Rows x Columns x Frames x Samples x bytes (512 MiB). */
export const DEFAULT_PIXEL_LIMIT = 512 * 1024 * 1024;

const NATIVE = new Set([IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE]);

/** Throws unless the frame geometry is decodable and its declared size is under `limit` bytes. */
export function checkGeometry(meta: DicomMeta, limit = DEFAULT_PIXEL_LIMIT): void {
  const { rows, columns, frames, samplesPerPixel: spp, bitsAllocated: ba } = meta;
  if (meta.problems.length) {
    throw new InvalidInputError(`the image header is unreadable: ${meta.problems.join("; ")}`);
  }
  if (!rows || !columns) {
    throw new InvalidInputError("dataset has no image: Rows or Columns is missing or 0");
  }
  if (![1, 8, 16, 32, 64].includes(ba)) {
    throw new InvalidInputError(`BitsAllocated ${ba} is not supported (1, 8, 16, 32 or 64)`);
  }
  if (spp !== 1 && spp !== 3) {
    throw new InvalidInputError(`SamplesPerPixel ${spp} is not supported (1 or 3)`);
  }
  if (meta.bitsStored < 1 || meta.bitsStored > ba) {
    throw new InvalidInputError(`BitsStored ${meta.bitsStored} does not fit BitsAllocated ${ba}`);
  }
  const bytes = (rows * columns * frames * spp * ba) / 8;
  if (bytes > limit) {
    throw new LimitExceededError(
      `declared pixel data ${rows}x${columns}x${frames} frames x ${spp} samples x ${ba} bits = ${
        Math.ceil(bytes)
      } bytes is over the limit of ${limit}`,
      { limit },
    );
  }
}

function frameInfo(meta: DicomMeta): FrameInfo {
  return {
    rows: meta.rows,
    columns: meta.columns,
    bitsAllocated: meta.bitsAllocated,
    bitsStored: meta.bitsStored,
    pixelRepresentation: meta.pixelRepresentation,
    samplesPerPixel: meta.samplesPerPixel,
    photometricInterpretation: meta.photometricInterpretation,
    planarConfiguration: meta.planarConfiguration,
  };
}

function pixelElement(ds: DataSet) {
  const el = ds.elements.x7fe00010 ?? ds.elements.x7fe00008 ?? ds.elements.x7fe00009;
  if (!el) throw new InvalidInputError("dataset has no Pixel Data (7FE0,0010)");
  return el;
}

/** Bytes of one native frame, or of the whole element for 1-bit data (frames share bytes). */
function nativeBytes(ds: DataSet, meta: DicomMeta, frame: number): Uint8Array {
  const el = pixelElement(ds);
  const { rows, columns, samplesPerPixel: spp, bitsAllocated: ba, frames } = meta;
  const ybr422 = meta.photometricInterpretation === "YBR_FULL_422";
  const frameBytes = ybr422 ? rows * columns * 2 : (rows * columns * spp * ba) / 8;
  const needed = Math.ceil(frameBytes * frames);
  if (el.length < needed || el.dataOffset + el.length > ds.byteArray.length) {
    throw new BadInputError(
      `pixel data holds ${
        Math.min(el.length, ds.byteArray.length - el.dataOffset)
      } bytes but Rows x Columns x frames needs ${needed} (truncated file?)`,
    );
  }
  if (ba === 1) return ds.byteArray.subarray(el.dataOffset, el.dataOffset + needed);
  const start = el.dataOffset + frameBytes * frame;
  return ds.byteArray.slice(start, start + frameBytes); // a copy: aligned, and swappable in place
}

function typedNative(
  bytes: Uint8Array,
  meta: DicomMeta,
  frame: number,
  bigEndian: boolean,
  float: boolean,
): Image["data"] {
  const { bitsAllocated: ba, pixelRepresentation: pr } = meta;
  if (ba === 1) {
    const n = meta.rows * meta.columns * meta.samplesPerPixel;
    const out = new Uint8Array(n);
    // Bits are packed across frames, least significant bit first (PS3.5 8.1.1).
    for (let i = 0, bit = frame * n; i < n; i++, bit++) out[i] = (bytes[bit >> 3] >> (bit & 7)) & 1;
    return out;
  }
  if (ba === 8) return pr ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes;
  const size = ba / 8;
  if (bigEndian) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  if (ba === 16) return pr ? new Int16Array(bytes.buffer) : new Uint16Array(bytes.buffer);
  if (ba === 32) {
    return float
      ? new Float32Array(bytes.buffer)
      : pr
      ? new Int32Array(bytes.buffer)
      : new Uint32Array(bytes.buffer);
  }
  return Float32Array.from(new Float64Array(bytes.buffer)); // 64-bit: Double Float Pixel Data
}

/** YBR_FULL_422 (Y1 Y2 Cb Cr per pixel pair) expanded to YBR_FULL interleaved. */
function expand422(bytes: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0; p + 1 < pixels + 1 && i + 3 < bytes.length; p += 2, i += 4) {
    const [y1, y2, cb, cr] = [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
    out.set([y1, cb, cr], 3 * p);
    if (p + 1 < pixels) out.set([y2, cb, cr], 3 * p + 3);
  }
  return out;
}

/**
 * Masks values to BitsStored and sign-extends them when PixelRepresentation is 1, in the type the
 * values need (signed types for signed data). Float data is returned as is.
 */
export function applyBitsStored(
  data: Image["data"],
  bitsStored: number,
  signed: boolean,
): Image["data"] {
  if (data instanceof Float32Array) return data;
  const width = data.BYTES_PER_ELEMENT * 8;
  const isSignedType = data instanceof Int8Array || data instanceof Int16Array ||
    data instanceof Int32Array;
  if (bitsStored >= width && signed === isSignedType) return data;
  const out = signed
    ? width === 8
      ? new Int8Array(data.length)
      : width === 16
      ? new Int16Array(data.length)
      : new Int32Array(data.length)
    : width === 8
    ? new Uint8Array(data.length)
    : width === 16
    ? new Uint16Array(data.length)
    : new Uint32Array(data.length);
  if (bitsStored >= 32) {
    out.set(data as ArrayLike<number> as Int32Array);
    return out;
  }
  const mask = 2 ** bitsStored - 1, sign = 2 ** (bitsStored - 1), range = 2 ** bitsStored;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] & mask;
    out[i] = signed && v >= sign ? v - range : v;
  }
  return out;
}

/**
 * The stored values of one frame (pydicom `pixel_array` semantics).
 * @example const { data } = await readStoredFrame(ds, readMeta(ds), 0)
 */
export async function readStoredFrame(
  ds: DataSet,
  meta: DicomMeta,
  frame: number,
  limit = DEFAULT_PIXEL_LIMIT,
): Promise<StoredFrame> {
  checkGeometry(meta, limit);
  if (!Number.isInteger(frame) || frame < 0 || frame >= meta.frames) {
    throw new InvalidInputError(
      `frame ${frame} does not exist: the image has ${meta.frames} frame(s), numbered from 0`,
      {
        field: "frame",
      },
    );
  }
  const ts = meta.transferSyntaxUID ?? IMPLICIT_LE;
  const el = pixelElement(ds);
  const pixels = meta.rows * meta.columns;
  let decoded: DecodedFrame;
  if (!el.encapsulatedPixelData) {
    const bytes = nativeBytes(ds, meta, frame);
    if (meta.photometricInterpretation === "YBR_FULL_422" && meta.bitsAllocated === 8) {
      decoded = { data: expand422(bytes, pixels), photometricInterpretation: "YBR_FULL" };
    } else {
      let data = typedNative(
        bytes,
        meta,
        frame,
        ts === EXPLICIT_BE && meta.bitsAllocated > 8,
        el.tag === "x7fe00008",
      );
      if (meta.samplesPerPixel === 3 && meta.planarConfiguration === 1) {
        data = interleavePlanes(data, pixels);
      }
      decoded = { data, photometricInterpretation: meta.photometricInterpretation };
    }
  } else {
    if (ds.warnings.some((w) => w.includes("x7fe00010") && w.includes("delimiter"))) {
      throw new BadInputError(
        "encapsulated pixel data ends without its sequence delimiter: the file is truncated",
      );
    }
    const encoded = encapsulatedFrame(ds, el, meta, frame);
    const { decoderFor, sniffCodec } = await import("./codecs/mod.ts");
    // Some writers name a native syntax over encapsulated data; the codestream tells the truth.
    const decode = await decoderFor(NATIVE.has(ts) ? sniffCodec(encoded) ?? ts : ts);
    decoded = await decode(encoded, frameInfo(meta));
    const expected = pixels * meta.samplesPerPixel;
    if (decoded.data.length < expected) {
      throw new BadInputError(
        `frame ${frame} decoded to ${decoded.data.length} samples, expected ${expected} (corrupt codestream?)`,
      );
    }
    if (decoded.data.length > expected) {
      decoded = { ...decoded, data: decoded.data.subarray(0, expected) as Image["data"] };
    }
  }
  return {
    data: meta.bitsAllocated === 1
      ? decoded.data
      : applyBitsStored(decoded.data, meta.bitsStored, meta.pixelRepresentation === 1),
    photometricInterpretation: decoded.photometricInterpretation,
  };
}

type PixelElement = ReturnType<typeof pixelElement>;

/** The compressed bytes of one frame, whatever the fragment layout (PS3.5 A.4). */
function encapsulatedFrame(
  ds: DataSet,
  el: PixelElement,
  meta: DicomMeta,
  frame: number,
): Uint8Array {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new BadInputError("encapsulated pixel data has no fragments");
  try {
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
      return dicomParser.readEncapsulatedImageFrame(ds, el, frame) as Uint8Array;
    }
    if (meta.frames === 1) {
      return dicomParser.readEncapsulatedPixelDataFromFragments(
        ds,
        el,
        0,
        fragments.length,
      ) as Uint8Array;
    }
    if (fragments.length === meta.frames) {
      return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frame, 1) as Uint8Array;
    }
    // No offset table and several fragments per frame: frames end at an EOI/EOC marker (FFD9),
    // which JPEG and JPEG 2000 codestreams share.
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    return dicomParser.readEncapsulatedImageFrame(ds, el, frame, table) as Uint8Array;
  } catch (err) {
    throw new BadInputError(
      `frame ${frame} could not be read from the encapsulated pixel data: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
}

/** The range a frame's stored values can take, from BitsStored and PixelRepresentation. */
function storedRange(meta: DicomMeta): [number, number] {
  const bs = Math.min(meta.bitsStored, 32);
  return meta.pixelRepresentation ? [-(2 ** (bs - 1)), 2 ** (bs - 1) - 1] : [0, 2 ** bs - 1];
}

/**
 * Modality LUT: stored * slope + intercept, kept in the stored type when it is the identity, in
 * Int16 when the frame's values stay integral and fit, else Float32.
 */
export function applyRescale(data: Image["data"], slope: number, intercept: number): Image["data"] {
  if (slope === 1 && intercept === 0) return data;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < min) min = data[i];
    if (data[i] > max) max = data[i];
  }
  const lo = min * slope + intercept, hi = max * slope + intercept;
  const integral = Number.isInteger(slope) && Number.isInteger(intercept) &&
    !(data instanceof Float32Array);
  const out = integral && Math.min(lo, hi) >= -32768 && Math.max(lo, hi) <= 32767
    ? new Int16Array(data.length)
    : new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] * slope + intercept;
  return out;
}

/** A VOI window (PS3.3 C.11.2.1.2): centre and width in modality units. */
export interface Window {
  center: number;
  width: number;
}

/**
 * The dataset's own VOI window (first WindowCenter/WindowWidth), or why it cannot be used: absent,
 * or a width under 1 (3D-IRCADb ships WindowWidth 0), which PS3.3 C.11.2.1.2 does not allow.
 * @example datasetWindow(meta) // { window: { center: 40, width: 400 }, unusable: null }
 */
export function datasetWindow(
  meta: Pick<DicomMeta, "windowCenter" | "windowWidth">,
): { window: Window | null; unusable: string | null } {
  const { windowCenter: center, windowWidth: width } = meta;
  if (center === null || width === null) return { window: null, unusable: "no dataset window" };
  if (!Number.isFinite(center) || !(width >= 1)) {
    return { window: null, unusable: `dataset window width ${width} unusable` };
  }
  return { window: { center, width }, unusable: null };
}

/**
 * Applies a VOI linear window to 8-bit output (0-255).
 * @example applyWindow(hu, { center: 40, width: 400 })
 */
export function applyWindow(data: Image["data"], w: Window): Uint8Array {
  if (!(w.width >= 1)) {
    throw new InvalidInputError(`window width must be at least 1, got ${w.width}`, {
      field: "window_width",
    });
  }
  return windowTo8(data, w);
}

/** YBR_FULL to RGB (PS3.3 C.7.6.3.1.2), 8-bit interleaved, in place. */
export function ybrFullToRgb(data: Uint8Array): Uint8Array {
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let i = 0; i < data.length; i += 3) {
    const y = data[i], cb = data[i + 1] - 128, cr = data[i + 2] - 128;
    data[i] = clamp(y + 1.402 * cr);
    data[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp(y + 1.772 * cb);
  }
  return data;
}

/** Options of {@link decodeDicom}. */
export interface DecodeOptions {
  /** Frame index from 0 (default 0). */
  frame?: number;
  /** Apply RescaleSlope/Intercept (default true). */
  rescale?: boolean;
  /** Invert MONOCHROME1 so bright means dense (default true). */
  invertMonochrome1?: boolean;
  /**
   * A VOI window for 8-bit output: explicit, or "dataset" for WindowCenter/Width when usable (see
   * {@link datasetWindow}; otherwise none is applied and `applied.windowUnusable` says why).
   */
  window?: Window | "dataset";
  /** Largest declared pixel data in bytes (default 512 MiB). */
  pixelLimit?: number;
}

/** A decoded frame with its metadata and what was applied. */
export interface DicomImage {
  image: Image;
  meta: DicomMeta;
  frame: number;
  applied: {
    rescale: { slope: number; intercept: number } | null;
    inverted: boolean;
    window: Window | null;
    /** With window "dataset": why the dataset's window was not applied (else null). */
    windowUnusable: string | null;
    colour: string | null;
  };
}

/**
 * DICOM bytes to a frame's pixels through the pixel pipeline.
 * @example const { image, meta } = await decodeDicom(await Deno.readFile("ct.dcm"))
 */
export async function decodeDicom(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DicomImage> {
  const limit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  const ds = parseDataSet(bytes, Math.max(limit, DEFAULT_INFLATE_LIMIT));
  const meta = readMeta(ds);
  const frame = options.frame ?? 0;
  const stored = await readStoredFrame(ds, meta, frame, limit);
  let data = stored.data;
  const applied: DicomImage["applied"] = {
    rescale: null,
    inverted: false,
    window: null,
    windowUnusable: null,
    colour: null,
  };
  const grey = meta.samplesPerPixel === 1;
  let range = storedRange(meta);
  if (
    grey && options.rescale !== false && (meta.rescaleSlope !== 1 || meta.rescaleIntercept !== 0)
  ) {
    data = applyRescale(data, meta.rescaleSlope, meta.rescaleIntercept);
    const r = range.map((v) => v * meta.rescaleSlope + meta.rescaleIntercept);
    range = [Math.min(r[0], r[1]), Math.max(r[0], r[1])];
    applied.rescale = { slope: meta.rescaleSlope, intercept: meta.rescaleIntercept };
  }
  if (
    grey && meta.photometricInterpretation === "MONOCHROME1" && options.invertMonochrome1 !== false
  ) {
    const sum = range[0] + range[1];
    for (let i = 0; i < data.length; i++) data[i] = sum - data[i];
    applied.inverted = true;
  }
  if (grey && options.window) {
    let w: Window | null = null;
    if (options.window === "dataset") {
      const found = datasetWindow(meta);
      w = found.window;
      applied.windowUnusable = found.unusable;
    } else w = options.window;
    if (w) {
      data = applyWindow(data, w);
      applied.window = w;
    }
  }
  if (!grey && stored.photometricInterpretation === "YBR_FULL" && data instanceof Uint8Array) {
    data = ybrFullToRgb(data === stored.data ? data : data);
    applied.colour = "YBR_FULL to RGB";
  }
  return {
    image: {
      width: meta.columns,
      height: meta.rows,
      channels: grey ? 1 : 3,
      data,
      ...(meta.pixelSpacing ? { spacing: meta.pixelSpacing } : {}),
    },
    meta,
    frame,
    applied,
  };
}
