/**
 * Bad NIfTI input gives typed errors, never another exception: not NIfTI, empty, truncated (header,
 * voxels, gzip), corrupt gzip, malformed header fields, datatypes we do not decode, a declared size
 * over the limit (refused before allocating), and random corruption. Streams in odd chunk sizes
 * read the same as bytes.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  BadInputError,
  InvalidInputError,
  LimitExceededError,
  MedimgError,
  UnsupportedError,
} from "../../lib/errors.ts";
import { parseHeader, readNifti, sliceZ } from "../../lib/nifti/mod.ts";
import { fixture, sha16 } from "./_reference.ts";

/** The fixture's uint16 6x5x4 little-endian .nii (qform with qfac -1, pixdim 1.5, 2, 3). */
function smallNii(): Uint8Array {
  const b64 = fixture.synthetic["nifti1_le_uint16_qfac.nii"].file;
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function gzipOf(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = ReadableStream.from([bytes as Uint8Array<ArrayBuffer>]).pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A copy of `bytes` with `edit` applied to a little-endian DataView over it. */
function edited(bytes: Uint8Array, edit: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

/** A stream of `bytes` cut into chunks of the given sizes (cycled). */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  return ReadableStream.from(parts);
}

Deno.test("nifti read: a small uncompressed file, from bytes, a stream and a gzip stream", async () => {
  const nii = smallNii();
  const ref = fixture.synthetic["nifti1_le_uint16_qfac.nii"].ref;
  for (
    const input of [
      nii,
      chunked(nii, [1, 3, 7, 350, 2]),
      chunked(await gzipOf(nii), [5, 1, 64]),
      await gzipOf(nii),
    ]
  ) {
    const v = await readNifti(input);
    assertEquals(v.dims, [6, 5, 4]);
    assert(v.data instanceof Uint16Array);
    assertEquals(await sha16(v.data), ref.data!.sha);
  }
});

Deno.test("nifti read: not NIfTI, empty, or a NIfTI pair header", async () => {
  const nii = smallNii();
  await assertRejects(() => readNifti(new Uint8Array(0)), BadInputError, "empty");
  await assertRejects(() => readNifti(ReadableStream.from([])), BadInputError, "empty");
  await assertRejects(
    () => readNifti(new TextEncoder().encode("hello, this is not a volume at all")),
    BadInputError,
    "not NIfTI",
  );
  await assertRejects(
    async () => readNifti(await gzipOf(new TextEncoder().encode("gzip of text"))),
    BadInputError,
    "not NIfTI",
  );
  await assertRejects(
    () => readNifti(edited(nii, (v) => v.setUint8(345, "i".charCodeAt(0)))),
    UnsupportedError,
    "pair",
  );
  await assertRejects(
    () => readNifti(edited(nii, (v) => v.setUint8(344, "x".charCodeAt(0)))),
    BadInputError,
    "magic",
  );
});

Deno.test("nifti read: truncated header, voxels and gzip", async () => {
  const nii = smallNii();
  await assertRejects(() => readNifti(nii.subarray(0, 200)), BadInputError, "header is truncated");
  await assertRejects(() => readNifti(nii.subarray(0, nii.length - 1)), BadInputError, "truncated");
  await assertRejects(() => readNifti(nii.subarray(0, 352)), BadInputError, "truncated");
  const gz = await gzipOf(nii);
  const half = await assertRejects(() => readNifti(gz.subarray(0, gz.length >> 1)), BadInputError);
  assert(/truncated/.test(half.message), half.message);
  // Every voxel is there but the 8-byte trailer (CRC, size) is not, or the CRC is wrong: refused,
  // as nibabel (Python's gzip) refuses it.
  await assertRejects(() => readNifti(gz.subarray(0, gz.length - 8)), BadInputError, "gzip");
  const badCrc = gz.slice();
  badCrc[gz.length - 8] ^= 0xff;
  await assertRejects(() => readNifti(badCrc), BadInputError, "gzip");
  await assertRejects(() => readNifti(chunked(badCrc, [100])), BadInputError, "gzip");
  const corrupt = gz.slice();
  for (let i = 20; i < 40; i++) corrupt[i] ^= 0x5a;
  await assertRejects(() => readNifti(corrupt), BadInputError);
  await assertRejects(() => readNifti(chunked(corrupt, [7])), BadInputError);
});

Deno.test("nifti read: malformed header fields", async () => {
  const nii = smallNii();
  const cases: [string, (v: DataView) => void, new (...a: never[]) => Error, string][] = [
    ["dim[0] 0", (v) => v.setInt16(40, 0, true), BadInputError, "dim[0]"],
    ["dim[0] 8", (v) => v.setInt16(40, 8, true), BadInputError, "dim[0]"],
    ["negative dim", (v) => v.setInt16(44, -5, true), BadInputError, "negative"],
    ["zero dim", (v) => v.setInt16(44, 0, true), InvalidInputError, "no voxels"],
    ["unknown datatype", (v) => v.setInt16(70, 3, true), BadInputError, "code 3"],
    ["int8", (v) => v.setInt16(70, 256, true), UnsupportedError, "int8"],
    ["complex64", (v) => v.setInt16(70, 32, true), UnsupportedError, "complex64"],
    ["vox_offset 0", (v) => v.setFloat32(108, 0, true), BadInputError, "vox_offset"],
    ["vox_offset NaN", (v) => v.setFloat32(108, NaN, true), BadInputError, "vox_offset"],
    ["quaternion > 1", (v) => v.setFloat32(256, 1.5, true), BadInputError, "quaternion"],
    [
      "slope with infinite intercept",
      (v) => {
        v.setFloat32(112, 2, true);
        v.setFloat32(116, Infinity, true);
      },
      BadInputError,
      "scl_inter",
    ],
  ];
  for (const [what, edit, type, text] of cases) {
    const err = await assertRejects(() => readNifti(edited(nii, edit)), type);
    assert(err.message.includes(text), `${what}: ${err.message}`);
  }
});

Deno.test("nifti read: a declared size over the limit is refused before allocating", async () => {
  const nii = smallNii();
  // 30000^3 uint16: 54 TB declared in a 472-byte file.
  const huge = edited(nii, (v) => [42, 44, 46].forEach((at) => v.setInt16(at, 30000, true)));
  const t0 = performance.now();
  const err = await assertRejects(() => readNifti(huge), LimitExceededError) as MedimgError;
  assert(performance.now() - t0 < 200);
  assertEquals(err.facts.limit, 512 * 1024 * 1024);
  // The same through gzip: the header is read, the rest of the stream never inflated.
  await assertRejects(async () => readNifti(await gzipOf(huge)), LimitExceededError);
  // The decoded size counts too: 120 uint16 voxels are 240 bytes, 480 once scaled to float32.
  await assertRejects(() => readNifti(nii, { maxBytes: 239 }), LimitExceededError);
  assertEquals((await readNifti(nii, { maxBytes: 240 })).data.length, 120);
  const scaled = edited(nii, (v) => v.setFloat32(112, 2, true));
  await assertRejects(() => readNifti(scaled, { maxBytes: 479 }), LimitExceededError);
  assertEquals(
    (await readNifti(scaled, { maxBytes: 480 })).data[0],
    2 * (nii[352] | nii[353] << 8),
  );
  // NIfTI-2: int64 dims past 2^53 are malformed, large ones over the limit.
  const n2 = Uint8Array.from(
    atob(fixture.synthetic["nifti2_le_float32_oblique.nii"].file),
    (c) => c.charCodeAt(0),
  );
  await assertRejects(
    () => readNifti(edited(n2, (v) => v.setBigInt64(24, 1n << 60n, true))),
    BadInputError,
    "int64",
  );
  await assertRejects(
    () => readNifti(edited(n2, (v) => v.setBigInt64(24, 1n << 40n, true))),
    LimitExceededError,
  );
});

Deno.test("nifti read: random corruption gives a volume or a typed error, nothing else", async () => {
  const sources = [
    smallNii(),
    ...["nifti2_be_int32_scaled_4d.nii.gz", "nifti1_be_float64_scaled.nii.gz"].map((n) =>
      Uint8Array.from(atob(fixture.synthetic[n].file), (c) => c.charCodeAt(0))
    ),
  ];
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let typed = 0, read = 0;
  for (let round = 0; round < 600; round++) {
    const src = sources[round % sources.length];
    const bytes = src.slice(0, random() < 0.2 ? Math.floor(random() * src.length) : src.length);
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
      bytes[Math.floor(random() * Math.min(bytes.length, 560))] = Math.floor(random() * 256);
    }
    try {
      await readNifti(bytes, { maxBytes: 1 << 20 });
      read++;
    } catch (err) {
      if (!(err instanceof MedimgError)) throw err;
      typed++;
    }
  }
  assert(typed > 100 && read > 50, `typed ${typed}, read ${read}`);
});

Deno.test("nifti read: header fields and slices of a volume", async () => {
  const nii = smallNii();
  const h = parseHeader(nii);
  assertEquals(h.version, 1);
  assertEquals(h.dim.slice(0, 4), [3, 6, 5, 4]);
  assertEquals(h.vox_offset, 352);
  const v = await readNifti(nii);
  const img = sliceZ(v, 2);
  assertEquals([img.width, img.height, img.channels], [6, 5, 1]);
  assertEquals(img.spacing, [2, 1.5]);
  assertEquals(Array.from(img.data), Array.from(v.data.subarray(60, 90)));
  assert(img.data.buffer === v.data.buffer, "a slice is a view, not a copy");
});
