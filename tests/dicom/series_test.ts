/**
 * lib/dicom/series.ts and zip.ts: 3D-IRCADb patient 1 (129 CT slices, sent as a zip of the folder
 * in shuffled order) assembles to exactly the voxels of a pydicom + nibabel reference
 * (reference/dicom_series.py) with the same affine within 1e-4 and the same slice order; an
 * enhanced multi-frame CT of the conformance set and an oblique synthetic series agree with it too;
 * every refusal names the offending instance.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { zipSync } from "fflate";
import {
  BadInputError,
  InvalidInputError,
  LimitExceededError,
  type MedimgError,
} from "../../lib/errors.ts";
import { parseDataSet } from "../../lib/dicom/parse.ts";
import { assembleSeries, type Series } from "../../lib/dicom/series.ts";
import { looksLikeDicom, readZipInstances } from "../../lib/dicom/zip.ts";
import { dataFile } from "../_data.ts";
import { filesIn, ircadbFolder, pythonMissing, runPython, synthCt } from "./_series_fixtures.ts";

/** The typed-array class of `data`, as a name (so a mismatch prints both). */
function typeOf(data: unknown): string {
  return (data as object).constructor.name;
}

const REFERENCE = new URL("../../reference/dicom_series.py", import.meta.url).pathname;

interface Reference {
  shape: number[];
  dtype: string;
  affine: number[][];
  sop_uids: string[];
  seconds: number;
}

const pyMissing = await pythonMissing(["pydicom", "nibabel", "numpy"]);
if (pyMissing) console.log(`skipping the pydicom/nibabel reference tests: ${pyMissing}`);
const ircadb = await ircadbFolder();
const conformanceCt = dataFile("dicom-conformance/CT0012.not_fragmented_bot_rle.dcm");

/** Our series against the python reference of `source` (a folder or a multi-frame file). */
async function assertMatchesReference(
  series: Series,
  source: string,
  uidOf: (i: number) => string,
) {
  const bin = await Deno.makeTempFile({ dir: "/tmp", suffix: ".bin" });
  try {
    const ref = await runPython<Reference>([REFERENCE, source, bin]);
    const { volume } = series;
    assertEquals(volume.dims, ref.shape);
    const expected = new Float32Array((await Deno.readFile(bin)).buffer);
    assertEquals(expected.length, volume.data.length);
    let mismatches = 0, first = -1;
    for (let i = 0; i < expected.length; i++) {
      if (volume.data[i] !== expected[i]) {
        if (first < 0) first = i;
        mismatches++;
      }
    }
    assertEquals(
      mismatches,
      0,
      `${mismatches} voxels differ, first at ${first}: ${volume.data[first]} vs ${expected[first]}`,
    );
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) assertAlmostEquals(volume.affine[r][c], ref.affine[r][c], 1e-4);
    }
    assertEquals(series.slices.map((_, z) => uidOf(z)), ref.sop_uids);
    console.log(
      `  reference ${ref.shape.join("x")} ${ref.dtype} (pydicom ${
        ref.seconds.toFixed(2)
      } s); ours ${volume.datatype}`,
    );
    return ref;
  } finally {
    await Deno.remove(bin);
  }
}

Deno.test({
  name: "series: 3D-IRCADb patient 1 from a zip equals the pydicom + nibabel reference",
  ignore: !ircadb || pyMissing !== null,
  async fn() {
    const folder = `${ircadb}/PATIENT_DICOM`;
    const files = filesIn(folder);
    assertEquals(files.length, 129);
    // The zip as a user makes it of the folder, with the clutter such folders carry.
    const entries: Record<string, Uint8Array> = {
      "PATIENT_DICOM/.DS_Store": new Uint8Array(64),
      "PATIENT_DICOM/DICOMDIR": Deno.readFileSync(files[0]),
      "PATIENT_DICOM/README.txt": new TextEncoder().encode("3D-IRCADb patient 1"),
      "__MACOSX/PATIENT_DICOM/._image_0": new Uint8Array(10),
    };
    for (const f of files) entries[`PATIENT_DICOM/${f.split("/").pop()}`] = Deno.readFileSync(f);
    const zip = zipSync(entries, { level: 1 });
    const { instances, skipped } = readZipInstances(zip);
    assertEquals(instances.length, 129);
    assertEquals(instances.slice(0, 3).map((i) => i.name), [
      "PATIENT_DICOM/image_0",
      "PATIENT_DICOM/image_1",
      "PATIENT_DICOM/image_2",
    ]);
    assertEquals(skipped.map((s) => s.name).sort(), [
      "PATIENT_DICOM/.DS_Store",
      "PATIENT_DICOM/DICOMDIR",
      "PATIENT_DICOM/README.txt",
      "__MACOSX/PATIENT_DICOM/._image_0",
    ]);
    // Input order must not matter: reverse it, then shuffle deterministically.
    const shuffled = instances.map((i) => i.bytes).reverse();
    for (let i = 0; i < shuffled.length; i += 7) {
      const j = (i * 31) % shuffled.length;
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const series = await assembleSeries(shuffled);
    assertEquals(series.ordering, "position");
    assertEquals(typeOf(series.volume.data), "Int16Array");
    assertAlmostEquals(series.sliceSpacing, 1.6, 1e-6);
    assertEquals(series.volume.spacing.map((v) => Math.round(v * 1e6) / 1e6), [0.57, 0.57, 1.6]);
    assertEquals(series.slices.map((s) => s.instanceNumber), [...Array(129).keys()]);
    const ref = await assertMatchesReference(
      series,
      folder,
      (z) => series.slices[z].sopInstanceUID!,
    );
    assertEquals(ref.dtype, "int16");
  },
});

Deno.test({
  name: "series: an enhanced multi-frame CT is ordered by its per-frame positions",
  ignore: !conformanceCt || pyMissing !== null,
  async fn() {
    const series = await assembleSeries([Deno.readFileSync(conformanceCt!)]);
    // Orientation (-1,0,0, 0,1,0): the normal is -z, so the frame at z = -149 comes first.
    assertEquals(series.slices.map((s) => s.frame), [1, 0]);
    assertEquals(series.slices.map((s) => s.position), [[99.5, -301.5, -149], [
      99.5,
      -301.5,
      -159,
    ]]);
    assertEquals(series.sliceSpacing, 10);
    // RescaleIntercept -1024 lives in the shared Pixel Value Transformation Sequence.
    assertEquals(typeOf(series.volume.data), "Int16Array");
    await assertMatchesReference(
      series,
      conformanceCt!,
      (z) => `${series.slices[z].sopInstanceUID}#${series.slices[z].frame}`,
    );
  },
});

Deno.test({
  name: "series: an oblique, rescaled synthetic series equals the reference",
  ignore: pyMissing !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      // Row direction along x, column direction tilted 30 degrees between y and -z.
      const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
      const orientation = [1, 0, 0, 0, c, -s];
      const normal = [0, s, c];
      const inputs = [3, 0, 2, 1].map((k) =>
        synthCt({
          sopInstanceUID: `2.25.77${k}`,
          position: [10 + 2.5 * k * normal[0], -20 + 2.5 * k * normal[1], 5 + 2.5 * k * normal[2]],
          orientation,
          instanceNumber: 10 - k, // against the spatial order on purpose
          slope: 0.5,
          intercept: -3,
        })
      );
      inputs.forEach((b, i) => Deno.writeFileSync(`${dir}/f${i}`, b));
      const series = await assembleSeries(inputs);
      assertEquals(series.slices.map((x) => x.sopInstanceUID), [
        "2.25.770",
        "2.25.771",
        "2.25.772",
        "2.25.773",
      ]);
      assertEquals(typeOf(series.volume.data), "Float32Array");
      assertAlmostEquals(series.sliceSpacing, 2.5, 1e-9);
      await assertMatchesReference(series, dir, (z) => series.slices[z].sopInstanceUID!);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("series: an integral rescale keeps integers (Int16), the identity keeps the stored type", async () => {
  const ct = (k: number, o = {}) =>
    synthCt({ position: [0, 0, k], instanceNumber: k, intercept: -1024, ...o });
  const hu = await assembleSeries([ct(0), ct(1)]);
  assertEquals(typeOf(hu.volume.data), "Int16Array");
  assertEquals(hu.volume.data[0], -1024);
  assertEquals(hu.volume.data[12 + 5], 100 + 5 - 1024);
  const raw = await assembleSeries([ct(0, { intercept: 0 }), ct(1, { intercept: 0 })]);
  assertEquals(typeOf(raw.volume.data), "Int16Array");
  assertEquals(raw.volume.datatype, "int16");
  // Per-slice slope 0.5 on one slice only: the whole volume becomes Float32.
  const mixed = await assembleSeries([ct(0), ct(1, { slope: 0.5 })]);
  assertEquals(typeOf(mixed.volume.data), "Float32Array");
  assertEquals(mixed.volume.data[12 + 1], (100 + 1) * 0.5 - 1024);
});

Deno.test("series: without positions, slices go by InstanceNumber", async () => {
  const inputs = [2, 0, 1].map((k) =>
    synthCt({ position: null, instanceNumber: k, sopInstanceUID: `2.25.5${k}` })
  );
  const series = await assembleSeries(inputs);
  assertEquals(series.ordering, "instance-number");
  assertEquals(series.slices.map((s) => s.sopInstanceUID), ["2.25.50", "2.25.51", "2.25.52"]);
  assertEquals(series.volume.spacing[2], 2); // SliceThickness stands in for the step
  assertEquals(series.volume.data[12], 100);
});

/** Asserts a 422-class refusal whose message and facts name instance `index` with `uid`. */
async function assertRefused(inputs: Uint8Array[], index: number, uid: string, words: RegExp) {
  const err = await assertRejects(() => assembleSeries(inputs), InvalidInputError) as MedimgError;
  assert(words.test(err.message), err.message);
  assert(err.message.includes(uid), `message does not name ${uid}: ${err.message}`);
  assertEquals(err.facts.instance, index);
  assertEquals(err.facts.sop_instance_uid, uid);
}

const slice = (k: number, o: Parameters<typeof synthCt>[0] = {}) =>
  synthCt({ sopInstanceUID: `2.25.9${k}`, position: [0, 0, 2 * k], instanceNumber: k, ...o });

Deno.test("series refuses a mixed series, naming the stray instance", async () => {
  await assertRefused(
    [slice(0), slice(1), slice(2, { seriesInstanceUID: "2.25.666" })],
    2,
    "2.25.92",
    /mixed series.*2\.25\.666/,
  );
});

Deno.test({
  name: "series refuses a real slice whose SeriesInstanceUID bytes were edited",
  ignore: !ircadb,
  async fn() {
    const files = filesIn(`${ircadb}/PATIENT_DICOM`).slice(0, 3);
    const inputs = files.map((f) => Deno.readFileSync(f));
    const ds = parseDataSet(inputs[1]);
    const el = ds.elements.x0020000e;
    const last = el.dataOffset + el.length - 1;
    const at = inputs[1][last] === 0 ? last - 1 : last; // UIDs pad with NUL
    inputs[1][at] = inputs[1][at] === 0x31 ? 0x32 : 0x31;
    await assertRefused(inputs, 1, ds.string("x00080018")!, /mixed series/);
  },
});

Deno.test("series refuses differing rows/columns and orientation", async () => {
  await assertRefused([slice(0), slice(1, { rows: 5 }), slice(2)], 1, "2.25.91", /5x3.*4x3/);
  await assertRefused(
    [slice(0), slice(1), slice(2, { orientation: [1, 0, 0, 0, 0.9995, 0.0316] })],
    2,
    "2.25.92",
    /ImageOrientationPatient/,
  );
});

Deno.test("series refuses duplicate positions", async () => {
  await assertRefused(
    [slice(0), slice(1), slice(5, { position: [0, 0, 2] })],
    2,
    "2.25.95",
    /duplicate slice/,
  );
  // The same position shifted within the plane is still a duplicate along the normal.
  await assertRefused(
    [slice(0), slice(1, { position: [7, -3, 0.0004] })],
    1,
    "2.25.91",
    /duplicate slice/,
  );
});

Deno.test("series refuses uneven gaps beyond 1% of the step, and accepts them within it", async () => {
  // Gaps 2, 2, 3 (mean 2.33): the 3 mm gap is 29% off.
  await assertRefused(
    [slice(0), slice(1), slice(2), slice(3, { position: [0, 0, 7] })],
    3,
    "2.25.93",
    /uneven slice gaps.*2.25.93.*usual step is 2 mm.*tolerance 1%/,
  );
  // A missing slice in the middle: gaps 2, 4, 2.
  await assertRefused([slice(0), slice(1), slice(3), slice(4)], 2, "2.25.93", /uneven/);
  // 0.5% jitter passes, and so does a wider gap under a wider tolerance.
  const ok = await assembleSeries([slice(0), slice(1, { position: [0, 0, 2.005] }), slice(2)]);
  assertEquals(ok.volume.depth, 3);
  const lenient = await assembleSeries([slice(0), slice(1), slice(3, { position: [0, 0, 4.5] })], {
    gapTolerance: 0.2,
  });
  assertEquals(lenient.volume.depth, 3);
});

Deno.test("series refuses a slice with neither position nor InstanceNumber, and an empty series", async () => {
  await assertRefused(
    [slice(0, { position: null }), slice(1, { position: null, instanceNumber: null })],
    1,
    "2.25.91",
    /neither ImagePositionPatient/,
  );
  await assertRejects(() => assembleSeries([]), InvalidInputError, "no instances");
});

Deno.test("series names the instance that is not DICOM", async () => {
  const err = await assertRejects(
    () => assembleSeries([slice(0), new TextEncoder().encode("x".repeat(300))]),
    Error,
  );
  assert(/^instance 1: not DICOM/.test(err.message), err.message);
});

Deno.test("zip: non-DICOM entries are skipped, a zip bomb is refused before inflating", () => {
  assert(looksLikeDicom(slice(0)));
  assert(!looksLikeDicom(new TextEncoder().encode("hello, world")));
  const zip = zipSync({ "a/x1": slice(0), "a/notes.md": new TextEncoder().encode("# notes") });
  const { instances, skipped } = readZipInstances(zip);
  assertEquals(instances.map((i) => i.name), ["a/x1"]);
  assertEquals(skipped, [{ name: "a/notes.md", reason: "not DICOM" }]);
  const err = assertThrows(() => readZipInstances(zip, { maxBytes: 100 }), LimitExceededError);
  assert(/inflate to over 100 bytes/.test(err.message), err.message);
  assertThrows(() => readZipInstances(new Uint8Array(50)), BadInputError, "zip could not be read");
});

Deno.test({
  name: "series refuses a liver-mask slice among the CT slices (another SeriesInstanceUID)",
  ignore: !ircadb,
  async fn() {
    const ct = [0, 1, 2].map((k) => Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${k}`));
    const mask = Deno.readFileSync(`${ircadb}/MASKS_DICOM/liver/image_3`);
    const uid = parseDataSet(mask).string("x00080018")!;
    await assertRefused([...ct, mask], 3, uid, /mixed series/);
  },
});

Deno.test("series: one slice gets the normal times SliceThickness as its z axis", async () => {
  const one = await assembleSeries([slice(0, { orientation: [0, 1, 0, 0, 0, -1] })]);
  assertEquals(one.volume.depth, 1);
  // Sagittal: rows along +y (A->P in LPS), columns along -z; the normal is -x (LPS) = +x in RAS.
  assertEquals(one.volume.affine.map((r) => r[2]), [2, 0, 0, 0]);
  assertEquals(one.volume.affine.map((r) => r[0]), [0, -0.75, 0, 0]);
});

Deno.test("series refuses a volume over maxBytes before decoding it", async () => {
  // 2 slices x 4 x 3 voxels x 2 bytes = 48 bytes.
  await assertRejects(
    () => assembleSeries([slice(0), slice(1)], { maxBytes: 47 }),
    LimitExceededError,
    "over the limit of 47 bytes",
  );
  assertEquals((await assembleSeries([slice(0), slice(1)], { maxBytes: 48 })).volume.depth, 2);
});
