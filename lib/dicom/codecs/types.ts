/**
 * The contract between the DICOM pixel reader (lib/dicom/pixels.ts) and the codecs: one
 * compressed frame in, its stored sample values out. Codecs do no Modality LUT, no BitsStored
 * masking beyond what the codec itself does, and no MONOCHROME1 inversion: pixels.ts does those.
 */

/** What a codec needs to know about the frame, from the dataset's Image Pixel module. */
export interface FrameInfo {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  samplesPerPixel: number;
  /** As declared in the dataset (e.g. MONOCHROME2, RGB, YBR_FULL_422). */
  photometricInterpretation: string;
  /** 0 interleaved (RGBRGB...), 1 planar (RR..GG..BB..), for samplesPerPixel > 1. */
  planarConfiguration: number;
}

/** A decoded frame. */
export interface DecodedFrame {
  /**
   * Stored sample values, row-major. Colour frames are pixel-interleaved (RGBRGB...) whatever the
   * dataset's PlanarConfiguration. The typed array's signedness follows the codec's output; pixels.ts
   * reinterprets by BitsStored and PixelRepresentation.
   */
  data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array;
  /**
   * The photometric interpretation of `data`: JPEG codecs that convert YBR to RGB say "RGB" here,
   * so pixels.ts does not convert again.
   */
  photometricInterpretation: string;
}

/** Decodes one frame's compressed bytes (all of its fragments, concatenated). */
export type FrameDecoder = (encoded: Uint8Array, info: FrameInfo) => Promise<DecodedFrame>;

/**
 * A {@link FrameDecoder} of a synchronous one: what it throws becomes the promise's rejection, so
 * callers see one failure path whichever codec they hold.
 * @example export const decodeRle: FrameDecoder = promised(decodeRleSync);
 */
export function promised(
  decode: (encoded: Uint8Array, info: FrameInfo) => DecodedFrame,
): FrameDecoder {
  return (encoded, info) => {
    try {
      return Promise.resolve(decode(encoded, info));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}
