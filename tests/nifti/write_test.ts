/**
 * Writing: the files of tests/nifti/_write_cases.ts are byte for byte the ones nibabel read when
 * the fixture was made, and nibabel read them to our values; write then read gives the same voxels
 * and affine for every datatype; the input's geometry and descriptive fields are kept; what cannot be
 * written is a typed error.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { InvalidInputError, UnsupportedError } from "../../lib/errors.ts";
import type { Pixels } from "../../lib/image/image.ts";
import {
  encodeNifti,
  type NiftiHeader,
  parseHeader,
  readNifti,
  writeNifti,
} from "../../lib/nifti/mod.ts";
import { assertAffine, assertData, fixture } from "./_reference.ts";
import { writeCases } from "./_write_cases.ts";

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromB64(name: string): Uint8Array {
  return Uint8Array.from(atob(fixture.synthetic[name].file), (c) => c.charCodeAt(0));
}

const cases = await writeCases();

Deno.test({
  name: "nifti write: nibabel read our files (the same bytes) to our values",
  ignore: cases === undefined,
  fn: async () => {
    assertEquals(cases!.map((c) => c.name).sort(), Object.keys(fixture.written).sort());
    for (const { name, source, bytes } of cases!) {
      const ref = fixture.written[name];
      assertEquals(await sha256(bytes), ref.file_sha, `${name}: bytes nibabel read`);
      const back = await readNifti(bytes);
      assertEquals(back.dims, ref.shape, name);
      assertEquals(back.datatype, ref.dtype, name);
      assertEquals(back.scaled, false, name);
      assertAffine(back.affine, ref.affine, 1e-12, `${name} affine`);
      await assertData(back.data, ref.data!, name);
      assertEquals(ref.fields.raw_scl, [1, 0], `${name}: nibabel sees no scaling`);
      // The input's geometry is kept: the affine nibabel reads is the input's (to float32).
      const input = await readNifti(
        (await Deno.open(new URL(`../../../shared/data/${source}`, import.meta.url))).readable,
      );
      if (!name.startsWith("canonical")) {
        assertAffine(ref.affine, input.affine, input.header.version === 1 ? 0 : 1e-7, name);
        for (const k of ["xyzt_units", "slice_code", "dim_info", "intent_code"] as const) {
          assertEquals(ref.fields[k], input.header[k], `${name}: ${k}`);
        }
        assertEquals([ref.qform_code, ref.sform_code], [
          input.header.qform_code,
          input.header.sform_code,
        ]);
      }
      assertEquals([ref.fields.cal_min, ref.fields.cal_max], [0, 0], name);
    }
    assertEquals(fixture.written.nifti2_as_nifti1_float32.descrip, "medimg-edge test");
  },
});

Deno.test("nifti write: write then read, every datatype, gzip and not", async () => {
  const src = await readNifti(fromB64("nifti1_be_float64_scaled.nii.gz"));
  const n = src.data.length;
  const arrays: Pixels[] = [
    Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256),
    Int16Array.from({ length: n }, (_, i) => i * 997 - 30000),
    Uint16Array.from({ length: n }, (_, i) => i * 1009),
    Int32Array.from({ length: n }, (_, i) => i * 35791394 - 2 ** 31),
    Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 1e6)),
  ];
  for (const data of arrays) {
    for (const gz of [true, false]) {
      const bytes = gz ? await writeNifti(src.header, data) : encodeNifti(src.header, data);
      const back = await readNifti(bytes);
      assertEquals(back.data.constructor, data.constructor);
      assertEquals(back.data, data);
      assertEquals(back.dims, src.dims);
      assertEquals(back.affine, src.affine); // a NIfTI-1 input: its float32 fields, unchanged
      assertEquals(back.header.littleEndian, true);
      assertEquals([back.header.scl_slope, back.header.scl_inter], [1, 0]);
      assertEquals(back.header.pixdim, src.header.pixdim);
    }
  }
  // The gzip file is the gzip of the .nii bytes.
  const gz = await writeNifti(src.header, arrays[0]);
  const plain = new Uint8Array(
    await new Response(
      ReadableStream.from([gz as Uint8Array<ArrayBuffer>]).pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  assertEquals(plain, encodeNifti(src.header, arrays[0]));
});

Deno.test("nifti write: a 3D label map from a 4D input, and what cannot be written", async () => {
  const src = await readNifti(fromB64("nifti2_be_int32_scaled_4d.nii.gz"));
  const [w, h, d] = src.dims;
  const labels = new Uint8Array(w * h * d).fill(2);
  const back = await readNifti(await writeNifti(src.header, labels, { dims: [w, h, d] }));
  assertEquals(back.dims, [w, h, d]);
  assertEquals(back.header.version, 1);
  assertAffine(back.affine, src.affine, 1e-6, "qform from a NIfTI-2 header, in float32");
  assertThrows(() => encodeNifti(src.header, labels), InvalidInputError, "needs");
  assertThrows(
    () => encodeNifti(src.header, new Int8Array(w * h * d)),
    UnsupportedError,
    "Int8Array",
  );
  assertThrows(
    () => encodeNifti(src.header, labels, { dims: [w, h, d, 1, 1, 1, 1, 1] }),
    InvalidInputError,
  );
  const wide: NiftiHeader = { ...src.header, dim: [3, 40000, 1, 1, 1, 1, 1, 1] };
  await assertRejects(() => writeNifti(wide, new Uint8Array(40000)), InvalidInputError, "dim");
  const header = parseHeader(encodeNifti(src.header, labels, { dims: [w, h, d] }));
  assert(header.descrip === src.header.descrip && header.magic === "n+1");
});
