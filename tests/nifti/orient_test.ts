/**
 * Reorientation: every one of the 48 axis orders and flips undoes itself exactly, nibabel's
 * orientation of an oblique affine, a degenerate affine is a typed error, results on the canonical
 * grid go back to the input's order, and a header given a new affine stores it the way nibabel does.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { InvalidInputError } from "../../lib/errors.ts";
import {
  applyOrientation,
  axcodes,
  bestAffine,
  fromCanonical,
  invertOrientation,
  ioOrientation,
  type Orientation,
  parseHeader,
  qformAffine,
  readNifti,
  toCanonical,
  withAffine,
} from "../../lib/nifti/mod.ts";
import { encodeHeader } from "../../lib/nifti/header.ts";
import { assertAffine, fixture } from "./_reference.ts";

const PERMUTATIONS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

function* orientations(): Generator<Orientation> {
  for (const p of PERMUTATIONS) {
    for (let flips = 0; flips < 8; flips++) {
      yield p.map((axis, i) => [axis, (flips >> i) & 1 ? -1 : 1]) as Orientation;
    }
  }
}

Deno.test("nifti orient: apply_orientation on a tiny array, by hand", () => {
  // 2x2x1, x fastest: [(0,0), (1,0), (0,1), (1,1)] = 1, 2, 3, 4
  const data = Uint8Array.of(1, 2, 3, 4);
  assertEquals(
    applyOrientation(data, [2, 2, 1], [[0, -1], [1, 1], [2, 1]]).data,
    Uint8Array.of(2, 1, 4, 3),
  );
  assertEquals(
    applyOrientation(data, [2, 2, 1], [[1, 1], [0, 1], [2, 1]]).data,
    Uint8Array.of(1, 3, 2, 4),
  );
  // 3x1x2 with axes moved: x -> z, z -> x
  const moved = applyOrientation(Int16Array.of(1, 2, 3, 4, 5, 6), [3, 1, 2], [[2, 1], [1, 1], [
    0,
    -1,
  ]]);
  assertEquals(moved.dims, [2, 1, 3]);
  assertEquals(moved.data, Int16Array.of(4, 1, 5, 2, 6, 3));
});

Deno.test("nifti orient: each of the 48 orientations is undone by its inverse, frames kept", () => {
  const dims = [3, 4, 5, 2];
  const data = Float32Array.from({ length: 120 }, (_, i) => i * 1.5 - 7);
  const seen = new Set<string>();
  for (const ornt of orientations()) {
    const there = applyOrientation(data, dims, ornt);
    seen.add(Array.from(there.data.subarray(0, 12)).join());
    const back = applyOrientation(there.data, there.dims, invertOrientation(ornt));
    assertEquals(back.dims, dims);
    assertEquals(back.data, data);
  }
  assertEquals(seen.size, 48);
});

Deno.test("nifti orient: io_orientation of oblique and degenerate affines", () => {
  // 30 degrees about z: x still closest to R, y to A.
  const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
  assertEquals(ioOrientation([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), [[0, 1], [
    1,
    1,
  ], [2, 1]]);
  // 60 degrees: x now runs closest to A, y closest to L.
  assertEquals(ioOrientation([[s, -c, 0, 0], [c, s, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), [[1, 1], [
    0,
    -1,
  ], [2, 1]]);
  assertEquals(axcodes([[0, 0, -2, 0], [3, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]), [
    "A",
    "I",
    "L",
  ]);
  assertThrows(
    () => ioOrientation([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]),
    InvalidInputError,
    "degenerate",
  );
});

Deno.test("nifti orient: labels made on the canonical grid go back to the input's voxel order", async () => {
  const file = fixture.synthetic["nifti2_le_float32_oblique.nii"].file;
  const v = await readNifti(Uint8Array.from(atob(file), (ch) => ch.charCodeAt(0)));
  const { volume: c, undo } = toCanonical(v);
  assert(c.dims.join() !== v.dims.join() || c.affine.flat().join() !== v.affine.flat().join());
  // A 3D map on the canonical grid whose voxel holds its canonical (x, y, z): in the input's
  // order each voxel must hold where it went, by the affines: same world point.
  const [w, h, d] = c.dims;
  const where = new Int32Array(w * h * d);
  for (let z = 0, k = 0; z < d; z++) {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) where[k++] = x + 100 * y + 10000 * z;
  }
  const back = fromCanonical(where, undo);
  const world = (a: number[][], p: number[]) =>
    [0, 1, 2].map((i) => a[i][0] * p[0] + a[i][1] * p[1] + a[i][2] * p[2] + a[i][3]);
  for (let z = 0, k = 0; z < v.depth; z++) {
    for (let y = 0; y < v.height; y++) {
      for (let x = 0; x < v.width; x++, k++) {
        const q = back[k];
        const p = [q % 100, Math.floor(q / 100) % 100, Math.floor(q / 10000)];
        const [a, b] = [world(v.affine, [x, y, z]), world(c.affine, p)];
        for (let i = 0; i < 3; i++) assert(Math.abs(a[i] - b[i]) < 1e-9, `voxel ${x},${y},${z}`);
      }
    }
  }
  assertThrows(() => fromCanonical(new Int32Array(7), undo), InvalidInputError);
});

Deno.test("nifti orient: a header given a new affine stores it as nibabel does", async () => {
  for (const name of ["nifti2_le_float32_oblique.nii", "nifti1_be_float64_scaled.nii.gz"]) {
    const { file, ref } = fixture.synthetic[name];
    const v = await readNifti(Uint8Array.from(atob(file), (ch) => ch.charCodeAt(0)));
    const { volume: c } = toCanonical(v);
    const h = parseHeader(encodeHeader(c.header));
    assertEquals([h.sform_code, h.qform_code], [
      ref.canonical!.sform_code,
      ref.canonical!.qform_code,
    ]);
    // sform: the affine in float32; qform: its shear-free part (these affines have shear).
    assertAffine(bestAffine(h), c.affine, 1e-7, `${name} sform`);
    const q = qformAffine(h);
    for (let j = 0; j < 3; j++) {
      const norm = Math.hypot(q[0][j], q[1][j], q[2][j]);
      assert(Math.abs(norm - c.spacing[j]) < 1e-5 * norm, `${name} qform column ${j}`);
    }
    assertEquals(axcodes(q), ["R", "A", "S"]);
  }
  // A shear-free affine comes back from the qform alone.
  const base = parseHeader(encodeHeader(
    (await readNifti(
      Uint8Array.from(
        atob(fixture.synthetic["nifti1_le_uint16_qfac.nii"].file),
        (ch) => ch.charCodeAt(0),
      ),
    )).header,
  ));
  const rotation = [[0, -2, 0, 5], [0, 0, 3, -7], [-1.5, 0, 0, 11], [0, 0, 0, 1]];
  assertAffine(qformAffine(withAffine(base, rotation)), rotation, 1e-15, "qform of a rotation");
  assertThrows(
    () => withAffine(base, [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
    InvalidInputError,
  );
});
