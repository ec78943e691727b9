/**
 * Every NIfTI file of ../shared/data/nifti-conformance and the BraTS volumes read to the values
 * nibabel gives (tests/fixtures/make_nifti_reference.py): shape, dtype, affine, zooms, scaling, the
 * voxels (sha256 of float32 get_fdata, statistics, sampled voxels), and the closest canonical
 * orientation (as_closest_canonical: ornt, shape, affine, zooms, header codes, voxels). Files with
 * datatypes we do not decode give the 415 error. Also the synthetic files stored in the fixture.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { UnsupportedError } from "../../lib/errors.ts";
import {
  axcodes,
  fromCanonical,
  ioOrientation,
  readNifti,
  toCanonical,
  type Volume,
} from "../../lib/nifti/mod.ts";
import { dataFile } from "../_data.ts";
import {
  assertAffine,
  assertData,
  assertHeader,
  fixture,
  type RefImage,
  sha16,
} from "./_reference.ts";

const DECODED = new Set(["uint8", "int16", "uint16", "int32", "float32", "float64"]);

async function check(v: Volume, ref: RefImage, what: string) {
  assertHeader(v, ref, what);
  await assertData(v.data, ref.data!, what);
  assertEquals(axcodes(v.affine), ref.axcodes, `${what}: axcodes`);
  assertEquals(ioOrientation(v.affine), ref.ornt, `${what}: io_orientation`);
  const can = ref.canonical!;
  if (can.error) return;
  const { volume: c, undo } = toCanonical(v);
  assertEquals(c.dims, can.shape, `${what}: canonical shape`);
  assertAffine(c.affine, can.affine, 1e-12, `${what}: canonical affine`);
  for (let i = 0; i < 3; i++) {
    const z = can.zooms[i] ?? 1;
    assert(Math.abs(c.spacing[i] - z) <= 1e-6 * z, `${what}: canonical zoom ${i}`);
  }
  assertEquals(c.header.qform_code, can.qform_code, `${what}: canonical qform_code`);
  assertEquals(c.header.sform_code, can.sform_code, `${what}: canonical sform_code`);
  assertEquals(c.header.dim_info, can.dim_info, `${what}: canonical dim_info`);
  await assertData(c.data, can.data, `${what} canonical`);
  // And back: the input's voxel order exactly.
  assertEquals(await sha16(fromCanonical(c.data, undo)), ref.data!.sha, `${what}: undo`);
}

for (const [rel, ref] of Object.entries(fixture.files)) {
  const path = dataFile(rel);
  Deno.test({
    name: `nifti reference: ${rel} (${ref.dtype} ${ref.shape.join("x")})`,
    ignore: path === undefined,
    fn: async () => {
      if (!DECODED.has(ref.dtype)) {
        const err = await assertRejects(
          async () => await readNifti((await Deno.open(path!)).readable),
          UnsupportedError,
        );
        assert(err.message.includes(ref.dtype === "complex64" ? "complex64" : "RGB24"));
        return;
      }
      // Both ways in: a file stream (gunzipped as it streams) and the whole file in memory (the
      // second way only for the small files: the BraTS volumes take seconds each on a busy CI).
      const streamed = await readNifti((await Deno.open(path!)).readable);
      await check(streamed, ref, rel);
      if (rel.startsWith("brats/")) return;
      const bytes = await Deno.readFile(path!);
      const whole = await readNifti(bytes);
      assertEquals(await sha16(whole.data), ref.data!.sha, `${rel}: from bytes`);
      const raw = await readNifti(bytes, { scale: false });
      assertEquals(await sha16(raw.data), ref.raw_sha, `${rel}: stored values`);
    },
  });
}

for (const [name, { note, file, ref }] of Object.entries(fixture.synthetic)) {
  Deno.test(`nifti reference: synthetic ${name} (${note})`, async () => {
    const bytes = Uint8Array.from(atob(file), (c) => c.charCodeAt(0));
    await check(await readNifti(bytes), ref, name);
  });
}

Deno.test("nifti reference: the same image in six axis orders canonicalises to one array", async () => {
  const orders = ["RAS", "LAS", "LPI", "PIR", "ASL", "SRA"];
  const hashes = new Set<string>();
  let first: Volume | undefined;
  for (const o of orders) {
    const path = dataFile(`nifti-conformance/niivue/nifti_space_${o}.nii.gz`);
    if (!path) return;
    const v = await readNifti((await Deno.open(path)).readable);
    assertEquals(axcodes(v.affine).join(""), o);
    const c = toCanonical(v).volume;
    assertEquals(axcodes(c.affine).join(""), "RAS");
    hashes.add(await sha16(c.data));
    first ??= c;
    assertEquals(c.dims, first.dims);
    assertAffine(c.affine, first.affine, 1e-5, `${o} canonical affine`);
  }
  assertEquals(hashes.size, 1);
});
