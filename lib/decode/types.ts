/** What the body decoder gives: the one 2D image type and what is known about it. */
import type { Image } from "../image/image.ts";
import type { ImageFormat } from "./sniff.ts";

/** Metadata a pipeline may need beyond the pixels; DICOM fills it, the other formats carry none. */
export type DecodedMeta = {
  /** [row, column] pixel spacing in mm. */
  spacing?: [number, number];
  rescaleSlope?: number;
  rescaleIntercept?: number;
  modality?: string;
  /** The dataset's VOI window when usable (width >= 1), else null. */
  window?: { center: number; width: number } | null;
  /** Why a window the dataset carries was not usable (e.g. "dataset window width 0 unusable"). */
  windowUnusable?: string;
  /** PatientAge as written (e.g. "058Y"). */
  age?: string;
  sex?: string;
  /** ViewPosition (PA, AP, CC, MLO...). */
  view?: string;
  /** The frame decoded and how many there are. */
  frame?: number;
  frames?: number;
};

/** A decoded body: pixels, what is known about them, and the format they came in. */
export interface DecodedImage {
  image: Image;
  meta: DecodedMeta;
  format: ImageFormat;
}

/** A 0/1 mask with its size. */
export interface DecodedMask {
  mask: Uint8Array;
  width: number;
  height: number;
  format: ImageFormat;
}
