/**
 * The nibabel fixture (tests/fixtures/make_nifti_reference.py) and the comparisons the NIfTI tests
 * share: header facts, float32 hash of the data in voxel order, statistics and sampled voxels.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import type { Pixels } from "../../lib/image/image.ts";
import { type Affine, slopeInter, type Volume } from "../../lib/nifti/mod.ts";
import { readGzipText } from "../_data.ts";

export interface RefStats {
  sha: string;
  min: number;
  max: number;
  mean: number;
  sum: number;
  nan: number;
  nonzero: number;
  samples: [number, number | null][];
}

export interface RefImage {
  version: 1 | 2;
  endian: "little" | "big";
  shape: number[];
  dtype: string;
  affine: Affine;
  zooms: number[];
  slope: number;
  inter: number;
  qform_code: number;
  sform_code: number;
  pixdim: number[];
  descrip: string;
  data?: RefStats;
  raw_sha?: string;
  axcodes?: string[];
  ornt?: [number, 1 | -1][];
  canonical?: {
    error?: string;
    shape: number[];
    affine: Affine;
    zooms: number[];
    qform_code: number;
    sform_code: number;
    dim_info: number;
    data: RefStats;
  };
}

export interface Fixture {
  nibabel: string;
  files: Record<string, RefImage>;
  synthetic: Record<string, { note: string; file: string; ref: RefImage }>;
  /** tests/nifti/_write_cases.ts files as nibabel read them. */
  written: Record<
    string,
    RefImage & { file_sha: string; fields: Record<string, number> & { raw_scl: number[] } }
  >;
}

export const fixture: Fixture = JSON.parse(
  await readGzipText(new URL("../fixtures/nifti_reference.json.gz", import.meta.url).pathname),
);

/** sha256 (16 hex) of the values as little-endian float32, as the fixture script hashes them. */
export async function sha16(data: Pixels): Promise<string> {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength) as Uint8Array<ArrayBuffer>,
  );
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Affines equal to `tol` relative to the largest entry (nibabel's qform runs in long double). */
export function assertAffine(actual: Affine, expected: Affine, tol = 1e-12, what = "affine") {
  const scale = Math.max(1, ...expected.flat().map(Math.abs));
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      assertAlmostEquals(actual[i][j], expected[i][j], tol * scale, `${what}[${i}][${j}]`);
    }
  }
}

/** The data's hash, statistics and sampled voxels equal nibabel's `get_fdata()`. */
export async function assertData(data: Pixels, ref: RefStats, what: string) {
  let min = Infinity, max = -Infinity, sum = 0, nan = 0, nonzero = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) {
      nan++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v !== 0) nonzero++;
  }
  const rel = (x: number) => 1e-9 * Math.max(1, Math.abs(x));
  assertEquals(nan, ref.nan, `${what}: NaN count`);
  assertEquals(nonzero, ref.nonzero, `${what}: non-zero count`);
  // nibabel's get_fdata is float64: our float32 data equal it rounded, integers exactly.
  const round = data instanceof Float32Array ? Math.fround : (x: number) => x;
  assertEquals(min, round(ref.min), `${what}: min`);
  assertEquals(max, round(ref.max), `${what}: max`);
  assertAlmostEquals(
    sum,
    ref.sum,
    Math.max(rel(ref.sum), 1e-7 * Math.abs(ref.sum)),
    `${what}: sum`,
  );
  for (const [i, v] of ref.samples) {
    if (v === null) assert(Number.isNaN(data[i]), `${what}: voxel ${i} is NaN`);
    else assertEquals(data[i], round(v), `${what}: voxel ${i}`);
  }
  assertEquals(await sha16(data), ref.sha, `${what}: sha256 of the float32 voxels`);
}

/** The volume's header facts equal nibabel's. */
export function assertHeader(v: Volume, ref: RefImage, what: string) {
  assertEquals(v.header.version, ref.version, `${what}: version`);
  assertEquals(v.header.littleEndian, ref.endian === "little", `${what}: byte order`);
  assertEquals(v.dims, ref.shape, `${what}: shape`);
  assertEquals(v.datatype, ref.dtype, `${what}: dtype`);
  assertEquals(v.header.qform_code, ref.qform_code, `${what}: qform_code`);
  assertEquals(v.header.sform_code, ref.sform_code, `${what}: sform_code`);
  assertEquals(v.header.pixdim, ref.pixdim.slice(0, 8), `${what}: pixdim`);
  assertEquals(v.header.descrip, ref.descrip, `${what}: descrip`);
  const zooms = v.header.pixdim.slice(1, v.dims.length + 1);
  assertEquals(zooms, ref.zooms, `${what}: zooms`);
  assertEquals(v.spacing, [0, 1, 2].map((i) => ref.zooms[i] ?? 1), `${what}: spacing`);
  const identity = ref.slope === 1 && ref.inter === 0;
  assertEquals(v.scaled, !identity, `${what}: scaled`);
  if (!identity) {
    assert(v.data instanceof Float32Array, `${what}: scaled data is Float32Array`);
    assertEquals(slopeInter(v.header), { slope: ref.slope, inter: ref.inter }, `${what}: scaling`);
  }
  assertAffine(v.affine, ref.affine, 1e-12, `${what}: affine`);
}
