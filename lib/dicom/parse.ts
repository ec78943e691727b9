/**
 * DICOM Part 10 datasets to a parsed dataset and typed metadata, with dicom-parser. Also reads
 * datasets without the 128-byte preamble and File Meta header (the transfer syntax is sniffed from
 * the first element, as pydicom's `force=True` does), explicit VR big endian, and deflated datasets
 * (inflated with a cap, so a small deflated file cannot expand without bound).
 */
import dicomParser from "dicom-parser";
import { inflateRawSync } from "node:zlib";
import { BadInputError, LimitExceededError } from "../errors.ts";

/** A dataset as dicom-parser gives it. */
export type DataSet = ReturnType<typeof dicomParser.parseDicom>;

/** Transfer syntax UIDs used by the parser itself. */
export const IMPLICIT_LE = "1.2.840.10008.1.2";
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";
export const EXPLICIT_BE = "1.2.840.10008.1.2.2";
export const DEFLATED_LE = "1.2.840.10008.1.2.1.99";

/** Default cap on a deflated dataset's inflated size (the same as the pixel limit, 512 MiB). */
export const DEFAULT_INFLATE_LIMIT = 512 * 1024 * 1024;

/** Uppercase two-letter VR at `at` (how explicit VR shows itself). */
function looksLikeVr(b: Uint8Array, at: number): boolean {
  return b.length > at + 1 && b[at] >= 65 && b[at] <= 90 && b[at + 1] >= 65 && b[at + 1] <= 90;
}

/**
 * The transfer syntax of a dataset without File Meta, from its first element: group 0x0008 read
 * big-endian means explicit VR BE; a VR after the tag means explicit VR LE; else implicit VR LE.
 */
function sniffTransferSyntax(b: Uint8Array): string {
  if (b.length < 8) throw new BadInputError("DICOM data is too short to hold one element");
  const littleGroup = b[0] | (b[1] << 8), bigGroup = (b[0] << 8) | b[1];
  // A bare dataset starts with its lowest group: command (0000), meta (0002) or identifying (0008).
  if (bigGroup > 0 && bigGroup <= 0x0008 && looksLikeVr(b, 4)) return EXPLICIT_BE;
  if (littleGroup > 0x0008) {
    throw new BadInputError(
      "not DICOM: no 'DICM' prefix at byte 128, and the data does not start with a DICOM element",
    );
  }
  return looksLikeVr(b, 4) ? EXPLICIT_LE : IMPLICIT_LE;
}

function message(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof Error) return err.message;
  const inner = (err as { exception?: unknown })?.exception;
  return inner !== undefined ? message(inner) : String(err);
}

/**
 * Parses DICOM bytes (Part 10, or a bare dataset) into a dicom-parser DataSet.
 * @example const ds = parseDataSet(await Deno.readFile("ct.dcm"))
 */
export function parseDataSet(bytes: Uint8Array, inflateLimit = DEFAULT_INFLATE_LIMIT): DataSet {
  let data = bytes;
  const hasPreamble = bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 &&
    bytes[130] === 0x43 && bytes[131] === 0x4d;
  const prefixOnly = !hasPreamble && bytes.length >= 4 && bytes[0] === 0x44 && bytes[1] === 0x49 &&
    bytes[2] === 0x43 && bytes[3] === 0x4d;
  if (prefixOnly) {
    // "DICM" without the preamble: put the 128 bytes back so the meta header reads as usual.
    data = new Uint8Array(bytes.length + 128);
    data.set(bytes, 128);
  }
  const options: Record<string, unknown> = {
    inflater: (array: Uint8Array, position: number) => {
      let inflated: Uint8Array;
      try {
        inflated = inflateRawSync(array.subarray(position), { maxOutputLength: inflateLimit });
      } catch (err) {
        const m = message(err);
        if (/maxOutputLength|buffer/i.test(m)) {
          throw new LimitExceededError(
            `deflated dataset inflates past the limit of ${inflateLimit} bytes`,
            {
              limit: inflateLimit,
            },
          );
        }
        throw new BadInputError(`deflated dataset could not be inflated: ${m}`);
      }
      const full = new Uint8Array(position + inflated.length);
      full.set(array.subarray(0, position));
      full.set(inflated, position);
      return full;
    },
  };
  if (!hasPreamble && !prefixOnly) options.TransferSyntaxUID = sniffTransferSyntax(bytes);
  try {
    const ds = dicomParser.parseDicom(data, options);
    // A bare dataset must hold something besides group 0000 (command elements, never in files) and
    // group 0002 (the meta element dicom-parser adds for the syntax we sniffed): zeros or other noise
    // parse as nothing else.
    if (
      !hasPreamble && !prefixOnly &&
      !Object.keys(ds.elements).some((tag) => !/^x000[02]/.test(tag))
    ) {
      throw new BadInputError(
        "not DICOM: no 'DICM' prefix at byte 128, and read as a bare dataset it holds no data elements",
      );
    }
    return ds;
  } catch (err) {
    const inner = (err as { exception?: unknown })?.exception ?? err;
    if (inner instanceof LimitExceededError || inner instanceof BadInputError) throw inner;
    const bare = hasPreamble || prefixOnly
      ? ""
      : " (no 'DICM' prefix at byte 128, so it was read as a bare dataset)";
    throw new BadInputError(`DICOM could not be parsed${bare}: ${message(err)}`);
  }
}

/** Metadata used downstream, typed. Patient-identifying fields are only in `phi`. */
export interface DicomMeta {
  transferSyntaxUID: string | null;
  sopInstanceUID: string | null;
  modality: string | null;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometricInterpretation: string;
  /** [row, column] spacing in mm from PixelSpacing, else ImagerPixelSpacing. */
  pixelSpacing: [number, number] | null;
  pixelSpacingSource: "PixelSpacing" | "ImagerPixelSpacing" | null;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number | null;
  windowWidth: number | null;
  /** PatientAge in years (from "058Y", "006M", "003W", "010D" or a bare number). */
  patientAge: number | null;
  patientAgeRaw: string | null;
  patientSex: string | null;
  viewPosition: string | null;
  instanceNumber: number | null;
  sliceLocation: number | null;
  imagePositionPatient: [number, number, number] | null;
  /** Header values that are present but unreadable (e.g. NumberOfFrames "1A"). */
  problems: string[];
  /** Identifying fields, for callers that ask for them explicitly. */
  phi: {
    patientName: string | null;
    patientId: string | null;
    patientBirthDate: string | null;
    accessionNumber: string | null;
  };
}

/**
 * PatientAge (AS: nnnD, nnnW, nnnM, nnnY) or a bare number, in years; null when unreadable.
 * @example parseAge("058Y") // 58
 * @example parseAge("006M") // 0.5
 */
export function parseAge(raw: string | null | undefined): number | null {
  if (!raw) return null;
  const m = /^\s*(\d{1,3})\s*([DWMYdwmy])?\s*$/.exec(raw);
  if (!m) return null;
  const n = Number(m[1]);
  switch ((m[2] ?? "Y").toUpperCase()) {
    case "D":
      return n / 365.25;
    case "W":
      return (n * 7) / 365.25;
    case "M":
      return n / 12;
    default:
      return n;
  }
}

function str(ds: DataSet, tag: string): string | null {
  try {
    const v = ds.string(tag);
    return v === undefined || v === "" ? null : v;
  } catch {
    return null;
  }
}

function num(ds: DataSet, tag: string, index = 0): number | null {
  const v = str(ds, tag)?.split("\\")[index];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) && v.trim() !== "" ? n : null;
}

function us(ds: DataSet, tag: string): number | null {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return null;
  try {
    return ds.uint16(tag) ?? null;
  } catch {
    return null;
  }
}

function pair(ds: DataSet, tag: string): [number, number] | null {
  const a = num(ds, tag, 0), b = num(ds, tag, 1);
  return a !== null && b !== null && a > 0 && b > 0 ? [a, b] : null;
}

/**
 * Typed metadata of a parsed dataset.
 * @example readMeta(parseDataSet(bytes)).modality // "CT"
 */
export function readMeta(ds: DataSet): DicomMeta {
  const spacing = pair(ds, "x00280030");
  const imagerSpacing = spacing ? null : pair(ds, "x00181164");
  const ipp = [0, 1, 2].map((i) => num(ds, "x00200032", i));
  const ageRaw = str(ds, "x00101010");
  const problems: string[] = [];
  const framesRaw = str(ds, "x00280008");
  if (framesRaw !== null && !/^\s*\d+\s*$/.test(framesRaw)) {
    problems.push(`NumberOfFrames ${JSON.stringify(framesRaw)} is not an integer`);
  }
  return {
    transferSyntaxUID: str(ds, "x00020010")?.replace(/\0/g, "").trim() ?? null,
    sopInstanceUID: str(ds, "x00080018"),
    modality: str(ds, "x00080060"),
    rows: us(ds, "x00280010") ?? 0,
    columns: us(ds, "x00280011") ?? 0,
    frames: Math.max(1, num(ds, "x00280008") ?? 1),
    samplesPerPixel: us(ds, "x00280002") ?? 1,
    bitsAllocated: us(ds, "x00280100") ?? 0,
    bitsStored: us(ds, "x00280101") ?? us(ds, "x00280100") ?? 0,
    highBit: us(ds, "x00280102") ?? 0,
    pixelRepresentation: us(ds, "x00280103") ?? 0,
    planarConfiguration: us(ds, "x00280006") ?? 0,
    photometricInterpretation: (str(ds, "x00280004") ?? "MONOCHROME2").trim().toUpperCase(),
    pixelSpacing: spacing ?? imagerSpacing,
    pixelSpacingSource: spacing ? "PixelSpacing" : imagerSpacing ? "ImagerPixelSpacing" : null,
    rescaleSlope: num(ds, "x00281053") ?? 1,
    rescaleIntercept: num(ds, "x00281052") ?? 0,
    windowCenter: num(ds, "x00281050"),
    windowWidth: num(ds, "x00281051"),
    patientAge: parseAge(ageRaw),
    patientAgeRaw: ageRaw,
    patientSex: str(ds, "x00100040"),
    viewPosition: str(ds, "x00185101"),
    instanceNumber: num(ds, "x00200013"),
    sliceLocation: num(ds, "x00201041"),
    imagePositionPatient: ipp.every((v) => v !== null) ? ipp as [number, number, number] : null,
    problems,
    phi: {
      patientName: str(ds, "x00100010"),
      patientId: str(ds, "x00100020"),
      patientBirthDate: str(ds, "x00100030"),
      accessionNumber: str(ds, "x00080050"),
    },
  };
}
