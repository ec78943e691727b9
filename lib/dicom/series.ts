/**
 * A DICOM series to a volume with its geometry, as dicom2nifti / nibabel build one: slices ordered
 * by their position along the slice normal (ImageOrientationPatient row x column cosines, dotted
 * with ImagePositionPatient; InstanceNumber only when a position is missing), the slice step from
 * the first and last positions, and the LPS voxel-to-patient matrix turned into NIfTI's RAS+ (x and
 * y negated). Input is many single-frame instances or one enhanced multi-frame instance (geometry
 * from its Per-frame / Shared Functional Groups, PS3.3 C.7.6.16). Values are after the Modality LUT
 * with lib/dicom/pixels.ts's `applyRescale` rule: the stored type when slope 1 / intercept 0, Int16
 * when every slice stays integral within int16, else Float32; slices whose types differ are widened
 * to one type for the whole volume (Int32 for mixed integer types, else Float32).
 *
 * Refusals (InvalidInputError, 422 over HTTP) name the offending instance by input index and
 * SOPInstanceUID (`facts.instance`, `facts.sop_instance_uid`, and `facts.frame` for multi-frame):
 * another SeriesInstanceUID, other Rows/Columns, another orientation (any direction cosine off by
 * more than 1e-4), two slices closer than 0.001 mm along the normal (duplicates), and a gap between
 * neighbours that differs from the median gap by more than `gapTolerance` (default 1%) of it (the
 * slice after the odd gap is named). The z step of the affine is (last - first) / (n - 1). A volume
 * over `maxBytes` is refused (LimitExceededError) before any pixel is decoded.
 */
import { InvalidInputError, LimitExceededError, MedimgError, UnsupportedError } from "../errors.ts";
import { newPixels, type Pixels } from "../image/image.ts";
import { type Affine, withAffine } from "../nifti/affine.ts";
import {
  type Datatype,
  DATATYPE_CODES,
  DATATYPES,
  emptyHeader,
  type NiftiHeader,
} from "../nifti/header.ts";
import type { Volume } from "../nifti/volume.ts";
import { type DataSet, type DicomMeta, parseDataSet, readMeta } from "./parse.ts";
import { applyRescale, DEFAULT_PIXEL_LIMIT, readStoredFrame } from "./pixels.ts";

/** One slice of the volume: where it came from and where it sits. */
export interface SeriesSlice {
  /** Index of the instance in the input list. */
  instance: number;
  /** Frame within that instance (0 for single-frame instances). */
  frame: number;
  sopInstanceUID: string | null;
  sopClassUID: string | null;
  /** ImagePositionPatient (LPS, mm), or null where the instance has none. */
  position: [number, number, number] | null;
  instanceNumber: number | null;
}

/** A series assembled into a volume. */
export interface Series {
  /** Voxels x (columns) fastest, then y (rows), then z (slices in increasing position along the normal). */
  volume: Volume;
  /** The volume's slices in z order. */
  slices: SeriesSlice[];
  /** ImageOrientationPatient (row then column direction cosines, LPS), [1,0,0,0,1,0] when absent. */
  orientation: [number, number, number, number, number, number];
  /** How the slices were ordered. */
  ordering: "position" | "instance-number";
  /** Signed distance between neighbouring slices along the normal in mm (the affine's z step). */
  sliceSpacing: number;
  seriesInstanceUID: string | null;
  studyInstanceUID: string | null;
  frameOfReferenceUID: string | null;
  /** The parsed datasets, by input index (for writers that copy modules from the source). */
  datasets: DataSet[];
}

/** Options of {@link assembleSeries}. */
export interface SeriesOptions {
  /** Largest allowed relative difference between a gap and the median gap (default 0.01, i.e. 1%). */
  gapTolerance?: number;
  /** Largest volume in bytes (default 512 MiB, as the pixel limit of one instance). */
  maxBytes?: number;
}

/** Slices closer than this along the normal (mm) are duplicates. */
export const DUPLICATE_MM = 1e-3;
/** Largest difference of a direction cosine between two slices of one series. */
export const ORIENTATION_TOLERANCE = 1e-4;

const PER_FRAME = "x52009230", SHARED = "x52009229";
const PLANE_POSITION = "x00209113", PLANE_ORIENTATION = "x00209116";
const PIXEL_MEASURES = "x00289110", PIXEL_VALUE_TRANSFORMATION = "x00289145";

/** A frame's view of its geometry, wherever the dataset keeps it. */
interface FrameGeometry {
  slice: SeriesSlice;
  orientation: number[] | null;
  pixelSpacing: [number, number] | null;
  thickness: number | null;
  slope: number;
  intercept: number;
}

function text(ds: DataSet, tag: string): string | null {
  try {
    const v = ds.string(tag);
    return v === undefined || v.trim() === "" ? null : v.replace(/\0/g, "").trim();
  } catch {
    return null;
  }
}

function numbers(ds: DataSet | null, tag: string, count: number): number[] | null {
  const raw = ds ? text(ds, tag) : null;
  if (raw === null) return null;
  const parts = raw.split("\\").map((s) => Number(s));
  return parts.length >= count && parts.slice(0, count).every(Number.isFinite)
    ? parts.slice(0, count)
    : null;
}

/** Item 0 of sequence `seq` in the per-frame group of `frame`, else in the shared group. */
function groupItem(ds: DataSet, frame: number, seq: string): DataSet | null {
  const perFrame = ds.elements[PER_FRAME]?.items?.[frame]?.dataSet;
  const own = perFrame?.elements[seq]?.items?.[0]?.dataSet;
  if (own) return own;
  return ds.elements[SHARED]?.items?.[0]?.dataSet?.elements[seq]?.items?.[0]?.dataSet ?? null;
}

function who(index: number, uid: string | null, frame?: number): string {
  const f = frame === undefined ? "" : `frame ${frame} of `;
  return `${f}instance ${index}${uid ? ` (SOPInstanceUID ${uid})` : ""}`;
}

function refuse(message: string, s: SeriesSlice, multiFrame: boolean): InvalidInputError {
  return new InvalidInputError(message, {
    instance: s.instance,
    sop_instance_uid: s.sopInstanceUID,
    ...(multiFrame ? { frame: s.frame } : {}),
  });
}

function frameGeometry(ds: DataSet, meta: DicomMeta, index: number, frame: number, multi: boolean) {
  const slice: SeriesSlice = {
    instance: index,
    frame,
    sopInstanceUID: meta.sopInstanceUID,
    sopClassUID: text(ds, "x00080016"),
    position: null,
    instanceNumber: meta.instanceNumber,
  };
  const top = (tag: string, n: number) => numbers(ds, tag, n);
  const inGroup = (seq: string, tag: string, n: number) =>
    multi ? numbers(groupItem(ds, frame, seq), tag, n) : null;
  const position = inGroup(PLANE_POSITION, "x00200032", 3) ?? top("x00200032", 3);
  slice.position = position as [number, number, number] | null;
  const spacing = inGroup(PIXEL_MEASURES, "x00280030", 2) ?? top("x00280030", 2);
  const rescale = multi ? groupItem(ds, frame, PIXEL_VALUE_TRANSFORMATION) : null;
  return {
    slice,
    orientation: inGroup(PLANE_ORIENTATION, "x00200037", 6) ?? top("x00200037", 6),
    pixelSpacing: spacing && spacing[0] > 0 && spacing[1] > 0 ? [spacing[0], spacing[1]] : null,
    thickness:
      (inGroup(PIXEL_MEASURES, "x00180088", 1) ?? inGroup(PIXEL_MEASURES, "x00180050", 1) ??
        top("x00180088", 1) ?? top("x00180050", 1))?.[0] ?? null,
    slope: numbers(rescale, "x00281053", 1)?.[0] ?? meta.rescaleSlope,
    intercept: numbers(rescale, "x00281052", 1)?.[0] ?? meta.rescaleIntercept,
  } satisfies FrameGeometry;
}

function cross(a: number[], b: number[]): [number, number, number] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function dot(a: number[], b: number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** The one typed-array class a volume of these slice types is stored in. */
function commonType(slices: Pixels[]): Datatype {
  const names = new Set(slices.map((d) => d.constructor.name));
  const only = names.size === 1 ? [...names][0] : null;
  const direct: Record<string, Datatype> = {
    Uint8Array: "uint8",
    Int16Array: "int16",
    Uint16Array: "uint16",
    Int32Array: "int32",
    Float32Array: "float32",
  };
  if (only && direct[only]) return direct[only];
  if (names.has("Float32Array")) return "float32";
  if (names.has("Uint32Array")) {
    // Unsigned 32-bit values fit Int32 only below 2^31.
    const fits = slices.every((d) => !(d instanceof Uint32Array) || d.every((v) => v < 2 ** 31));
    if (!fits) {
      throw new UnsupportedError("32-bit unsigned pixel values of 2^31 and over are not supported");
    }
    return "int32";
  }
  if ([...names].every((n) => n === "Uint8Array" || n === "Int8Array" || n === "Int16Array")) {
    return "int16";
  }
  return "int32";
}

/** A new array for `type`; float64, which commonType never picks, gets float32 as before. */
function arrayOf(type: Datatype, n: number): Pixels {
  return newPixels(type === "float64" ? "float32" : type, n);
}

/** A NIfTI-1 header for a new volume (what nibabel writes for `Nifti1Image(data, affine)`). */
function newHeader(type: Datatype, dims: number[], affine: Affine, description: string) {
  const code = DATATYPE_CODES[type];
  const blank: NiftiHeader = {
    ...emptyHeader(1, true),
    sizeof_hdr: 348,
    regular: "r",
    dim: [0, 1, 1, 1, 1, 1, 1, 1],
    datatype: code,
    bitpix: DATATYPES[code].bytes * 8,
    pixdim: [1, 1, 1, 1, 1, 1, 1, 1],
    vox_offset: 352,
    scl_slope: 1,
    xyzt_units: 2, // mm
    descrip: description.slice(0, 79),
    magic: "n+1",
  };

  // Scanner-anchored, as dicom2nifti writes it: sform and qform both code 1.
  return { ...withAffine(blank, affine, dims), sform_code: 1, qform_code: 1 };
}

/** Parses one input, naming it in any error. */
function parseInput(input: Uint8Array | DataSet, index: number): DataSet {
  if (!(input instanceof Uint8Array)) return input;
  try {
    return parseDataSet(input);
  } catch (err) {
    if (err instanceof MedimgError) {
      const Cls = err.constructor as new (m: string, f: MedimgError["facts"]) => MedimgError;
      throw new Cls(`instance ${index}: ${err.message}`, { ...err.facts, instance: index });
    }
    throw err;
  }
}

/**
 * Many single-frame instances, or one multi-frame instance, to a volume with its geometry.
 * @example const { volume, slices } = await assembleSeries(files.map((f) => Deno.readFileSync(f)))
 */
export async function assembleSeries(
  inputs: readonly (Uint8Array | DataSet)[],
  options: SeriesOptions = {},
): Promise<Series> {
  const gapTolerance = options.gapTolerance ?? 0.01;
  const maxBytes = options.maxBytes ?? DEFAULT_PIXEL_LIMIT;
  if (inputs.length === 0) throw new InvalidInputError("the series has no instances");
  const datasets = inputs.map(parseInput);
  const metas = datasets.map(readMeta);
  const multi = metas.some((m) => m.frames > 1);
  if (multi && inputs.length > 1) {
    const i = metas.findIndex((m) => m.frames > 1);
    throw new InvalidInputError(
      `${who(i, metas[i].sopInstanceUID)} has ${
        metas[i].frames
      } frames: a multi-frame instance must be sent alone, as the whole series`,
      { instance: i, sop_instance_uid: metas[i].sopInstanceUID },
    );
  }
  const frames: FrameGeometry[] = [];
  datasets.forEach((ds, i) => {
    for (let f = 0; f < metas[i].frames; f++) frames.push(frameGeometry(ds, metas[i], i, f, multi));
  });

  const first = frames[0], meta0 = metas[0];
  const seriesUID = text(datasets[0], "x0020000e");
  for (let i = 1; i < datasets.length; i++) {
    const uid = text(datasets[i], "x0020000e");
    if (uid !== seriesUID) {
      throw refuse(
        `mixed series: ${who(i, metas[i].sopInstanceUID)} belongs to SeriesInstanceUID ${uid}, ` +
          `instance 0 to ${seriesUID}`,
        frames.find((f) => f.slice.instance === i)!.slice,
        false,
      );
    }
  }
  for (const g of frames) {
    const m = metas[g.slice.instance];
    const name = who(g.slice.instance, g.slice.sopInstanceUID, multi ? g.slice.frame : undefined);
    if (m.rows !== meta0.rows || m.columns !== meta0.columns) {
      throw refuse(
        `${name} is ${m.rows}x${m.columns} (rows x columns), instance 0 is ${meta0.rows}x${meta0.columns}`,
        g.slice,
        multi,
      );
    }
    if (m.samplesPerPixel !== 1) {
      throw refuse(
        `${name} has ${m.samplesPerPixel} samples per pixel: a series volume is greyscale`,
        g.slice,
        multi,
      );
    }
    const o = g.orientation, o0 = first.orientation;
    if (
      (o === null) !== (o0 === null) ||
      (o && o0 && o.some((v, k) => Math.abs(v - o0[k]) > ORIENTATION_TOLERANCE))
    ) {
      throw refuse(
        `${name} has ImageOrientationPatient ${o?.join("\\") ?? "(none)"}, instance 0 has ${
          o0?.join("\\") ?? "(none)"
        }`,
        g.slice,
        multi,
      );
    }
  }

  const orientation = (first.orientation ?? [1, 0, 0, 0, 1, 0]) as Series["orientation"];
  const rowCos = orientation.slice(0, 3), colCos = orientation.slice(3, 6);
  const normal = cross(rowCos, colCos);
  const byPosition = frames.every((g) => g.slice.position !== null) && first.orientation !== null;
  const nameOf = (g: FrameGeometry) =>
    who(g.slice.instance, g.slice.sopInstanceUID, multi ? g.slice.frame : undefined);

  let order: { g: FrameGeometry; key: number }[];
  if (byPosition) {
    order = frames.map((g) => ({ g, key: dot(normal, g.slice.position!) }));
  } else {
    const missing = frames.find((g) => g.slice.instanceNumber === null);
    if (missing && frames.length > 1) {
      throw refuse(
        `${nameOf(missing)} has neither ImagePositionPatient (with ImageOrientationPatient) nor ` +
          "InstanceNumber, so its place in the series is unknown",
        missing.slice,
        multi,
      );
    }
    // A multi-frame instance without positions keeps its frame order.
    order = frames.map((g, k) => ({ g, key: multi ? k : g.slice.instanceNumber ?? 0 }));
  }
  order.sort((a, b) => a.key - b.key);

  const n = order.length;
  for (let k = 1; k < n; k++) {
    const gap = order[k].key - order[k - 1].key;
    if (byPosition ? gap < DUPLICATE_MM : gap === 0) {
      throw refuse(
        `duplicate slice: ${nameOf(order[k].g)} has the same ${
          byPosition ? "position along the slice normal" : "InstanceNumber"
        } (${order[k].key}) as ${nameOf(order[k - 1].g)}`,
        order[k].g.slice,
        multi,
      );
    }
  }
  let sliceSpacing = first.thickness ?? 1;
  let step: number[] = normal.map((v) => v * sliceSpacing);
  if (byPosition && n > 1) {
    // Gaps are judged against the median gap, so the slice after a missing or stray one is named.
    const gaps = order.slice(1).map((o, k) => o.key - order[k].key);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor((n - 1) / 2)];
    gaps.forEach((gap, k) => {
      if (Math.abs(gap - median) > gapTolerance * median) {
        throw refuse(
          `uneven slice gaps: ${nameOf(order[k + 1].g)} is ${round(gap)} mm from ${
            nameOf(order[k].g)
          }, the usual step is ${round(median)} mm (tolerance ${gapTolerance * 100}%)`,
          order[k + 1].g.slice,
          multi,
        );
      }
    });
    const p0 = order[0].g.slice.position!, pn = order[n - 1].g.slice.position!;
    step = [0, 1, 2].map((i) => (pn[i] - p0[i]) / (n - 1));
    sliceSpacing = (order[n - 1].key - order[0].key) / (n - 1);
  }

  const [rowSpacing, colSpacing] = first.pixelSpacing ?? [1, 1];
  const origin = order[0].g.slice.position ?? [0, 0, 0];
  const lps = [0, 1, 2].map((i) => [
    rowCos[i] * colSpacing,
    colCos[i] * rowSpacing,
    step[i],
    origin[i],
  ]);
  const affine: Affine = [
    lps[0].map((v) => -v),
    lps[1].map((v) => -v),
    lps[2],
    [0, 0, 0, 1],
  ].map((row) => row.map((v) => (v === 0 ? 0 : v))); // no -0 in the affine

  const width = meta0.columns, height = meta0.rows, plane = width * height;
  const bytesPerVoxel = Math.max(2, meta0.bitsAllocated / 8);
  if (plane * n * bytesPerVoxel > maxBytes) {
    throw new LimitExceededError(
      `the series volume ${width}x${height}x${n} is over the limit of ${maxBytes} bytes`,
      { limit: maxBytes },
    );
  }
  // Each slice goes straight into the volume, which is widened (once, in practice) when a slice
  // needs a wider type than the slices before it: no second copy of the series is held.
  let data: Pixels | null = null, datatype: Datatype = "uint8";
  for (const [z, { g }] of order.entries()) {
    const { instance, frame } = g.slice;
    let stored;
    try {
      stored = await readStoredFrame(datasets[instance], metas[instance], frame);
    } catch (err) {
      if (!(err instanceof MedimgError)) throw err;
      const Cls = err.constructor as new (m: string, f: MedimgError["facts"]) => MedimgError;
      throw new Cls(`${nameOf(g)}: ${err.message}`, {
        ...err.facts,
        instance,
        sop_instance_uid: g.slice.sopInstanceUID,
      });
    }
    const values = applyRescale(stored.data, g.slope, g.intercept);
    const type = commonType(data ? [data, values] : [values]);
    if (!data || type !== datatype) {
      const wider = arrayOf(type, plane * n);
      if (data) wider.set(data as ArrayLike<number>);
      [data, datatype] = [wider, type];
    }
    data.set(values as ArrayLike<number>, z * plane);
  }
  const dims = [width, height, n];
  const volume: Volume = {
    dims,
    width,
    height,
    depth: n,
    frames: 1,
    data: data!, // n >= 1, so the loop ran
    spacing: [colSpacing, rowSpacing, Math.abs(sliceSpacing)],
    affine,
    datatype,
    scaled: datatype === "float32" && frames.some((g) => g.slope !== 1 || g.intercept !== 0),
    header: newHeader(datatype, dims, affine, `DICOM series ${seriesUID ?? ""}`),
  };
  return {
    volume,
    slices: order.map(({ g }) => g.slice),
    orientation,
    ordering: byPosition ? "position" : "instance-number",
    sliceSpacing,
    seriesInstanceUID: seriesUID,
    studyInstanceUID: text(datasets[0], "x0020000d"),
    frameOfReferenceUID: text(datasets[0], "x00200052"),
    datasets,
  };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
