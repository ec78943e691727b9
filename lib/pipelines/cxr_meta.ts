/**
 * The cxr model's metadata (seed 002, SPEC of the cxr pneumonia model): age, sex, view position and
 * pixel spacing as a caller or a DICOM header gives them, read and checked (400 for unreadable
 * text, 422 for values the model cannot take), and turned into the model's six features (age
 * one-hot over 0-20, 20-40, 40-60, 60-80, 80+ years, then view PA = 1 / AP = 0), with mean
 * imputation of what is missing; and the check that a spacing makes a plausible chest.
 */
import { BadInputError, InvalidInputError } from "../errors.ts";
import { parseAge } from "../dicom/parse.ts";

/** Bucket boundaries in years: [0,20), [20,40), [40,60), [60,80), [80,inf). */
export const AGE_EDGES = [20, 40, 60, 80] as const;

/** Names of the six features, in the model's order. */
export const FEATURE_NAMES = [
  "age_0_20",
  "age_20_40",
  "age_40_60",
  "age_60_80",
  "age_80_plus",
  "view_pa",
] as const;

/**
 * Values used for a missing feature: the feature's mean over the training rows (1,000 RSNA films,
 * training/cxr-pneumonia/split.csv), i.e. mean imputation; the model never saw such inputs in training, so
 * the answer lists every imputed feature.
 */
export const FEATURE_MEANS = {
  age: [0.041, 0.27, 0.452, 0.221, 0.016],
  view: 0.519,
} as const;

/** Metadata as a caller or a DICOM gives it; anything may be missing. */
export interface CxrMetaInput {
  /** Years as a number, or a DICOM AS string ("058Y", "006M", "003W", "010D") or bare number. */
  age?: number | string | null;
  /** PatientSex (M, F, O): reported, not a model feature. */
  sex?: string | null;
  /** ViewPosition: PA or AP. */
  view?: string | null;
  /** [row, column] mm, or "0.168", "0.168,0.168", "0.168\\0.168". */
  spacing?: [number, number] | number | string | null;
}

/** The features and what they were made from. */
export interface CxrFeatures {
  vector: Float32Array;
  /** Age in years, its bucket index (0-4), or null when missing (then the means were used). */
  age: { years: number; bucket: number } | null;
  view: "PA" | "AP" | null;
  sex: "M" | "F" | "O" | null;
  /** One line per missing feature: what was missing and what was assumed. */
  assumed: string[];
}

/**
 * Bucket index (0-4) of an age in years.
 * @example ageBucket(58) // 2 (40-60)
 */
export function ageBucket(years: number): number {
  let i = 0;
  while (i < AGE_EDGES.length && years >= AGE_EDGES[i]) i++;
  return i;
}

/**
 * Age in years from a number or an AS/bare-number string; null when absent. Unreadable text is a
 * 400, an age outside 0-150 years a 422.
 * @example readAge("006M") // 0.5
 */
export function readAge(v: number | string | null | undefined): number | null {
  if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) return null;
  const years = typeof v === "number" ? v : parseAge(v);
  if (years === null || !Number.isFinite(years)) {
    throw new BadInputError(
      `age must be a number of years or a DICOM age string like 058Y, 006M, 003W or 010D; got ${
        JSON.stringify(v)
      }`,
      { field: "age" },
    );
  }
  if (years < 0 || years > 150) {
    throw new InvalidInputError(`age must be from 0 to 150 years, got ${years}`, { field: "age" });
  }
  return years;
}

/**
 * View position PA or AP (case and surrounding space ignored); null when absent. Any other view
 * (lateral, a typo) is a 422: the model knows frontal films only.
 * @example readView(" pa ") // "PA"
 */
export function readView(v: string | null | undefined): "PA" | "AP" | null {
  if (v === null || v === undefined || v.trim() === "") return null;
  const u = v.trim().toUpperCase();
  if (u === "PA" || u === "AP") return u;
  throw new InvalidInputError(
    `view must be PA or AP (the model knows frontal chest films only), got ${JSON.stringify(v)}`,
    { field: "view" },
  );
}

function readSex(v: string | null | undefined): "M" | "F" | "O" | null {
  if (v === null || v === undefined || v.trim() === "") return null;
  const u = v.trim().toUpperCase();
  if (u === "M" || u === "F" || u === "O") return u;
  throw new BadInputError(`sex must be M, F or O, got ${JSON.stringify(v)}`, { field: "sex" });
}

/**
 * [row, column] spacing in mm from a pair, one number (square pixels) or text ("0.168",
 * "0.168,0.168", DICOM's "0.168\\0.168"); null when absent. Not a number: 400; not in (0, 10] mm: 422.
 * @example readSpacing("0.143\\0.143") // [0.143, 0.143]
 */
export function readSpacing(v: CxrMetaInput["spacing"]): [number, number] | null {
  if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) return null;
  const parts = typeof v === "number"
    ? [v, v]
    : typeof v === "string"
    ? v.split(/[\\,\s]+/).filter((s) => s !== "").map(Number)
    : v.map(Number);
  if (parts.length === 1) parts.push(parts[0]);
  if (parts.length !== 2 || !parts.every(Number.isFinite)) {
    throw new BadInputError(
      `spacing must be one or two numbers of mm (row, column), got ${JSON.stringify(v)}`,
      { field: "spacing" },
    );
  }
  if (!parts.every((p) => p > 0 && p <= 10)) {
    throw new InvalidInputError(`spacing must be in (0, 10] mm, got ${parts.join(", ")}`, {
      field: "spacing",
    });
  }
  return [parts[0], parts[1]];
}

/**
 * The widths in mm a film may span and still be a chest as this model knows one: a chest field is
 * at most 43 cm (the largest detector) and the RSNA training films span 118-199 mm as stored (their
 * PixelSpacing predates the 1024 px downsampling), so the lower bound sits below those. Outside it
 * the spacing, not the patient, is the likely error.
 */
export const CHEST_WIDTH_MM: readonly [number, number] = [100, 600];

/**
 * A warning when `width` pixels at `spacing` ([row, column] mm) is no plausible chest, else null.
 * @example chestWidthWarning(1024, [0.05, 0.05]) // "the film is 51.2 mm across (1024 px x 0.05 mm) ..."
 */
export function chestWidthWarning(width: number, spacing: [number, number]): string | null {
  const mm = width * spacing[1];
  const [lo, hi] = CHEST_WIDTH_MM;
  if (mm >= lo && mm <= hi) return null;
  return `the film is ${Math.round(mm * 10) / 10} mm across (${width} px x ${spacing[1]} mm), ` +
    `${mm < lo ? "under" : "over"} the ${lo}-${hi} mm of a chest: check spacing; ` +
    `the 1 mm resampling used it as given`;
}

/**
 * The six model features from metadata. A missing age or view is replaced by its training mean
 * (FEATURE_MEANS, or `means` from the model card) and said so in `assumed`.
 * @example cxrFeatures({ age: "058Y", view: "PA" }).vector // [0, 0, 1, 0, 0, 1]
 */
export function cxrFeatures(
  meta: CxrMetaInput,
  means: { age: readonly number[]; view: number } = FEATURE_MEANS,
): CxrFeatures {
  const years = readAge(meta.age);
  const view = readView(meta.view);
  const sex = readSex(meta.sex);
  const vector = new Float32Array(6);
  const assumed: string[] = [];
  let age: CxrFeatures["age"] = null;
  if (years === null) {
    vector.set(means.age, 0);
    assumed.push(
      `age missing: the age features were set to their training means (${means.age.join(", ")})`,
    );
  } else {
    age = { years, bucket: ageBucket(years) };
    vector[age.bucket] = 1;
  }
  if (view === null) {
    vector[5] = means.view;
    assumed.push(`view missing: view_pa was set to its training mean ${means.view}`);
  } else {
    vector[5] = view === "PA" ? 1 : 0;
  }
  return { vector, age, view, sex, assumed };
}

/**
 * An age bucket's name, as the answer reports it.
 * @example ageBucketName(2) // "40-60"
 */
export function ageBucketName(i: number): string {
  return i === AGE_EDGES.length
    ? `${AGE_EDGES[i - 1]}+`
    : `${i ? AGE_EDGES[i - 1] : 0}-${AGE_EDGES[i]}`;
}
