/**
 * NIfTI-1/2 `.nii` and `.nii.gz` to a Volume, with the values nibabel 5 gives (`img.shape`,
 * `img.affine`, `header.get_zooms()`, `img.get_fdata()` rounded to float32). gzip is inflated as a
 * stream by the platform's native DecompressionStream (fflate inflates in JavaScript, several times
 * slower on a 17 MB BraTS volume), and reading stops once the voxels are in: only the voxel bytes
 * are held, in one buffer whose size the header declared and the limit allowed before allocating.
 */
import { BadInputError, InvalidInputError, LimitExceededError } from "../errors.ts";
import type { Pixels } from "../image/image.ts";
import { bestAffine } from "./affine.ts";
import {
  datatypeOf,
  DATATYPES,
  NIFTI2_MIN_OFFSET,
  type NiftiHeader,
  parseHeader,
  shapeOf,
  slopeInter,
  zoomsOf,
} from "./header.ts";
import { HOST_LITTLE_ENDIAN, swapBytes } from "./_bytes.ts";
import { shapeParts, type Volume } from "./volume.ts";

/** Default cap on a volume's voxel bytes, as declared and as decoded (512 MiB). */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

/** Uncompressed bytes after the voxels read through to reach the gzip trailer and its CRC. */
const TRAILING_CHECK_BYTES = 1 << 20;

/** Options of {@link readNifti}. */
export interface ReadOptions {
  /** Largest voxel data accepted in bytes, stored or decoded (default {@link DEFAULT_MAX_BYTES}). */
  maxBytes?: number;
  /**
   * Apply scl_slope/scl_inter as nibabel's `get_fdata()` (default true). With false, data holds the
   * stored values (float64 files still come as Float32Array).
   */
  scale?: boolean;
}

/**
 * True when the bytes start with the gzip magic (1f 8b).
 * @example isGzip(await Deno.readFile("t1.nii.gz")) // true
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;
  #gzip: boolean;
  constructor(stream: ReadableStream<Uint8Array>, gzip: boolean) {
    this.#reader = stream.getReader();
    this.#gzip = gzip;
  }

  async #next(): Promise<boolean> {
    let step;
    try {
      step = await this.#reader.read();
    } catch (err) {
      if (err instanceof BadInputError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new BadInputError(
        this.#gzip
          ? `gzip data is corrupt or truncated (${why})`
          : `the NIfTI stream failed (${why})`,
      );
    }
    if (step.done) return false;
    this.#chunk = step.value;
    this.#at = 0;
    return true;
  }

  /** Fills `target` from its start as far as the stream goes; returns the bytes written. */
  async read(target: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      if (this.#at >= this.#chunk.length && !(await this.#next())) break;
      const n = Math.min(target.length - filled, this.#chunk.length - this.#at);
      target.set(this.#chunk.subarray(this.#at, this.#at + n), filled);
      this.#at += n;
      filled += n;
    }
    return filled;
  }

  /** Discards `count` bytes; returns how many there were. */
  async skip(count: number): Promise<number> {
    let skipped = 0;
    while (skipped < count) {
      if (this.#at >= this.#chunk.length && !(await this.#next())) break;
      const n = Math.min(count - skipped, this.#chunk.length - this.#at);
      this.#at += n;
      skipped += n;
    }
    return skipped;
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** The stream of a file's uncompressed bytes, gunzipped when it starts with the gzip magic. */
async function uncompressed(
  input: ReadableStream<Uint8Array>,
): Promise<{ stream: ReadableStream<Uint8Array>; gzip: boolean }> {
  const reader = input.getReader();
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 2) {
    const step = await reader.read().catch((err) => {
      throw new BadInputError(`the NIfTI stream failed (${err?.message ?? err})`);
    });
    if (step.done) break;
    head.push(step.value);
    have += step.value.length;
  }
  const first = head.length === 1 ? head[0] : concat(head, have);
  const whole = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length) controller.enqueue(first);
    },
    async pull(controller) {
      const step = await reader.read();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gzip = isGzip(first);
  return {
    stream: gzip ? gunzip(whole) : whole,
    gzip,
  };
}

/** 64 KiB views of `bytes`: DecompressionStream given one large chunk was measured slower. */
function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 1 << 16) yield bytes.subarray(at, at + (1 << 16));
}

/** The platform's native streaming gunzip. */
function gunzip(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return (stream as ReadableStream<Uint8Array<ArrayBuffer>>).pipeThrough(
    new DecompressionStream("gzip"),
  );
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Voxel count and byte sizes a header declares, checked against the limit before allocating. */
function plan(h: NiftiHeader, maxBytes: number, scale: boolean) {
  const dims = shapeOf(h);
  let voxels = 1;
  for (const d of dims) voxels *= d;
  if (voxels === 0) {
    throw new InvalidInputError(`NIfTI volume has no voxels (shape ${dims.join("x")})`);
  }
  const datatype = datatypeOf(h);
  const stored = voxels * DATATYPES[h.datatype].bytes;
  const scaling = scale ? slopeInter(h) : undefined;
  const scaled = scaling !== undefined && !(scaling.slope === 1 && scaling.inter === 0);
  const decoded = voxels * (scaled || datatype === "float64" ? 4 : DATATYPES[h.datatype].bytes);
  const largest = Math.max(stored, decoded);
  if (!(largest <= maxBytes)) {
    throw new LimitExceededError(
      `NIfTI volume ${
        dims.join("x")
      } ${datatype} needs ${largest} bytes, over the limit of ${maxBytes}`,
      { limit: maxBytes, declared: largest },
    );
  }
  return { dims, voxels, datatype, stored, scaling: scaled ? scaling : undefined };
}

/** The stored values as a typed array over `raw` (aligned), in host byte order. */
function storedView(raw: Uint8Array, h: NiftiHeader): Pixels | Float64Array {
  const size = DATATYPES[h.datatype].bytes;
  if (h.littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(raw, size);
  const { buffer, byteOffset } = raw;
  const n = raw.length / size;
  switch (datatypeOf(h)) {
    case "uint8":
      return raw;
    case "int16":
      return new Int16Array(buffer, byteOffset, n);
    case "uint16":
      return new Uint16Array(buffer, byteOffset, n);
    case "int32":
      return new Int32Array(buffer, byteOffset, n);
    case "float32":
      return new Float32Array(buffer, byteOffset, n);
    case "float64":
      return new Float64Array(buffer, byteOffset, n);
  }
}

/**
 * nibabel's `apply_read_scaling` in double, rounded to float32 into `out` from `at`: multiply
 * unless the slope is 1, add unless the intercept is 0 (so -0 stays -0 as in numpy).
 */
function applyScaling(
  values: ArrayLike<number>,
  { slope, inter }: { slope: number; inter: number },
  out: Float32Array,
  at: number,
): void {
  const n = values.length;
  if (inter === 0) { for (let i = 0; i < n; i++) out[at + i] = values[i] * slope; }
  else if (slope === 1) { for (let i = 0; i < n; i++) out[at + i] = values[i] + inter; }
  else for (let i = 0; i < n; i++) out[at + i] = values[i] * slope + inter;
}

/** Bytes decoded at a time when the voxels are converted (a multiple of every voxel size). */
const STAGE_BYTES = 1 << 20;

/** Fills `target` from the voxel bytes in order; returns how many bytes it wrote. */
type Fill = (target: Uint8Array) => Promise<number>;

/**
 * The voxels from `fill`: kept in the stored type (one buffer of the declared size), or converted
 * to float32 (scaled, or float64) through a small staging buffer, so a float64 volume never sits
 * in memory beside its float32 copy.
 */
async function decodeVoxels(
  h: NiftiHeader,
  p: ReturnType<typeof plan>,
  fill: Fill,
): Promise<Pixels> {
  const convert = p.scaling !== undefined || p.datatype === "float64";
  if (!convert) {
    const raw = new Uint8Array(p.stored);
    const got = await fill(raw);
    if (got < p.stored) throw truncated(h, got, p.stored);
    return storedView(raw, h) as Pixels;
  }
  const size = DATATYPES[h.datatype].bytes;
  const out = new Float32Array(p.voxels);
  const stage = new Uint8Array(Math.min(STAGE_BYTES, p.stored));
  for (let done = 0; done < p.stored;) {
    const want = Math.min(stage.length, p.stored - done);
    const chunk = stage.subarray(0, want);
    const got = await fill(chunk);
    if (got < want) throw truncated(h, done + got, p.stored);
    const values = storedView(chunk, h);
    if (p.scaling) applyScaling(values, p.scaling, out, done / size);
    else out.set(values, done / size);
    done += want;
  }
  return out;
}

function toVolume(h: NiftiHeader, data: Pixels, p: ReturnType<typeof plan>): Volume {
  const zooms = zoomsOf(h);
  const [width, height, depth, frames] = shapeParts(p.dims);
  return {
    dims: p.dims,
    width,
    height,
    depth,
    frames,
    data,
    spacing: [zooms[0] ?? 1, zooms[1] ?? 1, zooms[2] ?? 1],
    affine: bestAffine(h),
    datatype: p.datatype,
    scaled: p.scaling !== undefined,
    header: h,
  };
}

function truncated(h: NiftiHeader, got: number, want: number): BadInputError {
  return new BadInputError(
    `NIfTI file is truncated: the voxel data needs ${want} bytes after offset ${h.vox_offset}, found ${got}`,
    { expected: want, found: got },
  );
}

/**
 * Reads a NIfTI-1 or NIfTI-2 file (`.nii`, or `.nii.gz` detected by its magic) from bytes or a
 * stream. Typed errors for everything wrong with the input: BadInputError (not NIfTI, truncated,
 * corrupt gzip, malformed header), UnsupportedError (datatypes other than uint8, int16, uint16,
 * int32, float32, float64; NIfTI pairs), LimitExceededError (declared size over `maxBytes`),
 * InvalidInputError (no voxels).
 * @example const t1 = await readNifti((await Deno.open("t1.nii.gz")).readable)
 */
export async function readNifti(
  input: Uint8Array | ReadableStream<Uint8Array>,
  options: ReadOptions = {},
): Promise<Volume> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const scale = options.scale ?? true;
  if (input instanceof Uint8Array && !isGzip(input)) return await readBytes(input, maxBytes, scale);
  const source = input instanceof Uint8Array
    ? { stream: gunzip(ReadableStream.from(pieces(input))), gzip: true }
    : await uncompressed(input);
  const reader = new ByteReader(source.stream, source.gzip);
  try {
    const head = new Uint8Array(NIFTI2_MIN_OFFSET);
    const got = await reader.read(head);
    if (got === 0) throw new BadInputError("NIfTI input is empty");
    const h = parseHeader(head.subarray(0, got));
    const p = plan(h, maxBytes, scale);
    // Tiny files: the voxels may start inside the bytes already read for the header.
    let early = head.subarray(Math.min(got, h.vox_offset), got);
    if (h.vox_offset > got) {
      const gap = h.vox_offset - got;
      if ((await reader.skip(gap)) < gap) throw truncated(h, 0, p.stored);
    }
    const data = await decodeVoxels(h, p, async (target) => {
      const n = Math.min(early.length, target.length);
      target.set(early.subarray(0, n));
      early = early.subarray(n);
      return n + (n < target.length ? await reader.read(target.subarray(n)) : 0);
    });
    // Read on to the gzip trailer so that its CRC is checked (as Python's gzip, and so nibabel,
    // refuse a damaged file), unless more than a little data follows the voxels.
    if (source.gzip) await reader.skip(TRAILING_CHECK_BYTES);
    return toVolume(h, data, p);
  } finally {
    await reader.close();
  }
}

/** The uncompressed path: no streams; the voxel bytes copied once (aligned for the views). */
async function readBytes(bytes: Uint8Array, maxBytes: number, scale: boolean): Promise<Volume> {
  if (bytes.length === 0) throw new BadInputError("NIfTI input is empty");
  const h = parseHeader(bytes.subarray(0, NIFTI2_MIN_OFFSET));
  const p = plan(h, maxBytes, scale);
  let at = h.vox_offset;
  const data = await decodeVoxels(h, p, (target) => {
    const n = Math.max(0, Math.min(target.length, bytes.length - at));
    target.set(bytes.subarray(at, at + n));
    at += n;
    return Promise.resolve(n);
  });
  return toVolume(h, data, p);
}
