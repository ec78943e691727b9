/**
 * Reads the frame header of a JPEG-family codestream (ITU T.81 / ISO 14495-1 markers, ISO 15444-1
 * SIZ) before any decoder sees it, so that a corrupt or mislabelled frame is refused with a clear
 * message instead of making a codec allocate for a size the dataset never declared.
 */
import { BadInputError, UnsupportedError } from "../../errors.ts";
import type { FrameInfo } from "./types.ts";

/** What a JPEG or JPEG-LS frame header (SOFn) and the markers before the first scan say. */
export interface JpegHeader {
  /** The SOF marker's second byte: 0xc0 baseline, 0xc1 extended, 0xc3 lossless, 0xf7 JPEG-LS. */
  sof: number;
  precision: number;
  rows: number;
  columns: number;
  components: number;
  componentIds: number[];
  /** Byte offset of the SOF marker (its 0xff). */
  sofOffset: number;
  /** Byte offset of the JFIF APP0 marker, or -1. */
  jfifOffset: number;
  /** The Adobe APP14 colour transform flag (0 none, 1 YCbCr, 2 YCCK), or -1 without the marker. */
  adobeTransform: number;
}

/** Markers that stand alone, without a length: TEM, RSTn, SOI, EOI. */
function standalone(m: number): boolean {
  return m === 0x01 || (m >= 0xd0 && m <= 0xd9);
}

/** Is `m` a start-of-frame marker (SOF0-SOF15 less DHT, JPG, DAC; or JPEG-LS SOF55)? */
function isSof(m: number): boolean {
  return (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
}

/**
 * Walks the markers from SOI to the first SOS and returns the frame header.
 * @example readJpegHeader(frame).precision // 12 for a JPEG extended CT
 */
export function readJpegHeader(bytes: Uint8Array, what: string): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new BadInputError(`${what} frame does not start with a JPEG SOI marker (FFD8)`);
  }
  let sof: Omit<JpegHeader, "jfifOffset" | "adobeTransform"> | undefined;
  let jfifOffset = -1, adobeTransform = -1;
  let i = 2;
  for (;;) {
    if (i >= bytes.length) break;
    if (bytes[i] !== 0xff) {
      throw new BadInputError(`${what} frame has no JPEG marker at byte ${i} (corrupt header)`);
    }
    while (i < bytes.length && bytes[i] === 0xff) i++; // fill bytes
    const m = bytes[i++];
    if (m === undefined) break;
    if (standalone(m)) continue;
    if (i + 2 > bytes.length) break;
    const len = (bytes[i] << 8) | bytes[i + 1];
    if (len < 2 || i + len > bytes.length) {
      throw new BadInputError(
        `${what} frame: marker FF${m.toString(16).toUpperCase()} at byte ${
          i - 2
        } has length ${len}, past the end of the ${bytes.length}-byte frame`,
      );
    }
    const seg = bytes.subarray(i + 2, i + len);
    if (isSof(m) && !sof) {
      if (seg.length < 6 || seg.length < 6 + 3 * seg[5]) {
        throw new BadInputError(`${what} frame header (SOF) is too short`);
      }
      const components = seg[5];
      sof = {
        sof: m,
        precision: seg[0],
        rows: (seg[1] << 8) | seg[2],
        columns: (seg[3] << 8) | seg[4],
        components,
        componentIds: Array.from({ length: components }, (_, k) => seg[6 + 3 * k]),
        sofOffset: i - 2,
      };
    } else if (
      m === 0xe0 && seg.length >= 5 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 &&
      seg[3] === 0x46 && seg[4] === 0
    ) {
      jfifOffset = i - 2;
    } else if (
      m === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe"
    ) {
      adobeTransform = seg[11];
    } else if (m === 0xda) {
      break;
    }
    i += len;
  }
  if (!sof) throw new BadInputError(`${what} frame has no frame header (SOF) before its data`);
  return { ...sof, jfifOffset, adobeTransform };
}

/**
 * Refuses a frame whose coded size or sample count is not the dataset's: decoding it could not
 * give the declared frame, and a corrupt header could ask for gigabytes.
 */
export function checkFrameSize(
  coded: { rows: number; columns: number; components: number },
  info: FrameInfo,
  what: string,
): void {
  if (coded.rows === 0) {
    throw new UnsupportedError(
      `${what} frame defines its height after the first scan (DNL marker), which is not supported`,
    );
  }
  if (coded.rows !== info.rows || coded.columns !== info.columns) {
    throw new BadInputError(
      `${what} frame is coded as ${coded.columns}x${coded.rows} but the dataset declares ${info.columns}x${info.rows} (columns x rows)`,
    );
  }
  if (coded.components !== info.samplesPerPixel) {
    throw new BadInputError(
      `${what} frame has ${coded.components} component(s) but the dataset declares ${info.samplesPerPixel} sample(s) per pixel`,
    );
  }
}

/** What a JPEG 2000 SIZ marker says about the image. */
export interface J2kHeader {
  rows: number;
  columns: number;
  components: number;
  /** Bit depth of the first component. */
  precision: number;
  /** Whether the first component is signed. */
  signed: boolean;
  /** True when the codestream is wrapped in a JP2 file-format box structure. */
  jp2: boolean;
  /** True when COD says the first three components carry a multiple component transform. */
  mct: boolean;
}

/**
 * Finds the codestream (bare, or inside JP2 boxes, which some writers put in DICOM) and reads SIZ.
 * @example readJ2kHeader(frame).signed
 */
export function readJ2kHeader(bytes: Uint8Array, what: string): J2kHeader {
  let soc = -1;
  // A bare codestream starts SOC (FF4F) then SIZ (FF51); a JP2 file holds one in its jp2c box.
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 0xff && bytes[i + 1] === 0x4f && bytes[i + 2] === 0xff && bytes[i + 3] === 0x51
    ) {
      soc = i;
      break;
    }
    if (i === 0 && !isJp2Signature(bytes)) break;
  }
  if (soc < 0) {
    throw new BadInputError(
      `${what} frame is neither a JPEG 2000 codestream (FF4FFF51) nor a JP2 file holding one`,
    );
  }
  const s = soc + 4; // Lsiz
  if (s + 38 + 3 > bytes.length) throw new BadInputError(`${what} SIZ marker is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + s, bytes.length - s);
  const lsiz = view.getUint16(0);
  const components = view.getUint16(36);
  if (lsiz !== 38 + 3 * components || s + lsiz > bytes.length) {
    throw new BadInputError(
      `${what} SIZ marker is corrupt (length ${lsiz}, ${components} components)`,
    );
  }
  const ssiz = view.getUint8(38);
  // The main header's markers follow SIZ up to the first tile (SOT); COD holds the MCT flag.
  let mct = false;
  for (let p = s + lsiz; p + 4 <= bytes.length && bytes[p] === 0xff && bytes[p + 1] !== 0x90;) {
    const len = (bytes[p + 2] << 8) | bytes[p + 3];
    if (bytes[p + 1] === 0x52 && p + 9 <= bytes.length) {
      mct = bytes[p + 8] === 1;
      break;
    }
    p += 2 + len;
  }
  return {
    columns: view.getUint32(4) - view.getUint32(12),
    rows: view.getUint32(8) - view.getUint32(16),
    components,
    precision: (ssiz & 0x7f) + 1,
    signed: (ssiz & 0x80) !== 0,
    jp2: soc > 0,
    mct,
  };
}

/** The 12-byte JP2 signature box (ISO 15444-1 I.5.1), or the bare RFC 3745 magic. */
function isJp2Signature(b: Uint8Array): boolean {
  return (b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20) ||
    (b[0] === 0x0d && b[1] === 0x0a && b[2] === 0x87 && b[3] === 0x0a);
}
