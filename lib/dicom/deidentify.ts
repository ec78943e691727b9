/**
 * De-identification of the metadata we copy out of a DICOM file, by the Basic Application Level
 * Confidentiality Profile of DICOM PS3.15 Annex E (Table E.1-1), for exactly the attributes
 * DicomMeta holds: identifying attributes removed, UIDs replaced by consistent non-identifying
 * ones (2.25 + 128 bits of a keyed SHA-256), and PatientAge/PatientSex kept only under the
 * Retain Patient Characteristics Option (which the cxr model needs).
 */
import type { DicomMeta } from "./parse.ts";

/** Options of PS3.15 Table E.1-1 that apply to the attributes we copy. */
export interface DeidentifyOptions {
  /** Retain Patient Characteristics Option: keep PatientAge and PatientSex. */
  retainPatientCharacteristics?: boolean;
  /** Key for UID replacement: the same key maps a UID to the same new UID (linkage within a set). */
  uidKey?: string;
}

/** De-identified metadata: no `phi`, the UID replaced, and what was done (as (0012,0063) would say). */
export type DeidentifiedMeta = Omit<DicomMeta, "phi"> & {
  patientIdentityRemoved: "YES";
  deidentificationMethod: string;
};

/**
 * A UID of the 2.25 form (ITU-T X.667) derived from `uid` with a keyed SHA-256: consistent for a key,
 * not reversible without it.
 * @example await replaceUid("1.2.3.4", "secret") // "2.25.<decimal of 128 bits>"
 */
export async function replaceUid(uid: string, key: string): Promise<string> {
  // HMAC needs a non-empty key: without one configured, a fixed label stands in (consistent, but
  // then anyone can recompute the mapping: set MEDIMG_DEID_KEY in production).
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key || "medimg-edge deidentify"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(uid)),
  );
  let n = 0n;
  for (const b of mac.subarray(0, 16)) n = (n << 8n) | BigInt(b);
  return `2.25.${n}`;
}

/**
 * Applies the Basic Profile to metadata read by readMeta.
 * @example const safe = await deidentifyMeta(readMeta(ds), { retainPatientCharacteristics: true })
 */
export async function deidentifyMeta(
  meta: DicomMeta,
  options: DeidentifyOptions = {},
): Promise<DeidentifiedMeta> {
  const { phi: _phi, ...rest } = meta;
  const retain = options.retainPatientCharacteristics ?? false;
  const key = options.uidKey ?? "";
  return {
    ...rest,
    // (0008,0018) SOP Instance UID: U, replace with a non-identifying UID consistent in the set.
    sopInstanceUID: meta.sopInstanceUID === null
      ? null
      : await replaceUid(meta.sopInstanceUID, key),
    // (0010,1010) Patient's Age: X; (0010,0040) Patient's Sex: Z; both K under the option.
    patientAge: retain ? meta.patientAge : null,
    patientAgeRaw: retain ? meta.patientAgeRaw : null,
    patientSex: retain ? meta.patientSex : null,
    patientIdentityRemoved: "YES",
    deidentificationMethod: `DICOM PS3.15 E.1 Basic Application Level Confidentiality Profile${
      retain ? ", Retain Patient Characteristics Option" : ""
    } (attributes returned here only)`,
  };
}
