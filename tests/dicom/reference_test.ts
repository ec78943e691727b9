/**
 * Every DICOM file of ../shared/data that tests/fixtures/make_dicom_reference.py read with pydicom
 * 2.3.1 + GDCM: our stored values of the first and last frame equal pydicom's `pixel_array` exactly
 * for lossless syntaxes (sha256 of the int32 values) and within a tolerance of its 8x8 block means for
 * lossy ones; header fields agree; files pydicom cannot decode give our typed errors, never an
 * untyped exception. Each file prints one row: file, transfer syntax, result.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { MedimgError } from "../../lib/errors.ts";
import { parseDataSet, readMeta } from "../../lib/dicom/parse.ts";
import { readStoredFrame } from "../../lib/dicom/pixels.ts";
import type { Pixels } from "../../lib/image/image.ts";
import { dataFile } from "../_data.ts";

interface RefPixels {
  frame: number;
  shape: number[];
  min: number;
  max: number;
  mean: number;
  sha256: string;
  thumb: (number | null)[][];
}
// deno-lint-ignore no-explicit-any
type Ref = Record<string, any> & { pixels?: RefPixels[]; error?: string; lossy?: boolean };

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/dicom_reference.json", import.meta.url)),
);
const files = fixture.files as Record<string, Ref>;

/** Files that are broken on purpose: they must give a typed error. */
const MUST_FAIL = new Set([
  "dicom-conformance/MR_truncated.dcm",
  "dicom-conformance/rtplan_truncated.dcm",
  "dicom-conformance/badVR.dcm",
  "dicom-conformance/emri_small_jpeg_2k_lossless_too_short.dcm",
  "dicom-conformance/meta_missing_tsyntax.dcm",
  "dicom-conformance/no_meta.dcm",
]);

/** Signed data with BitsStored < BitsAllocated that pydicom 2.3 + GDCM leave unextended. */
const SIGN_NOT_EXTENDED = new Set(["dicom-conformance/JLSL_16_15_1_1F.dcm"]);

/** 12-bit JPEG extended: lossy, but decoded by the same IJG libjpeg family as GDCM, so exact. */
const TWELVE_BIT_JPEG = new Set([
  "dicom-conformance/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm",
  "dicom-conformance/JPEG-lossy.dcm",
  "dicom-conformance/JPGExtended.dcm",
  "dicom-conformance/RG2_JPLY_fixed.dcm",
]);

async function sha16(data: Pixels): Promise<string> {
  const values = data instanceof Float32Array ? data : Int32Array.from(data);
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength) as Uint8Array<
    ArrayBuffer
  >;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", view));
  return Array.from(hash.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Block means on the fixture's 8x8 grid (block of pixel r, c = floor(r*8/rows), floor(c*8/cols)). */
function thumb(data: Pixels, rows: number, cols: number, spp: number): (number | null)[][] {
  const sum = Array.from({ length: 8 }, () => new Array(8).fill(0));
  const count = Array.from({ length: 8 }, () => new Array(8).fill(0));
  for (let r = 0; r < rows; r++) {
    const br = Math.floor((r * 8) / rows);
    for (let c = 0; c < cols; c++) {
      const bc = Math.floor((c * 8) / cols);
      for (let s = 0; s < spp; s++) sum[br][bc] += data[(r * cols + c) * spp + s];
      count[br][bc] += spp;
    }
  }
  return sum.map((row, i) => row.map((v, j) => (count[i][j] ? v / count[i][j] : null)));
}

/** RGB back to YBR_FULL (PS3.3 C.7.6.3.1.2), to compare with pydicom, which leaves JPEG YBR as is. */
function rgbToYbr(data: Pixels): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    out[i + 1] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
    out[i + 2] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
  }
  return out;
}

for (const [rel, ref] of Object.entries(files)) {
  const path = dataFile(rel);
  Deno.test({
    name: `reference: ${rel}`,
    ignore: !path,
    async fn() {
      const bytes = await Deno.readFile(path!);
      let result = "";
      try {
        const ds = parseDataSet(bytes);
        const meta = readMeta(ds);
        if (ref.rows) {
          const pairs: [number, string][] = [
            [meta.rows, "rows"],
            [meta.columns, "columns"],
            [meta.bitsAllocated, "bits_allocated"],
            [meta.bitsStored, "bits_stored"], // absent for Float Pixel Data
            [meta.pixelRepresentation, "pixel_representation"],
            [meta.samplesPerPixel, "samples_per_pixel"],
          ];
          for (const [ours, key] of pairs) if (ref[key] !== null) assertEquals(ours, ref[key], key);
          if (ref.frames) assertEquals(meta.frames, ref.frames);
          assertEquals(meta.photometricInterpretation, ref.photometric.trim().toUpperCase());
        }
        for (
          const [ours, key] of [[meta.modality, "modality"], [meta.patientSex, "patient_sex"], [
            meta.viewPosition,
            "view_position",
          ], [meta.sopInstanceUID, "sop_instance_uid"]] as const
        ) {
          if (ref[key] !== undefined && ref[key] !== null && ref[key] !== "") {
            assertEquals(ours, ref[key], key);
          }
        }
        if (ref.pixel_spacing) {
          assertAlmostEquals(meta.pixelSpacing![0], ref.pixel_spacing[0], 1e-9);
          assertAlmostEquals(meta.pixelSpacing![1], ref.pixel_spacing[1], 1e-9);
        }
        if (ref.window_center !== null && ref.window_center !== undefined) {
          assertAlmostEquals(meta.windowCenter!, ref.window_center, 1e-6);
        }
        if (ref.rescale_intercept !== null && ref.rescale_intercept !== undefined) {
          assertAlmostEquals(meta.rescaleIntercept, ref.rescale_intercept, 1e-6);
        }
        if (!ref.pixels) {
          await readStoredFrame(ds, meta, 0);
          result = `decoded (pydicom failed: ${String(ref.error).slice(0, 60)})`;
          assert(!MUST_FAIL.has(rel), `${rel} is broken on purpose but decoded`);
        } else {
          const notes: string[] = [];
          for (const p of ref.pixels) {
            const stored = await readStoredFrame(ds, meta, p.frame);
            let data = stored.data;
            const spp = meta.samplesPerPixel;
            if (!ref.lossy || TWELVE_BIT_JPEG.has(rel)) {
              if (SIGN_NOT_EXTENDED.has(rel)) {
                // pydicom 2.3 + GDCM return the raw BitsStored patterns here; ours are the same
                // patterns read as two's complement, as PixelRepresentation 1 requires.
                assert(Array.from(data).some((v) => v < 0), "sign-extended values");
                data = Int32Array.from(data, (v) => v & (2 ** meta.bitsStored - 1));
              }
              assertEquals(
                await sha16(data),
                p.sha256,
                `frame ${p.frame}: stored values differ from pydicom's`,
              );
              notes.push("exact");
              continue;
            }
            if (
              spp === 3 && ref.color_space_of_pixels === "YBR_FULL" &&
              stored.photometricInterpretation === "RGB"
            ) data = rgbToYbr(data);
            const ours = thumb(data, meta.rows, meta.columns, spp);
            const tol = Math.max(2, 0.01 * (p.max - p.min));
            let worst = 0;
            p.thumb.forEach((row, i) =>
              row.forEach((v, j) =>
                v !== null && (worst = Math.max(worst, Math.abs(v - ours[i][j]!)))
              )
            );
            assert(
              worst <= tol,
              `frame ${p.frame}: block means differ by up to ${worst.toFixed(2)} (tolerance ${
                tol.toFixed(2)
              })`,
            );
            notes.push(`lossy, block means within ${worst.toFixed(2)}`);
          }
          result = notes.join("; ");
        }
      } catch (err) {
        if (!(err instanceof MedimgError)) throw err;
        assert(!ref.pixels, `${rel}: pydicom decodes it, we said: ${err.message}`);
        result = `typed ${err.constructor.name}: ${err.message.slice(0, 70)}`;
      }
      console.log(`| ${rel} | ${ref.ts ?? "-"} | ${result} |`);
    },
  });
}
