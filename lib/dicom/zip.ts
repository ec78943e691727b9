/**
 * A zip of a folder of DICOM files to the instances in it, with fflate's `unzipSync` (its async
 * `unzip` starts a Worker per large entry: 285 s for the 129-slice 3D-IRCADb zip on a loaded 2-core
 * machine, against under a second in one thread). Entries are read
 * whatever their names (3D-IRCADb ships `image_0` ... without an extension); directories, dot files
 * and `__MACOSX/` resource forks, DICOMDIR files and entries that are not DICOM (no "DICM" at byte
 * 128 and not starting with a group 0002/0008 element) are skipped and listed. The sizes the zip
 * declares are summed before anything is inflated, so a zip bomb is refused up front.
 */
import { type UnzipFileInfo, type Unzipped, unzipSync } from "fflate";
import { BadInputError, LimitExceededError } from "../errors.ts";

/** One DICOM file found in the zip. */
export interface ZipInstance {
  /** Path inside the zip. */
  name: string;
  bytes: Uint8Array;
}

/** What {@link readZipInstances} found. */
export interface ZipContents {
  /** DICOM entries, in path order (natural: image_2 before image_10). */
  instances: ZipInstance[];
  /** Entries that were left out, each with why. */
  skipped: { name: string; reason: string }[];
}

/** Options of {@link readZipInstances}. */
export interface ZipOptions {
  /** Largest total inflated size of the entries read (default 1 GiB). */
  maxBytes?: number;
  /** Most entries read (default 10,000). */
  maxEntries?: number;
}

/** Default cap on the inflated size of a zip's entries. */
export const DEFAULT_ZIP_BYTES = 1024 * 1024 * 1024;

/**
 * True when `bytes` look like a DICOM file: "DICM" at byte 128 or 0, or a bare dataset whose first
 * element is in group 0002 or 0008 (little or big endian).
 * @example looksLikeDicom(await Deno.readFile("image_0")) // true
 */
export function looksLikeDicom(bytes: Uint8Array): boolean {
  const dicm = (at: number) =>
    bytes.length >= at + 4 && bytes[at] === 0x44 && bytes[at + 1] === 0x49 &&
    bytes[at + 2] === 0x43 && bytes[at + 3] === 0x4d;
  if (dicm(128) || dicm(0)) return true;
  if (bytes.length < 8) return false;
  const le = bytes[0] | (bytes[1] << 8), be = (bytes[0] << 8) | bytes[1];
  return le === 0x0002 || le === 0x0008 || be === 0x0002 || be === 0x0008;
}

function skipReason(name: string): string | null {
  const base = name.split("/").pop() ?? name;
  if (name.endsWith("/")) return "directory";
  if (name.startsWith("__MACOSX/") || name.includes("/__MACOSX/")) return "macOS resource fork";
  if (base.startsWith(".")) return "dot file";
  if (base.toUpperCase() === "DICOMDIR") return "DICOMDIR (a media directory, not an image)";
  return null;
}

const collator = new Intl.Collator("en", { numeric: true });

/**
 * The DICOM instances in a zip of a folder.
 * @example const { instances } = readZipInstances(await Deno.readFile("series.zip"))
 */
export function readZipInstances(zip: Uint8Array, options: ZipOptions = {}): ZipContents {
  const maxBytes = options.maxBytes ?? DEFAULT_ZIP_BYTES;
  const maxEntries = options.maxEntries ?? 10_000;
  const skipped: ZipContents["skipped"] = [];
  let total = 0, count = 0;
  let limitError: LimitExceededError | null = null;
  const filter = (file: UnzipFileInfo) => {
    const reason = skipReason(file.name);
    if (reason) {
      skipped.push({ name: file.name, reason });
      return false;
    }
    total += file.originalSize;
    count++;
    if (!limitError && (total > maxBytes || count > maxEntries)) {
      limitError = new LimitExceededError(
        count > maxEntries
          ? `the zip holds over ${maxEntries} entries`
          : `the zip's entries inflate to over ${maxBytes} bytes`,
        { limit: count > maxEntries ? maxEntries : maxBytes },
      );
    }
    return !limitError;
  };
  let files: Unzipped;
  try {
    files = unzipSync(zip, { filter });
  } catch (err) {
    throw limitError ??
      new BadInputError(`the zip could not be read: ${err instanceof Error ? err.message : err}`);
  }
  if (limitError) throw limitError;
  const instances: ZipInstance[] = [];
  for (const name of Object.keys(files).sort(collator.compare)) {
    if (looksLikeDicom(files[name])) instances.push({ name, bytes: files[name] });
    else skipped.push({ name, reason: "not DICOM" });
  }
  return { instances, skipped };
}
