/**
 * DICOM to the one image type and the metadata pipelines use, by lib/dicom: one frame through the
 * Modality LUT (CT in HU) with MONOCHROME1 inverted; spacing, the dataset's VOI window when usable
 * (else why not), modality, age, sex and view as the header says them.
 */
import { datasetWindow, decodeDicom } from "../dicom/pixels.ts";
import { checkPixels } from "../image/png.ts";
import type { DecodedImage } from "./types.ts";

/**
 * Decodes one frame of a DICOM body (PS3.10 file or bare dataset).
 * @example const { image, meta } = await dicomToImage(await Deno.readFile("image_60"));
 */
export async function dicomToImage(
  bytes: Uint8Array,
  maxPixels = Infinity,
  frame = 0,
): Promise<DecodedImage> {
  const limit = Number.isFinite(maxPixels) ? { pixelLimit: maxPixels * 8 } : {};
  const { image, meta } = await decodeDicom(bytes, { frame, ...limit });
  checkPixels(image.width, image.height, maxPixels);
  const { window, unusable } = datasetWindow(meta);
  return {
    image,
    format: "dicom",
    meta: {
      ...(meta.pixelSpacing ? { spacing: meta.pixelSpacing } : {}),
      rescaleSlope: meta.rescaleSlope,
      rescaleIntercept: meta.rescaleIntercept,
      ...(meta.modality ? { modality: meta.modality } : {}),
      window,
      ...(unusable && meta.windowWidth !== null ? { windowUnusable: unusable } : {}),
      ...(meta.patientAgeRaw ? { age: meta.patientAgeRaw } : {}),
      ...(meta.patientSex ? { sex: meta.patientSex } : {}),
      ...(meta.viewPosition ? { view: meta.viewPosition } : {}),
      frame,
      frames: meta.frames,
    },
  };
}
