/**
 * Writes a single-file little-endian NIfTI-1 (`.nii`, or `.nii.gz` through the platform's native
 * CompressionStream) with the geometry of a header we read: every field is kept (affines, codes,
 * units, description, intent, timing) except those describing the stored values, which follow the
 * data the caller gives (datatype, bitpix, dim, scl_slope 1 / scl_inter 0, cal_min/cal_max 0 so
 * that a viewer does not show labels with the input's intensity window). Extensions are not written.
 */
import { InvalidInputError, UnsupportedError } from "../errors.ts";
import type { Pixels } from "../image/image.ts";
import { HOST_LITTLE_ENDIAN, swapBytes } from "./_bytes.ts";
import {
  type Datatype,
  DATATYPE_CODES,
  encodeHeader,
  type NiftiHeader,
  shapeOf,
} from "./header.ts";

/** Options of {@link encodeNifti} and {@link writeNifti}. */
export interface WriteOptions {
  /** Shape of `data` (nibabel order, x first); default the header's. */
  dims?: number[];
  /** Replaces the header's `descrip` (80 characters at most are kept). */
  description?: string;
}

/**
 * The NIfTI datatype written for a typed array.
 * @example datatypeOfArray(new Uint8Array(4)) // "uint8"
 */
export function datatypeOfArray(data: Pixels): Datatype {
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Float32Array) return "float32";
  throw new UnsupportedError(
    `cannot write ${data.constructor.name} as NIfTI: use Uint8Array, Int16Array, Uint16Array, Int32Array or Float32Array`,
  );
}

/**
 * An uncompressed single-file NIfTI-1 (`.nii`): `header`'s geometry, `data` (x fastest) as voxels.
 * @example const nii = encodeNifti(t1.header, labels, { dims: [240, 240, 155] })
 */
export function encodeNifti(
  header: NiftiHeader,
  data: Pixels,
  options: WriteOptions = {},
): Uint8Array {
  const head = headerFor(header, data, options);
  const out = new Uint8Array(head.length + data.byteLength);
  out.set(head);
  out.set(voxelBytes(data), head.length);
  return out;
}

/**
 * A gzip-compressed single-file NIfTI-1 (`.nii.gz`), as {@link encodeNifti}.
 * @example await Deno.writeFile("seg.nii.gz", await writeNifti(t1.header, labels))
 */
export async function writeNifti(
  header: NiftiHeader,
  data: Pixels,
  options: WriteOptions = {},
): Promise<Uint8Array> {
  const head = headerFor(header, data, options);
  const parts = [head, voxelBytes(data)] as Uint8Array<ArrayBuffer>[];
  const stream = ReadableStream.from(parts)
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function headerFor(header: NiftiHeader, data: Pixels, options: WriteOptions): Uint8Array {
  const datatype = datatypeOfArray(data);
  const dims = options.dims ?? shapeOf(header);
  if (!(dims.length >= 1 && dims.length <= 7 && dims.every((d) => Number.isInteger(d) && d > 0))) {
    throw new InvalidInputError(`NIfTI shape must be 1 to 7 positive integers, got ${dims}`);
  }
  const voxels = dims.reduce((a, b) => a * b, 1);
  if (voxels !== data.length) {
    throw new InvalidInputError(
      `data has ${data.length} values, shape ${dims.join("x")} needs ${voxels}`,
    );
  }
  const bytes = data.BYTES_PER_ELEMENT;
  return encodeHeader({
    ...header,
    dim: [dims.length, ...dims, ...Array(7 - dims.length).fill(1)],
    datatype: DATATYPE_CODES[datatype],
    bitpix: 8 * bytes,
    scl_slope: 1,
    scl_inter: 0,
    cal_min: 0,
    cal_max: 0,
    glmin: 0,
    glmax: 0,
    descrip: options.description ?? header.descrip,
    extension: 0,
  });
}

/** The voxels' bytes, little-endian. */
function voxelBytes(data: Pixels): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const swapped = bytes.slice();
  swapBytes(swapped, data.BYTES_PER_ELEMENT);
  return swapped;
}
