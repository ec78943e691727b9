/**
 * JPEG lossless, process 14 (1.2.840.10008.1.2.4.57, and .70 first-order prediction), any
 * predictor, 2-16 bit precision, with jpeg-lossless-decoder-js (rii-mango, the decoder
 * cornerstone ships). It returns Uint8Array for precision up to 8 and Uint16Array above, unsigned
 * bit patterns either way: pixels.ts applies the sign from PixelRepresentation. Lossless frames
 * carry no colour transform, so colour comes back as the dataset declares it.
 */
import { Decoder } from "jpeg-lossless-decoder-js";
import { BadInputError, UnsupportedError } from "../../errors.ts";
import { checkFrameSize, readJpegHeader } from "./_codestream.ts";
import { type DecodedFrame, type FrameDecoder, type FrameInfo, promised } from "./types.ts";

/**
 * Decodes one JPEG lossless frame.
 * @example const { data } = await decodeJpegLossless(frame, info) // Uint16Array for 16-bit CT
 */
export const decodeJpegLossless: FrameDecoder = promised(decodeSync);

function decodeSync(encoded: Uint8Array, info: FrameInfo): DecodedFrame {
  const header = readJpegHeader(encoded, "JPEG lossless");
  if (header.sof !== 0xc3) {
    throw new BadInputError(
      `JPEG lossless frame has frame marker FF${
        header.sof.toString(16).toUpperCase()
      }, not the lossless FFC3 (is the transfer syntax right?)`,
    );
  }
  // The decoder writes 3-component output only for 8-bit samples, and nothing for other counts.
  if (header.components !== 1 && !(header.components === 3 && header.precision <= 8)) {
    throw new UnsupportedError(
      `JPEG lossless with ${header.components} components of ${header.precision} bits is not supported (1 component, or 3 of 8 bits)`,
    );
  }
  // Checked before decoding: the decoder allocates whatever size the frame header says.
  checkFrameSize(header, info, "JPEG lossless");
  const bytesPerSample = header.precision <= 8 ? 1 : 2;
  // The decoder wants an ArrayBuffer of its own (it keeps a view on it).
  const copy = encoded.slice();
  const decoder = new Decoder();
  let out: Uint8Array | Uint16Array | null;
  try {
    out = decoder.decode(copy.buffer, 0, copy.length, bytesPerSample);
  } catch (err) {
    throw new BadInputError(
      `JPEG lossless frame could not be decoded: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  // Past the end the decoder reads undefined as zero bits and goes on: a truncated frame shows
  // only as a read position beyond the data.
  const read: number = decoder.stream?.index ?? 0;
  if (read > copy.length) {
    throw new BadInputError(
      `JPEG lossless frame is truncated: decoding needed ${read} bytes, the frame has ${copy.length}`,
    );
  }
  const want = info.rows * info.columns * info.samplesPerPixel;
  if (!out || out.length < want) {
    throw new BadInputError(
      `JPEG lossless frame decoded to ${out?.length ?? 0} samples, expected ${want}`,
    );
  }
  return { data: out, photometricInterpretation: info.photometricInterpretation };
}
