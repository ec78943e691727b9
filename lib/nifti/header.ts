/**
 * NIfTI-1 and NIfTI-2 headers, both byte orders: parsed into one plain object with nibabel's field
 * names, repaired the way nibabel 5's `check_fix` repairs a header on load (pixdim <= 0, qfac, bad
 * xform codes), and encoded back as a little-endian NIfTI-1 header.
 *
 * Hand-written rather than nifti-reader-js 0.8.0 (which we checked against the conformance files):
 * it picks the qform over the sform when qform_code > sform_code and ignores the codes altogether
 * for NIfTI-2 (nibabel, and the NIfTI standard, use the sform whenever its code is set), it keeps
 * the srow fields only when it chose the sform, its big-endian int64 read adds the low word as a
 * signed number, it throws plain `Error`s, and it does not write. One field table serves both
 * reading and writing here.
 */
import { BadInputError, InvalidInputError, UnsupportedError } from "../errors.ts";

/** The data types we decode, by NIfTI name. */
export type Datatype = "uint8" | "int16" | "int32" | "float32" | "float64" | "uint16";

/** NIfTI datatype codes we decode, with bytes per voxel. */
export const DATATYPES: Record<number, { name: Datatype; bytes: number }> = {
  2: { name: "uint8", bytes: 1 },
  4: { name: "int16", bytes: 2 },
  8: { name: "int32", bytes: 4 },
  16: { name: "float32", bytes: 4 },
  64: { name: "float64", bytes: 8 },
  512: { name: "uint16", bytes: 2 },
};

/** The code of each datatype we decode (and write). */
export const DATATYPE_CODES: Record<Datatype, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  uint16: 512,
};

/** NIfTI datatypes that exist but that we do not decode (answered with a 415). */
const OTHER_DATATYPES: Record<number, string> = {
  1: "binary (1 bit)",
  32: "complex64",
  128: "RGB24",
  256: "int8",
  768: "uint32",
  1024: "int64",
  1280: "uint64",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32",
};

/**
 * A NIfTI header with nibabel's field names. Numbers are the stored values (float32 fields are
 * exactly their float32 value), after nibabel's load-time repairs. NIfTI-1-only fields (`glmax`,
 * `glmin`, the Analyze leftovers) are 0 or "" for NIfTI-2.
 */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  sizeof_hdr: number;
  data_type: string;
  db_name: string;
  extents: number;
  session_error: number;
  regular: string;
  dim_info: number;
  /** dim[0] = number of dimensions, dim[1..7] = sizes. */
  dim: number[];
  intent_p1: number;
  intent_p2: number;
  intent_p3: number;
  intent_code: number;
  datatype: number;
  bitpix: number;
  slice_start: number;
  /** pixdim[0] = qfac, pixdim[1..7] = voxel sizes. */
  pixdim: number[];
  vox_offset: number;
  scl_slope: number;
  scl_inter: number;
  slice_end: number;
  slice_code: number;
  xyzt_units: number;
  cal_max: number;
  cal_min: number;
  slice_duration: number;
  toffset: number;
  glmax: number;
  glmin: number;
  descrip: string;
  aux_file: string;
  qform_code: number;
  sform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  srow_x: number[];
  srow_y: number[];
  srow_z: number[];
  intent_name: string;
  magic: string;
  /** First byte of the extension flag after the header (1 when extensions follow). */
  extension: number;
}

type FieldType = "u1" | "i2" | "i4" | "i8" | "f4" | "f8" | "c";
/** [name, byte offset, type, count (values, or bytes for strings)] */
type Field = [keyof NiftiHeader, number, FieldType, number];

/** NIfTI-1 layout (348 bytes), from nifti1.h. */
const NIFTI1: Field[] = [
  ["sizeof_hdr", 0, "i4", 1],
  ["data_type", 4, "c", 10],
  ["db_name", 14, "c", 18],
  ["extents", 32, "i4", 1],
  ["session_error", 36, "i2", 1],
  ["regular", 38, "c", 1],
  ["dim_info", 39, "u1", 1],
  ["dim", 40, "i2", 8],
  ["intent_p1", 56, "f4", 1],
  ["intent_p2", 60, "f4", 1],
  ["intent_p3", 64, "f4", 1],
  ["intent_code", 68, "i2", 1],
  ["datatype", 70, "i2", 1],
  ["bitpix", 72, "i2", 1],
  ["slice_start", 74, "i2", 1],
  ["pixdim", 76, "f4", 8],
  ["vox_offset", 108, "f4", 1],
  ["scl_slope", 112, "f4", 1],
  ["scl_inter", 116, "f4", 1],
  ["slice_end", 120, "i2", 1],
  ["slice_code", 122, "u1", 1],
  ["xyzt_units", 123, "u1", 1],
  ["cal_max", 124, "f4", 1],
  ["cal_min", 128, "f4", 1],
  ["slice_duration", 132, "f4", 1],
  ["toffset", 136, "f4", 1],
  ["glmax", 140, "i4", 1],
  ["glmin", 144, "i4", 1],
  ["descrip", 148, "c", 80],
  ["aux_file", 228, "c", 24],
  ["qform_code", 252, "i2", 1],
  ["sform_code", 254, "i2", 1],
  ["quatern_b", 256, "f4", 1],
  ["quatern_c", 260, "f4", 1],
  ["quatern_d", 264, "f4", 1],
  ["qoffset_x", 268, "f4", 1],
  ["qoffset_y", 272, "f4", 1],
  ["qoffset_z", 276, "f4", 1],
  ["srow_x", 280, "f4", 4],
  ["srow_y", 296, "f4", 4],
  ["srow_z", 312, "f4", 4],
  ["intent_name", 328, "c", 16],
  ["magic", 344, "c", 4],
];

/** NIfTI-2 layout (540 bytes), from nifti2.h. */
const NIFTI2: Field[] = [
  ["sizeof_hdr", 0, "i4", 1],
  ["magic", 4, "c", 4],
  ["datatype", 12, "i2", 1],
  ["bitpix", 14, "i2", 1],
  ["dim", 16, "i8", 8],
  ["intent_p1", 80, "f8", 1],
  ["intent_p2", 88, "f8", 1],
  ["intent_p3", 96, "f8", 1],
  ["pixdim", 104, "f8", 8],
  ["vox_offset", 168, "i8", 1],
  ["scl_slope", 176, "f8", 1],
  ["scl_inter", 184, "f8", 1],
  ["cal_max", 192, "f8", 1],
  ["cal_min", 200, "f8", 1],
  ["slice_duration", 208, "f8", 1],
  ["toffset", 216, "f8", 1],
  ["slice_start", 224, "i8", 1],
  ["slice_end", 232, "i8", 1],
  ["descrip", 240, "c", 80],
  ["aux_file", 320, "c", 24],
  ["qform_code", 344, "i4", 1],
  ["sform_code", 348, "i4", 1],
  ["quatern_b", 352, "f8", 1],
  ["quatern_c", 360, "f8", 1],
  ["quatern_d", 368, "f8", 1],
  ["qoffset_x", 376, "f8", 1],
  ["qoffset_y", 384, "f8", 1],
  ["qoffset_z", 392, "f8", 1],
  ["srow_x", 400, "f8", 4],
  ["srow_y", 432, "f8", 4],
  ["srow_z", 464, "f8", 4],
  ["slice_code", 496, "i4", 1],
  ["xyzt_units", 500, "i4", 1],
  ["intent_code", 504, "i4", 1],
  ["intent_name", 508, "c", 16],
  ["dim_info", 524, "u1", 1],
];

/** Header sizes, which are also the first field (sizeof_hdr) and tell version and byte order. */
export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI2_HEADER_BYTES = 540;
/** Bytes of a single-file header plus its 4-byte extension flag (the least vox_offset). */
export const NIFTI1_MIN_OFFSET = 352;
export const NIFTI2_MIN_OFFSET = 544;

const SIZE: Record<FieldType, number> = { u1: 1, i2: 2, i4: 4, i8: 8, f4: 4, f8: 8, c: 1 };

function readValue(v: DataView, at: number, t: FieldType, le: boolean): number {
  switch (t) {
    case "u1":
      return v.getUint8(at);
    case "i2":
      return v.getInt16(at, le);
    case "i4":
      return v.getInt32(at, le);
    case "f4":
      return v.getFloat32(at, le);
    case "f8":
      return v.getFloat64(at, le);
    default: {
      const big = v.getBigInt64(at, le);
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new BadInputError(`NIfTI-2 header holds an int64 field out of range (${big})`);
      }
      return Number(big);
    }
  }
}

function readString(b: Uint8Array, at: number, n: number): string {
  let end = at;
  while (end < at + n && b[end] !== 0) end++;
  return String.fromCharCode(...b.subarray(at, end));
}

/**
 * Which NIfTI version and byte order `bytes` start with (from sizeof_hdr, 348 or 540, as stored
 * or byte-swapped), or undefined when they do not start a NIfTI header.
 * @example sniffNifti(await Deno.readFile("t1.nii")) // { version: 1, littleEndian: true }
 */
export function sniffNifti(
  bytes: Uint8Array,
): { version: 1 | 2; littleEndian: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const littleEndian of [true, false]) {
    const size = v.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER_BYTES) return { version: 1, littleEndian };
    if (size === NIFTI2_HEADER_BYTES) return { version: 2, littleEndian };
  }
  return undefined;
}

/**
 * A header with every field at its empty value (zeros, empty strings), to fill in.
 * @example const h = { ...emptyHeader(1, true), sizeof_hdr: 348, magic: "n+1" }
 */
export function emptyHeader(version: 1 | 2, littleEndian: boolean): NiftiHeader {
  return {
    version,
    littleEndian,
    sizeof_hdr: 0,
    data_type: "",
    db_name: "",
    extents: 0,
    session_error: 0,
    regular: "",
    dim_info: 0,
    dim: [0, 0, 0, 0, 0, 0, 0, 0],
    intent_p1: 0,
    intent_p2: 0,
    intent_p3: 0,
    intent_code: 0,
    datatype: 0,
    bitpix: 0,
    slice_start: 0,
    pixdim: [0, 0, 0, 0, 0, 0, 0, 0],
    vox_offset: 0,
    scl_slope: 0,
    scl_inter: 0,
    slice_end: 0,
    slice_code: 0,
    xyzt_units: 0,
    cal_max: 0,
    cal_min: 0,
    slice_duration: 0,
    toffset: 0,
    glmax: 0,
    glmin: 0,
    descrip: "",
    aux_file: "",
    qform_code: 0,
    sform_code: 0,
    quatern_b: 0,
    quatern_c: 0,
    quatern_d: 0,
    qoffset_x: 0,
    qoffset_y: 0,
    qoffset_z: 0,
    srow_x: [0, 0, 0, 0],
    srow_y: [0, 0, 0, 0],
    srow_z: [0, 0, 0, 0],
    intent_name: "",
    magic: "",
    extension: 0,
  };
}

/**
 * Parses a NIfTI-1 or NIfTI-2 header (either byte order) from the start of an uncompressed file,
 * checks what nibabel refuses (magic, datatype, dims, vox_offset) and repairs what it repairs.
 * Throws BadInputError for a header that is not NIfTI or is malformed, UnsupportedError for a
 * NIfTI pair header (`ni1`/`ni2`, data in a separate .img) and for datatypes we do not decode.
 * @example parseHeader(await Deno.readFile("t1.nii")).dim // [3, 240, 240, 155, 1, 1, 1, 1]
 */
export function parseHeader(bytes: Uint8Array): NiftiHeader {
  const kind = sniffNifti(bytes);
  if (!kind) {
    throw new BadInputError(
      "not NIfTI: the first 4 bytes (sizeof_hdr) are neither 348 (NIfTI-1) nor 540 (NIfTI-2)",
    );
  }
  const { version, littleEndian } = kind;
  const size = version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES;
  if (bytes.length < size) {
    throw new BadInputError(
      `NIfTI-${version} header is truncated: ${bytes.length} of ${size} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = emptyHeader(version, littleEndian);
  const record = h as unknown as Record<string, unknown>;
  for (const [name, at, type, count] of version === 1 ? NIFTI1 : NIFTI2) {
    if (type === "c") record[name] = readString(bytes, at, count);
    else if (count === 1) record[name] = readValue(view, at, type, littleEndian);
    else {
      record[name] = Array.from(
        { length: count },
        (_, i) => readValue(view, at + i * SIZE[type], type, littleEndian),
      );
    }
  }
  h.extension = bytes.length > size ? bytes[size] : 0;
  checkHeader(h, version === 2 ? bytes.subarray(8, 12) : undefined);
  return h;
}

/** nibabel's load-time checks: refuse what it refuses, repair what it repairs. */
function checkHeader(h: NiftiHeader, eol?: Uint8Array): void {
  const v = h.version;
  if (h.magic === `ni${v}`) {
    throw new UnsupportedError(
      `NIfTI-${v} pair header ('ni${v}'): the voxels are in a separate .img file; send a single-file .nii or .nii.gz`,
    );
  }
  if (h.magic !== `n+${v}`) {
    throw new BadInputError(`NIfTI-${v} magic is '${h.magic}', expected 'n+${v}'`);
  }
  if (eol && !(eol.every((b, i) => b === [13, 10, 26, 10][i]) || eol.every((b) => b === 0))) {
    throw new BadInputError(
      "NIfTI-2 magic is followed by damaged end-of-line check bytes (the file went through a text-mode transfer)",
    );
  }
  const ndim = h.dim[0];
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new BadInputError(`NIfTI dim[0] (number of dimensions) is ${ndim}, must be 1 to 7`);
  }
  for (let i = 1; i <= ndim; i++) {
    if (h.dim[i] < 0) throw new BadInputError(`NIfTI dim[${i}] is negative (${h.dim[i]})`);
  }
  datatypeOf(h);
  h.bitpix = DATATYPES[h.datatype].bytes * 8;
  const minOffset = v === 1 ? NIFTI1_MIN_OFFSET : NIFTI2_MIN_OFFSET;
  if (!(h.vox_offset >= minOffset) || !Number.isFinite(h.vox_offset)) {
    throw new BadInputError(
      `NIfTI vox_offset ${h.vox_offset} is before the end of the header (${minOffset})`,
    );
  }
  h.vox_offset = Math.trunc(h.vox_offset);
  // nibabel: pixdim[1..3] of 0 become 1, negative ones their absolute value; qfac not +-1 becomes 1.
  for (let i = 1; i <= 3; i++) {
    if (h.pixdim[i] === 0) h.pixdim[i] = 1;
    else if (h.pixdim[i] < 0) h.pixdim[i] = -h.pixdim[i];
  }
  if (h.pixdim[0] !== 1 && h.pixdim[0] !== -1) h.pixdim[0] = 1;
  // nibabel: an xform code outside 0..5 becomes 0 (unknown).
  for (const code of ["qform_code", "sform_code"] as const) {
    if (!(h[code] >= 0 && h[code] <= 5)) h[code] = 0;
  }
}

/**
 * The decodable datatype of a header, or a typed error naming the one it has.
 * @example datatypeOf(header) // "int16"
 */
export function datatypeOf(h: Pick<NiftiHeader, "datatype">): Datatype {
  const known = DATATYPES[h.datatype];
  if (known) return known.name;
  const other = OTHER_DATATYPES[h.datatype];
  if (other) {
    throw new UnsupportedError(
      `NIfTI datatype ${other} (code ${h.datatype}) is not supported; supported: uint8, int16, uint16, int32, float32, float64`,
      { datatype: h.datatype },
    );
  }
  throw new BadInputError(`NIfTI datatype code ${h.datatype} is not a NIfTI datatype`, {
    datatype: h.datatype,
  });
}

/**
 * The data shape as nibabel's `header.get_data_shape()`: dim[1..dim[0]].
 * @example shapeOf(header) // [240, 240, 155]
 */
export function shapeOf(h: Pick<NiftiHeader, "dim">): number[] {
  return h.dim.slice(1, h.dim[0] + 1);
}

/**
 * Voxel sizes as nibabel's `header.get_zooms()`: pixdim[1..dim[0]].
 * @example zoomsOf(header) // [1, 1, 1]
 */
export function zoomsOf(h: Pick<NiftiHeader, "dim" | "pixdim">): number[] {
  return h.pixdim.slice(1, h.dim[0] + 1);
}

/**
 * Scale factor and intercept as nibabel's `get_slope_inter()`: undefined when the slope is 0 or not
 * finite (no scaling); BadInputError for a valid slope with a non-finite intercept.
 * @example slopeInter(header) // { slope: 1, inter: 0 }
 */
export function slopeInter(
  h: Pick<NiftiHeader, "scl_slope" | "scl_inter">,
): { slope: number; inter: number } | undefined {
  if (h.scl_slope === 0 || !Number.isFinite(h.scl_slope)) return undefined;
  if (!Number.isFinite(h.scl_inter)) {
    throw new BadInputError(`NIfTI scl_slope is set but scl_inter is ${h.scl_inter}`);
  }
  return { slope: h.scl_slope, inter: h.scl_inter };
}

/** Fields whose value must fit the NIfTI-1 integer type it is written as. */
function fitInteger(name: string, value: number, type: FieldType): number {
  const [lo, hi] = type === "u1"
    ? [0, 255]
    : type === "i2"
    ? [-32768, 32767]
    : [-2147483648, 2147483647];
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new InvalidInputError(`${name} = ${value} does not fit a NIfTI-1 header (${lo}..${hi})`, {
      field: name,
    });
  }
  return value;
}

/**
 * Encodes a header as a little-endian single-file NIfTI-1 header plus a zero extension flag
 * (352 bytes): `sizeof_hdr` 348, magic `n+1`, `vox_offset` 352. Other fields are written as given
 * (a NIfTI-2 header's float64 fields are rounded to float32); a value that does not fit its
 * NIfTI-1 field is an InvalidInputError.
 * @example const bytes = encodeHeader({ ...header, datatype: 2, bitpix: 8 })
 */
export function encodeHeader(h: NiftiHeader): Uint8Array {
  const out = new Uint8Array(NIFTI1_MIN_OFFSET);
  const view = new DataView(out.buffer);
  const fields = { ...h, sizeof_hdr: NIFTI1_HEADER_BYTES, magic: "n+1", vox_offset: 352 };
  const record = fields as unknown as Record<string, unknown>;
  for (const [name, at, type, count] of NIFTI1) {
    const value = record[name];
    if (type === "c") {
      const s = String(value ?? "");
      for (let i = 0; i < Math.min(s.length, count); i++) out[at + i] = s.charCodeAt(i) & 0xff;
      continue;
    }
    const values = count === 1 ? [value as number] : value as number[];
    for (let i = 0; i < count; i++) {
      const x = values[i] ?? 0;
      const p = at + i * SIZE[type];
      if (type === "f4") view.setFloat32(p, x, true);
      else if (type === "u1") view.setUint8(p, fitInteger(name, x, type));
      else if (type === "i2") view.setInt16(p, fitInteger(name, x, type), true);
      else view.setInt32(p, fitInteger(name, x, type), true);
    }
  }
  return out;
}
