/**
 * A label volume to a DICOM Segmentation (PS3.3 A.51, BINARY), over the series it was computed
 * from: one segment per label with its SNOMED CT category and type codes and recommended display
 * CIELab colour, one frame per (segment, slice) that holds the segment (each segment keeps at least
 * one frame), each frame with its plane position, dimension index and derivation image (the source
 * instance), the source's frame of reference, patient and study modules copied from the source (or
 * de-identified), the referenced series and instances, and fresh 2.25 UUID-derived UIDs.
 *
 * The dataset is built as a naturalized dcmjs dataset and written by dcmjs's DicomDict writer.
 * dcmjs's own SEG helper (`derivations.Segmentation`) is not used: it wants the source normalized to
 * one multi-frame dataset by its Normalizer (which copies whatever the source holds into the SEG and
 * re-derives the geometry we already have in `Series`), fills the pixel data from a caller-packed
 * buffer without checking it, and leaves the per-frame groups and codes to be patched afterwards;
 * writing the modules ourselves keeps each attribute traceable to the standard and to dciodvfy.
 */
import dcmjs from "dcmjs";
import { InvalidInputError } from "../errors.ts";
import type { Pixels } from "../image/image.ts";
import { replaceUid } from "./deidentify.ts";
import type { DataSet } from "./parse.ts";
import type { Series } from "./series.ts";

const { DicomMetaDictionary, DicomDict } = dcmjs.data;

/** A coded concept (PS3.3 8.8): value, coding scheme (e.g. "SCT" for SNOMED CT), meaning. */
export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

/** One segment: the label value it covers in the label volume and how to describe it. */
export interface SegmentDescription {
  /** The label value in the label volume (1..65535; 0 is background). */
  label: number;
  /** SegmentLabel, e.g. "Liver". */
  name: string;
  /** SegmentedPropertyCategoryCodeSequence, e.g. { value: "123037004", scheme: "SCT", meaning: "Anatomical Structure" }. */
  category: Code;
  /** SegmentedPropertyTypeCodeSequence, e.g. { value: "10200004", scheme: "SCT", meaning: "Liver" }. */
  type: Code;
  /** Recommended display colour as CIE L*a*b* (L 0..100, a and b -128..127). */
  cielab?: [number, number, number];
}

/** Options of {@link writeSeg}. */
export interface SegOptions {
  /** Replace patient and study identity (PS3.15 E.1 Basic Profile for the copied modules). */
  deidentify?: boolean;
  /** Key for the consistent UID replacement when de-identifying (see lib/dicom/deidentify.ts). */
  uidKey?: string;
  /** SegmentAlgorithmName and ContentCreatorName (default "medimg-edge"). */
  algorithmName?: string;
  /** SeriesDescription of the SEG (default "Segmentation"). */
  seriesDescription?: string;
  /** SeriesNumber of the SEG (default 300). */
  seriesNumber?: number;
  /** SoftwareVersions (default "medimg-edge"). */
  softwareVersion?: string;
  /** ContentDate/Time and SeriesDate/Time (default now). */
  now?: Date;
}

const SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
/** This writer's Implementation Class UID (a fixed UUID-derived 2.25 UID). */
export const IMPLEMENTATION_CLASS_UID = "2.25.203861466733546937214416399738283521283";

/**
 * A fresh UID from a random UUID (ITU-T X.667 2.25 form).
 * @example newUid() // "2.25.2872..."
 */
export function newUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, "")}`)}`;
}

/**
 * CIE L*a*b* to the scaled unsigned values of RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1).
 * @example cielabToDicom([100, 0, 0]) // [65535, 32896, 32896]
 */
export function cielabToDicom([l, a, b]: [number, number, number]): [number, number, number] {
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [
    clamp((l * 65535) / 100),
    clamp(((a + 128) * 65535) / 255),
    clamp(((b + 128) * 65535) / 255),
  ];
}

/**
 * sRGB (0..255 each) to CIE L*a*b* (D65 white, the sRGB white point), for cards that give a
 * segment's colour as RGB.
 * @example rgbToCielab([255, 255, 255]) // [100, 0, 0] (to rounding)
 */
export function rgbToCielab(rgb: [number, number, number]): [number, number, number] {
  const [r, g, b] = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
  const [fx, fy, fz] = [f(x), f(y), f(z)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

function text(ds: DataSet, tag: string): string {
  try {
    return ds.string(tag)?.replace(/\0/g, "").trim() ?? "";
  } catch {
    return "";
  }
}

/** A number as a Decimal String of at most 16 characters (PS3.5 6.2), as precise as that allows. */
function decimal(v: number): string {
  for (let digits = 16; digits > 1; digits--) {
    const s = String(Number(v.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return v.toExponential(6);
}

function code(c: Code) {
  return { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning };
}

function dateTime(d: Date): [string, string] {
  const iso = d.toISOString();
  return [iso.slice(0, 10).replace(/-/g, ""), iso.slice(11, 19).replace(/:/g, "")];
}

/**
 * The frames' masks (voxels of `label` in slice `z`) as bits, LSB first, frames back to back, padded
 * to an even length (PS3.5 8.1.1); packed straight from the labels, without a mask per frame.
 */
function packFrames(labels: Pixels, frames: { label: number; z: number }[], plane: number) {
  const bytes = Math.ceil((frames.length * plane) / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let bit = 0;
  for (const { label, z } of frames) {
    for (let p = 0, v = z * plane; p < plane; p++, v++, bit++) {
      if (labels[v] === label) out[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return out;
}

/**
 * A label volume (the series volume's shape, x fastest) to DICOM SEG bytes (Part 10, explicit VR
 * little endian).
 * @example
 * const series = await assembleSeries(instances);
 * const seg = await writeSeg(labels, series, [{ label: 1, name: "Liver", category, type: liver }]);
 */
export async function writeSeg(
  labels: Pixels,
  series: Series,
  segments: readonly SegmentDescription[],
  options: SegOptions = {},
): Promise<Uint8Array> {
  const { volume, slices } = series;
  const { width, height, depth } = volume;
  const plane = width * height;
  if (labels.length !== plane * depth) {
    throw new InvalidInputError(
      `the label volume has ${labels.length} voxels, the series ${width}x${height}x${depth} = ${
        plane * depth
      }`,
      { field: "labels" },
    );
  }
  if (segments.length === 0) throw new InvalidInputError("a SEG needs at least one segment");
  const byLabel = new Map<number, number>();
  const sorted = [...segments].sort((a, b) => a.label - b.label);
  sorted.forEach((s, i) => {
    if (!(Number.isInteger(s.label) && s.label > 0 && s.label <= 65535) || byLabel.has(s.label)) {
      throw new InvalidInputError(
        `segment "${s.name}": label ${s.label} is not a new integer from 1 to 65535`,
      );
    }
    byLabel.set(s.label, i + 1);
  });
  // Frames: segment-major, then slice order; empty slices are left out, but every segment keeps one
  // (an empty frame on the first slice) so that readers still list it. A table from label value to
  // segment number keeps this one pass over the labels cheap.
  const maxLabel = sorted[sorted.length - 1].label;
  const segmentOf = new Int32Array(maxLabel + 1);
  byLabel.forEach((segment, label) => (segmentOf[label] = segment));
  const present = sorted.map(() => new Uint8Array(depth));
  for (let z = 0, v = 0; z < depth; z++) {
    for (let p = 0; p < plane; p++, v++) {
      const label = labels[v];
      if (label === 0) continue;
      const segment = label > 0 && label <= maxLabel ? segmentOf[label] : 0;
      if (!segment) {
        throw new InvalidInputError(
          `the label volume holds ${label} (voxel ${v}), which no segment describes`,
          { field: "segments" },
        );
      }
      present[segment - 1][z] = 1;
    }
  }
  const frames: { segment: number; label: number; z: number }[] = [];
  sorted.forEach((s, i) => {
    const zs = [...present[i].keys()].filter((z) => present[i][z]);
    for (const z of zs.length ? zs : [0]) {
      frames.push({ segment: i + 1, label: zs.length ? s.label : -1, z });
    }
  });

  const src = series.datasets[slices[0].instance];
  const deid = options.deidentify ?? false;
  const key = options.uidKey ?? "";
  const uid = async (u: string | null) => (u && deid ? await replaceUid(u, key) : u);
  const [date, time] = dateTime(options.now ?? new Date());
  const orientation = series.orientation;
  const step = [0, 1, 2].map((i) => volume.affine[i][2] * (i < 2 ? -1 : 1));
  const origin = [0, 1, 2].map((i) => volume.affine[i][3] * (i < 2 ? -1 : 1));
  const positionOf = (z: number) =>
    slices[z].position ?? origin.map((o, i) => o + z * step[i]) as [number, number, number];
  const multiFrameSource = slices.some((s) => s.frame > 0);

  const sopInstanceUID = newUid();
  const dimensionOrganizationUID = newUid();
  const studyUID = (await uid(series.studyInstanceUID)) ?? newUid();
  const frameOfReferenceUID = (await uid(series.frameOfReferenceUID)) ?? newUid();
  const refSeriesUID = await uid(series.seriesInstanceUID);
  const refSop = await Promise.all(slices.map((s) => uid(s.sopInstanceUID)));
  const algorithm = options.algorithmName ?? "medimg-edge";

  const patientStudy = deid
    ? {
      PatientName: "",
      PatientID: "",
      PatientBirthDate: "",
      PatientSex: "",
      StudyDate: "",
      StudyTime: "",
      ReferringPhysicianName: "",
      StudyID: "",
      AccessionNumber: "",
      PatientIdentityRemoved: "YES",
      DeidentificationMethod: "DICOM PS3.15 E.1 Basic Application Level Confidentiality Profile",
    }
    : {
      PatientName: text(src, "x00100010"),
      PatientID: text(src, "x00100020"),
      PatientBirthDate: text(src, "x00100030"),
      PatientSex: text(src, "x00100040"),
      StudyDate: text(src, "x00080020"),
      StudyTime: text(src, "x00080030"),
      ReferringPhysicianName: text(src, "x00080090"),
      StudyID: text(src, "x00200010"),
      AccessionNumber: text(src, "x00080050"),
      ...(text(src, "x00081030") ? { StudyDescription: text(src, "x00081030") } : {}),
    };
  const charset = text(src, "x00080005");

  const instances = new Map<string, string>();
  slices.forEach((s, z) => refSop[z] && instances.set(refSop[z]!, s.sopClassUID ?? ""));
  const sourcePurpose = [{
    CodeValue: "121322",
    CodingSchemeDesignator: "DCM",
    CodeMeaning: "Source image for image processing operation",
  }];

  // deno-lint-ignore no-explicit-any
  const ds: Record<string, any> = {
    ...(charset ? { SpecificCharacterSet: charset } : {}),
    ImageType: ["DERIVED", "PRIMARY"],
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sopInstanceUID,
    SeriesDate: date,
    ContentDate: date,
    SeriesTime: time,
    ContentTime: time,
    Modality: "SEG",
    Manufacturer: "medimg-edge",
    ManufacturerModelName: algorithm,
    DeviceSerialNumber: "1",
    SoftwareVersions: options.softwareVersion ?? "medimg-edge",
    SeriesDescription: options.seriesDescription ?? "Segmentation",
    ...patientStudy,
    StudyInstanceUID: studyUID,
    SeriesInstanceUID: newUid(),
    SeriesNumber: options.seriesNumber ?? 300,
    InstanceNumber: 1,
    FrameOfReferenceUID: frameOfReferenceUID,
    PositionReferenceIndicator: "",
    ContentLabel: "SEGMENTATION",
    ContentDescription: "",
    ContentCreatorName: "",
    SamplesPerPixel: 1,
    PhotometricInterpretation: "MONOCHROME2",
    NumberOfFrames: frames.length,
    Rows: height,
    Columns: width,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: "00",
    SegmentationType: "BINARY",
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUID }],
    DimensionOrganizationType: "3D",
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: 0x0062000b,
        FunctionalGroupPointer: 0x0062000a,
        DimensionDescriptionLabel: "ReferencedSegmentNumber",
      },
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: 0x00200032,
        FunctionalGroupPointer: 0x00209113,
        DimensionDescriptionLabel: "ImagePositionPatient",
      },
    ],
    SegmentSequence: sorted.map((s, i) => ({
      SegmentNumber: i + 1,
      SegmentLabel: s.name,
      SegmentAlgorithmType: "AUTOMATIC",
      SegmentAlgorithmName: algorithm,
      SegmentedPropertyCategoryCodeSequence: [code(s.category)],
      SegmentedPropertyTypeCodeSequence: [code(s.type)],
      ...(s.cielab ? { RecommendedDisplayCIELabValue: cielabToDicom(s.cielab) } : {}),
    })),
    SharedFunctionalGroupsSequence: [{
      PlaneOrientationSequence: [{ ImageOrientationPatient: orientation.map(decimal) }],
      PixelMeasuresSequence: [{
        PixelSpacing: [volume.spacing[1], volume.spacing[0]].map(decimal),
        SliceThickness: decimal(volume.spacing[2]),
        SpacingBetweenSlices: decimal(volume.spacing[2]),
      }],
    }],
    PerFrameFunctionalGroupsSequence: frames.map(({ segment, z }) => ({
      DerivationImageSequence: [{
        SourceImageSequence: [{
          ReferencedSOPClassUID: slices[z].sopClassUID ?? "",
          ReferencedSOPInstanceUID: refSop[z] ?? "",
          ...(multiFrameSource ? { ReferencedFrameNumber: slices[z].frame + 1 } : {}),
          PurposeOfReferenceCodeSequence: sourcePurpose,
        }],
        DerivationCodeSequence: [{
          CodeValue: "113076",
          CodingSchemeDesignator: "DCM",
          CodeMeaning: "Segmentation",
        }],
      }],
      FrameContentSequence: [{ DimensionIndexValues: [segment, z + 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: positionOf(z).map(decimal) }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segment }],
    })),
    ReferencedSeriesSequence: [{
      SeriesInstanceUID: refSeriesUID ?? "",
      ReferencedInstanceSequence: [...instances].map(([sop, cls]) => ({
        ReferencedSOPClassUID: cls,
        ReferencedSOPInstanceUID: sop,
      })),
    }],
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SEG_SOP_CLASS,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: "MEDIMG_EDGE",
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  const head = new Uint8Array(dict.write());
  // Pixel Data, the dataset's last element, is appended as OB here: dcmjs cannot tell OB from OW
  // for it, and its write stream would copy the megabytes of bits as it grows.
  const pixels = packFrames(labels, frames, plane);
  const out = new Uint8Array(head.length + 12 + pixels.length);
  out.set(head);
  const view = new DataView(out.buffer, head.length, 12);
  view.setUint16(0, 0x7fe0, true);
  view.setUint16(2, 0x0010, true);
  out.set([0x4f, 0x42, 0, 0], head.length + 4); // "OB", reserved
  view.setUint32(8, pixels.length, true);
  out.set(pixels, head.length + 12);
  return out;
}
