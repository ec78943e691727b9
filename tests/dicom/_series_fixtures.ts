/**
 * Helpers of the series and SEG tests: synthetic DICOM instances written with dcmjs (small, made in
 * the test, never committed), the 3D-IRCADb patient 1 tarball unpacked once into /tmp (CC BY-NC-ND:
 * nothing derived from it is committed), and the check that Debian's python3 has the references'
 * modules.
 */
import dcmjs from "dcmjs";
import { dataFile } from "../_data.ts";
import type { SeriesSlice } from "../../lib/dicom/series.ts";

const { DicomMetaDictionary, DicomDict } = dcmjs.data;

/** What a synthetic CT instance holds; everything has a default. */
export interface SynthOptions {
  sopInstanceUID?: string;
  seriesInstanceUID?: string;
  rows?: number;
  columns?: number;
  /** ImagePositionPatient; null leaves it out. */
  position?: [number, number, number] | null;
  orientation?: number[] | null;
  instanceNumber?: number | null;
  spacing?: [number, number];
  slope?: number;
  intercept?: number;
  /** Stored values (rows x columns, row-major); default a ramp offset by the instance number. */
  values?: Int16Array;
}

/** A small single-frame CT instance (explicit VR little endian, signed 16-bit). */
export function synthCt(o: SynthOptions = {}): Uint8Array {
  const rows = o.rows ?? 4, columns = o.columns ?? 3;
  const values = o.values ??
    Int16Array.from({ length: rows * columns }, (_, i) => i + 100 * (o.instanceNumber ?? 0));
  // deno-lint-ignore no-explicit-any
  const ds: Record<string, any> = {
    SOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
    SOPInstanceUID: o.sopInstanceUID ??
      `2.25.${crypto.getRandomValues(new Uint32Array(2)).join("")}`,
    StudyInstanceUID: "2.25.1001",
    SeriesInstanceUID: o.seriesInstanceUID ?? "2.25.2002",
    SeriesNumber: 1,
    FrameOfReferenceUID: "2.25.3003",
    Modality: "CT",
    PatientName: "Synthetic^Series",
    PatientID: "SYN-1",
    Rows: rows,
    Columns: columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: "MONOCHROME2",
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    PixelSpacing: o.spacing ?? [0.5, 0.75],
    SliceThickness: 2,
    RescaleSlope: o.slope ?? 1,
    RescaleIntercept: o.intercept ?? 0,
  };
  if (o.position !== null) ds.ImagePositionPatient = o.position ?? [0, 0, 0];
  if (o.orientation !== null) ds.ImageOrientationPatient = o.orientation ?? [1, 0, 0, 0, 1, 0];
  if (o.instanceNumber !== null && o.instanceNumber !== undefined) {
    ds.InstanceNumber = o.instanceNumber;
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ds.SOPClassUID,
    MediaStorageSOPInstanceUID: ds.SOPInstanceUID,
    TransferSyntaxUID: "1.2.840.10008.1.2.1",
    ImplementationClassUID: "2.25.4004",
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  // PixelData is added denaturalized: dcmjs cannot tell OB from OW on its own.
  dict.dict["7FE00010"] = {
    vr: "OW",
    Value: [values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)],
  };
  return new Uint8Array(dict.write());
}

const TARBALL = "ircadb-liver/3Dircadb1.1_PATIENT_DICOM+MASKS_DICOM-liver.tar.gz";
let unpacked: Promise<string | undefined> | undefined;

/**
 * The folder holding 3Dircadb1.1/PATIENT_DICOM and MASKS_DICOM/liver, unpacked once per test run into
 * a temporary folder under /tmp; undefined (reason printed) when the data is absent.
 */
export function ircadbFolder(): Promise<string | undefined> {
  unpacked ??= (async () => {
    const tarball = dataFile(TARBALL);
    if (!tarball) return undefined;
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-ircadb-" });
    const { code, stderr } = await new Deno.Command("tar", { args: ["xzf", tarball, "-C", dir] })
      .output();
    if (code !== 0) throw new Error(`tar failed: ${new TextDecoder().decode(stderr)}`);
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return `${dir}/3Dircadb1.1`;
  })();
  return unpacked;
}

/** The files of a folder, sorted by name. */
export function filesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => `${dir}/${e.name}`).sort();
}

/** Why Debian's python3 cannot run the references (missing modules), or null when it can. */
export async function pythonMissing(modules: string[]): Promise<string | null> {
  try {
    const { code, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", `import ${modules.join(", ")}`],
      stderr: "piped",
      stdout: "null",
    }).output();
    return code === 0 ? null : new TextDecoder().decode(stderr).trim().split("\n").pop()!;
  } catch (err) {
    return `/usr/bin/python3 cannot run: ${err instanceof Error ? err.message : err}`;
  }
}

/** Runs a python script, returning its last stdout line as JSON. */
export async function runPython<T>(args: string[]): Promise<T> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", { args }).output();
  const out = new TextDecoder().decode(stdout).trim();
  if (code !== 0) {
    throw new Error(`python ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(out.split("\n").pop()!) as T;
}

/** The path of a program on PATH, or undefined (with the skipped checks printed). */
export async function which(tool: string): Promise<string | undefined> {
  const { code, stdout } = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] })
    .output();
  if (code === 0) return new TextDecoder().decode(stdout).trim();
  console.log(`skipping the ${tool} checks: ${tool} is not installed`);
  return undefined;
}

/** dciodvfy's errors on a file (none is the pass); its warnings are printed. */
export async function dciodvfyErrors(dciodvfy: string, path: string): Promise<string[]> {
  const { stdout, stderr } = await new Deno.Command(dciodvfy, { args: [path] }).output();
  const lines = (new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr)).split("\n");
  for (const w of lines.filter((l) => /^Warning/i.test(l))) console.log(`  dciodvfy: ${w}`);
  return lines.filter((l) => /^Error/i.test(l));
}

const SEG_READER = new URL("../../reference/dicom_seg_readback.py", import.meta.url).pathname;

/**
 * A SEG read back by pydicom (reference/dicom_seg_readback.py) onto the slices of the series it was
 * made from: the label volume (segment name -> label value as given) and what the reader reported
 * (worst_position_error, ...). Writes seg.dcm, slices.json and labels.bin into `dir`.
 */
export async function readSegBack(
  seg: Uint8Array,
  slices: readonly SeriesSlice[],
  labels: Record<string, number>,
  dir: string,
  // deno-lint-ignore no-explicit-any
): Promise<{ labels: Uint8Array; read: any }> {
  await Deno.writeFile(`${dir}/seg.dcm`, seg);
  await Deno.writeTextFile(
    `${dir}/slices.json`,
    JSON.stringify({
      uids: slices.map((s) => s.sopInstanceUID),
      positions: slices.map((s) => s.position),
      labels,
    }),
  );
  const read = await runPython([
    SEG_READER,
    `${dir}/seg.dcm`,
    `${dir}/slices.json`,
    `${dir}/labels.bin`,
  ]);
  return { labels: await Deno.readFile(`${dir}/labels.bin`), read };
}
