/**
 * lib/dicom/seg.ts: a synthetic label volume over four consecutive 3D-IRCADb CT slices (made here,
 * never committed) written as DICOM SEG reads back with pydicom (reference/dicom_seg_readback.py) to
 * the same labels, at the source slices' positions; dciodvfy reports no error on it (its warnings
 * are printed) and dcmdump reads it. De-identification, the multi-frame source and refusals too.
 */
import { assert, assertEquals, assertNotEquals, assertRejects } from "@std/assert";
import { InvalidInputError } from "../../lib/errors.ts";
import { parseDataSet } from "../../lib/dicom/parse.ts";
import { assembleSeries, type Series } from "../../lib/dicom/series.ts";
import { cielabToDicom, type SegmentDescription, writeSeg } from "../../lib/dicom/seg.ts";
import { dataFile } from "../_data.ts";
import {
  dciodvfyErrors,
  filesIn,
  ircadbFolder,
  pythonMissing,
  readSegBack,
  synthCt,
  which,
} from "./_series_fixtures.ts";

const ANATOMY = { value: "123037004", scheme: "SCT", meaning: "Anatomical Structure" };
const SEGMENTS: SegmentDescription[] = [
  {
    label: 1,
    name: "Liver",
    category: ANATOMY,
    type: { value: "10200004", scheme: "SCT", meaning: "Liver" },
    cielab: [57, 27, 35],
  },
  {
    label: 2,
    name: "Air",
    category: ANATOMY,
    type: { value: "39607008", scheme: "SCT", meaning: "Lung" },
  },
  // Described but absent from the labels: it keeps one (empty) frame.
  {
    label: 3,
    name: "Spleen",
    category: ANATOMY,
    type: { value: "78961009", scheme: "SCT", meaning: "Spleen" },
    cielab: [50, -20, 10],
  },
];

const pyMissing = await pythonMissing(["pydicom", "numpy"]);
if (pyMissing) console.log(`skipping the pydicom read-back: ${pyMissing}`);
const ircadb = await ircadbFolder();
const dciodvfy = await which("dciodvfy"), dcmdump = await which("dcmdump");
const conformanceCt = dataFile("dicom-conformance/CT0012.not_fragmented_bot_rle.dcm");

/** Labels 1 where HU > 100, 2 where HU < -900 (both plenty on liver slices), else 0. */
function thresholdLabels(series: Series): Uint8Array {
  const hu = series.volume.data, labels = new Uint8Array(hu.length);
  for (let i = 0; i < hu.length; i++) labels[i] = hu[i] > 100 ? 1 : hu[i] < -900 ? 2 : 0;
  return labels;
}

/** dciodvfy's errors on a file (warnings printed). */
const validate = (path: string) => dciodvfyErrors(dciodvfy!, path);

/** Writes `seg` into `dir`, reads it back with pydicom, asserts the labels equal; what it read. */
async function readBack(
  seg: Uint8Array,
  series: Series,
  labels: Uint8Array,
  segments: SegmentDescription[],
  dir: string,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const labelOf = Object.fromEntries(segments.map((s) => [s.name, s.label]));
  const { labels: back, read } = await readSegBack(seg, series.slices, labelOf, dir);
  assertEquals(back.length, labels.length);
  let differ = 0;
  for (let i = 0; i < back.length; i++) if (back[i] !== labels[i]) differ++;
  assertEquals(differ, 0, `${differ} voxels differ after the round trip`);
  assert(read.worst_position_error < 1e-6, `plane positions off by ${read.worst_position_error}`);
  return read;
}

async function ircadbSeries(): Promise<Series> {
  const dir = `${ircadb}/PATIENT_DICOM`;
  return await assembleSeries([62, 60, 63, 61].map((k) => Deno.readFileSync(`${dir}/image_${k}`)));
}

Deno.test({
  name: "seg: labels -> SEG -> pydicom gives the same labels at the source positions",
  ignore: !ircadb || pyMissing !== null,
  async fn() {
    const series = await ircadbSeries();
    const labels = thresholdLabels(series);
    const counts = [1, 2].map((v) => labels.filter((l) => l === v).length);
    assert(counts.every((c) => c > 1000), `too few labelled voxels: ${counts}`);
    const seg = await writeSeg(labels, series, SEGMENTS);
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const read = await readBack(seg, series, labels, SEGMENTS, dir);
      // Two segments on 4 slices each, plus the one empty frame kept for the absent segment.
      assertEquals(read.frames, 9);
      assertEquals(read.segments, [
        { number: 1, label: "Liver", type: "10200004", cielab: cielabToDicom([57, 27, 35]) },
        { number: 2, label: "Air", type: "39607008", cielab: [] },
        { number: 3, label: "Spleen", type: "78961009", cielab: cielabToDicom([50, -20, 10]) },
      ]);
      assertEquals(read.modality, "SEG");
      assertEquals(read.patient_name, "liver_01^patient");
      assertEquals(read.study_uid, series.studyInstanceUID);
      assertEquals(read.referenced_series, series.seriesInstanceUID);
      // 3D-IRCADb carries no FrameOfReferenceUID: the SEG gets a fresh one.
      assertEquals(series.frameOfReferenceUID, null);
      assert(read.frame_of_reference_uid.startsWith("2.25."));
      console.log(`  SEG ${seg.length} bytes, ${read.frames} frames; liver/air voxels ${counts}`);

      if (dciodvfy) {
        assertEquals(await validate(`${dir}/seg.dcm`), []);
        // The check can fail: SegmentationType "BINARZ" is an error to dciodvfy.
        const broken = seg.slice();
        const at = new TextDecoder("latin1").decode(broken).indexOf("BINARY");
        broken[at + 5] = 0x5a;
        await Deno.writeFile(`${dir}/broken.dcm`, broken);
        const errors = await validate(`${dir}/broken.dcm`);
        assert(errors.some((e) => e.includes("Segmentation Type")), errors.join("\n"));
      }
      if (dcmdump) {
        const out = await new Deno.Command(dcmdump, { args: [`${dir}/seg.dcm`] }).output();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        const text = new TextDecoder().decode(out.stdout);
        assert(text.includes("(0008,0060) CS [SEG]"), "dcmdump shows no Modality SEG");
        assert(
          text.includes("(0062,0001) CS [BINARY]"),
          "dcmdump shows no SegmentationType BINARY",
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "seg: the real 3D-IRCADb liver mask series as a SEG over the 129-slice CT reads back equal",
  ignore: !ircadb || pyMissing !== null,
  async fn() {
    const read = (dir: string) =>
      assembleSeries(filesIn(`${ircadb}/${dir}`).map((f) => Deno.readFileSync(f)));
    const [ct, mask] = [await read("PATIENT_DICOM"), await read("MASKS_DICOM/liver")];
    assertEquals(mask.volume.affine, ct.volume.affine);
    const labels = Uint8Array.from(mask.volume.data, (v) => (v ? 1 : 0));
    const liver = SEGMENTS.slice(0, 1);
    const seg = await writeSeg(labels, ct, liver);
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const back = await readBack(seg, ct, labels, liver, dir);
      // SOURCES.md: the liver is on slices 27 ... 124.
      assertEquals(back.frames, 98);
      console.log(`  liver SEG: ${seg.length} bytes, ${back.frames} frames`);
      if (dciodvfy) assertEquals(await validate(`${dir}/seg.dcm`), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "seg: de-identified, the patient is gone and the study UID is replaced consistently",
  ignore: !ircadb,
  async fn() {
    const series = await ircadbSeries();
    const labels = thresholdLabels(series);
    const write = () => writeSeg(labels, series, SEGMENTS, { deidentify: true, uidKey: "k" });
    const [a, b] = [parseDataSet(await write()), parseDataSet(await write())];
    assertEquals(a.string("x00100010") ?? "", "");
    assertEquals(a.string("x00100030") ?? "", "");
    assertEquals(a.string("x00120062"), "YES");
    assertNotEquals(a.string("x0020000d"), series.studyInstanceUID);
    assertEquals(a.string("x0020000d"), b.string("x0020000d"));
    assertNotEquals(a.string("x00080018"), b.string("x00080018")); // each SEG is a new instance
    const refSeries = a.elements.x00081115.items![0].dataSet!.string("x0020000e");
    assertNotEquals(refSeries, series.seriesInstanceUID);
    if (dciodvfy) {
      const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".dcm" });
      try {
        await Deno.writeFile(path, await write());
        assertEquals(await validate(path), []);
      } finally {
        await Deno.remove(path);
      }
    }
  },
});

Deno.test({
  name: "seg: over an enhanced multi-frame CT, frames reference the source frame numbers",
  ignore: !conformanceCt,
  async fn() {
    const series = await assembleSeries([Deno.readFileSync(conformanceCt!)]);
    const labels = new Uint8Array(series.volume.data.length);
    labels[5] = 1; // z 0 = source frame 2
    labels[512 * 512 + 7] = 1; // z 1 = source frame 1
    const ds = parseDataSet(await writeSeg(labels, series, SEGMENTS.slice(0, 1)));
    const perFrame = ds.elements.x52009230.items!.map((i) => i.dataSet!);
    const source = perFrame.map((f) =>
      f.elements.x00089124.items![0].dataSet!.elements.x00082112.items![0].dataSet!
    );
    assertEquals(source.map((s) => s.string("x00081160")), ["2", "1"]);
    const positions = perFrame.map((f) =>
      f.elements.x00209113.items![0].dataSet!.string("x00200032")
    );
    assertEquals(positions, ["99.5\\-301.5\\-149", "99.5\\-301.5\\-159"]);
    if (dciodvfy) {
      const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".dcm" });
      try {
        await Deno.writeFile(path, await writeSeg(labels, series, SEGMENTS.slice(0, 1)));
        assertEquals(await validate(path), []);
      } finally {
        await Deno.remove(path);
      }
    }
  },
});

Deno.test("seg refuses labels of the wrong size, undescribed labels and bad segment lists", async () => {
  const series = await assembleSeries(
    [0, 1].map((k) => synthCt({ position: [0, 0, k], instanceNumber: k })),
  );
  const n = series.volume.data.length;
  await assertRejects(
    () => writeSeg(new Uint8Array(n - 1), series, SEGMENTS),
    InvalidInputError,
    `has ${n - 1} voxels`,
  );
  const stray = new Uint8Array(n);
  stray[3] = 7;
  await assertRejects(
    () => writeSeg(stray, series, SEGMENTS),
    InvalidInputError,
    "holds 7 (voxel 3)",
  );
  await assertRejects(
    () => writeSeg(new Uint8Array(n), series, []),
    InvalidInputError,
    "at least one segment",
  );
  await assertRejects(
    () => writeSeg(new Uint8Array(n), series, [SEGMENTS[0], { ...SEGMENTS[1], label: 1 }]),
    InvalidInputError,
    "label 1 is not a new integer from 1 to 65535",
  );
});

Deno.test("seg: CIELab scaling follows PS3.3 C.10.7.1.1", () => {
  assertEquals(cielabToDicom([100, 0, 0]), [65535, 32896, 32896]);
  assertEquals(cielabToDicom([0, -128, 127]), [0, 0, 65535]);
});
