/**
 * What a series answer says about each label: the model card's `segments` (checked by parseCard:
 * labels, names, codes and colours, a ModelCardError naming the field otherwise) become the SEG's
 * SegmentLabel, category and type codes and display colour, read back with pydicom, with the generic
 * codes only for labels the card does not describe (dciodvfy finds no error in that SEG); the
 * shipped cards' codes; and dice/IoU per
 * label against a truth series (lib/pipelines/series.ts labelOverlap), by hand and on 3D-IRCADb's
 * real liver masks (unpacked into /tmp, nothing derived from them committed).
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { cielabToDicom, rgbToCielab } from "../../lib/dicom/seg.ts";
import { ModelCardError, parseCard } from "../../lib/models/card.ts";
import { loadModel, unloadModels } from "../../lib/models/load.ts";
import {
  GENERIC_TYPE,
  labelOverlap,
  segmentSeries,
  segmentsFor,
} from "../../lib/pipelines/series.ts";
import {
  dciodvfyErrors,
  ircadbFolder,
  pythonMissing,
  runPython,
  which,
} from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");
const ircadb = await ircadbFolder();
const pyMissing = await pythonMissing(["pydicom", "numpy"]);
const dciodvfy = await which("dciodvfy");

const LIVER = {
  label: 1,
  name: "liver",
  category: { value: "91723000", scheme: "SCT", meaning: "Anatomical Structure" },
  type: { value: "10200004", scheme: "SCT", meaning: "Liver" },
  color: [60, 40, 30] as [number, number, number],
};

/** The `sigmoid` fixture as model `coded`, its card describing label 1 as the liver. */
async function codedModel(): Promise<void> {
  const dir = `${root}/coded`;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of Deno.readDirSync(`${root}/sigmoid`)) {
    await Deno.copyFile(`${root}/sigmoid/${f.name}`, `${dir}/${f.name}`);
  }
  const card = JSON.parse(await Deno.readTextFile(`${dir}/card.json`));
  await Deno.writeTextFile(
    `${dir}/card.json`,
    JSON.stringify({ ...card, name: "coded", segments: [LIVER] }),
  );
}

Deno.test("parseCard: segments are checked, a bad one is a ModelCardError naming the field", () => {
  const base = {
    name: "m",
    version: "1",
    task: "segmentation",
    format: "layers",
    inputs: [{ name: "x", shape: [null, null, null, 1] }],
    output: { activation: "sigmoid" },
  };
  assertEquals(parseCard({ ...base, segments: [LIVER] }).segments, [LIVER]);
  const bad: [unknown, string][] = [
    [{}, "segments: must be a list"],
    [[{ ...LIVER, label: 0 }], "segments[0].label"],
    [[LIVER, { ...LIVER, name: "again" }], "label 1 is described twice"],
    [[{ ...LIVER, name: "" }], "segments[0].name"],
    [[{ ...LIVER, category: { value: "1", scheme: "SCT" } }], "segments[0].category.meaning"],
    [[{ ...LIVER, type: "liver" }], "segments[0].type"],
    [[{ ...LIVER, color: [101, 0, 0] }], "segments[0].color"],
    [[{ ...LIVER, color: undefined, rgb: [0, 0, 256] }], "segments[0].rgb"],
    [[{ ...LIVER, rgb: [1, 2, 3] }], "color (L*a*b*) or rgb, not both"],
  ];
  for (const [segments, why] of bad) {
    const err = assertThrows(() => parseCard({ ...base, segments }), ModelCardError);
    assert(err.message.includes(why), `${err.message} should say ${why}`);
  }
});

Deno.test("segmentsFor: the card's names, codes and colours; generic codes for the rest", () => {
  const card = {
    name: "m",
    segments: [LIVER, { ...LIVER, label: 3, name: "vessel", color: undefined, rgb: [255, 0, 0] }],
  } as Parameters<typeof segmentsFor>[0];
  const [one, two, three] = segmentsFor(card, [1, 2, 3]);
  const { color: _, ...described } = LIVER;
  assertEquals(one, { ...described, cielab: LIVER.color });
  assertEquals(two.name, "m label 2");
  assertEquals(two.type, GENERIC_TYPE);
  assertEquals(three.name, "vessel");
  // sRGB red is L* 53.24, a* 80.09, b* 67.20 (D65)
  const [l, a, b] = three.cielab!;
  assertAlmostEquals(l, 53.24, 0.01);
  assertAlmostEquals(a, 80.09, 0.01);
  assertAlmostEquals(b, 67.2, 0.01);
  const white = rgbToCielab([255, 255, 255]);
  [100, 0, 0].forEach((v, i) => assertAlmostEquals(white[i], v, 1e-3));
});

Deno.test("the shipped cards: fundus-vessels and brats-demo describe every label they give", async () => {
  const read = async (m: string) =>
    parseCard(JSON.parse(await Deno.readTextFile(`models/${m}/card.json`)));
  const fundus = await read("fundus-vessels");
  assertEquals(fundus.segments!.map((s) => [s.label, s.type.value, s.type.scheme]), [
    [1, "59820001", "SCT"],
  ]);
  const brats = await read("brats-demo");
  assertEquals(brats.segments!.map((s) => s.label), brats.label_values);
  assertEquals(brats.segments!.map((s) => s.type.value), ["6574001", "79654002", "108369006"]);
  assert(brats.segments!.every((s) => s.category.value === "49755003"));
});

Deno.test({
  name:
    "POST /segment/series?format=seg: the SEG carries the card's segment name, codes and colour",
  ignore: !ircadb || pyMissing !== null,
  async fn() {
    await codedModel();
    const form = new FormData();
    for (const n of [60, 61]) {
      const bytes = Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`);
      form.append("instance", new File([bytes as BlobPart], `image_${n}`));
    }
    const res = await app.request("/segment/series?model=coded&threshold=0.38&format=seg", {
      method: "POST",
      body: form,
    });
    assertEquals(res.status, 200, await res.clone().text());
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-seg-codes-" });
    try {
      await Deno.writeFile(`${dir}/seg.dcm`, new Uint8Array(await res.arrayBuffer()));
      const script = [
        "import json, sys, pydicom",
        "ds = pydicom.dcmread(sys.argv[1])",
        "code = lambda c: [str(c.CodeValue), str(c.CodingSchemeDesignator), str(c.CodeMeaning)]",
        "print(json.dumps([{'number': int(s.SegmentNumber), 'label': str(s.SegmentLabel),",
        "  'category': code(s.SegmentedPropertyCategoryCodeSequence[0]),",
        "  'type': code(s.SegmentedPropertyTypeCodeSequence[0]),",
        "  'cielab': [int(v) for v in s.RecommendedDisplayCIELabValue]} for s in ds.SegmentSequence]))",
      ].join("\n");
      const segments = await runPython(["-c", script, `${dir}/seg.dcm`]);
      assertEquals(segments, [{
        number: 1,
        label: "liver",
        category: ["91723000", "SCT", "Anatomical Structure"],
        type: ["10200004", "SCT", "Liver"],
        cielab: cielabToDicom(LIVER.color),
      }]);
      if (dciodvfy) assertEquals(await dciodvfyErrors(dciodvfy, `${dir}/seg.dcm`), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("labelOverlap: dice and IoU per label by hand; a binary truth stands for label 1", () => {
  const pred = Uint8Array.of(1, 1, 2, 2, 0, 0, 3);
  const truth = Uint8Array.of(1, 0, 2, 2, 2, 0, 0);
  const { overall, labels } = labelOverlap(pred, truth);
  assertEquals(overall, { dice: (2 * 3) / (5 + 4), iou: 3 / 6, intersection: 3, truth_area: 4 });
  assertEquals(labels["1"], { dice: 2 / 3, iou: 1 / 2, intersection: 1, truth_area: 1, voxels: 2 });
  assertEquals(labels["2"], { dice: 4 / 5, iou: 2 / 3, intersection: 2, truth_area: 3, voxels: 2 });
  assertEquals(labels["3"], { dice: 0, iou: 0, intersection: 0, truth_area: 0, voxels: 1 });
  // 0/255 (3D-IRCADb's masks): one value, label 1
  const binary = labelOverlap(Uint8Array.of(1, 1, 0), Float32Array.of(255, 0, 255)).labels;
  assertEquals(Object.keys(binary), ["1"]);
  assertEquals(binary["1"].intersection, 1);
});

Deno.test({
  name: "POST /segment/series with a truth series: dice and IoU per label on 3D-IRCADb's liver",
  ignore: !ircadb,
  async fn() {
    const slices = [70, 71, 72, 73, 74, 75];
    const files = slices.map((n) => Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`));
    const masks = slices.map((n) => Deno.readFileSync(`${ircadb}/MASKS_DICOM/liver/image_${n}`));
    const want = await segmentSeries(
      await loadModel("sigmoid", { root }),
      await assembleSeries(files),
      { threshold: 0.3775 },
    );
    const liver = (await assembleSeries(masks)).volume.data;
    let inter = 0, sa = 0, sb = 0;
    for (let i = 0; i < liver.length; i++) {
      const a = want.labels[i] === 1 ? 1 : 0, b = liver[i] ? 1 : 0;
      sa += a, sb += b, inter += a & b;
    }
    assert(sb > 1000 && inter > 1000 && inter < sa, "the liver is here, overlapping in part");
    const form = new FormData();
    files.forEach((b, i) => form.append("instance", new File([b as BlobPart], `i${i}`)));
    masks.forEach((b, i) => form.append("truth", new File([b as BlobPart], `t${i}`)));
    // 0.3775 keeps the soft tissue of these slices (sigmoid of samples / 32767): dice about 0.5
    const res = await app.request("/segment/series?model=sigmoid&threshold=0.3775", {
      method: "POST",
      body: form,
    });
    assertEquals(res.status, 200, await res.clone().text());
    const gt = (await res.json()).ground_truth;
    assertEquals(Object.keys(gt.labels), ["1"]);
    const one = gt.labels["1"];
    assertEquals([one.intersection, one.truth_area, one.voxels], [inter, sb, sa]);
    assertAlmostEquals(one.dice, (2 * inter) / (sa + sb), 1e-12);
    assertAlmostEquals(one.iou, inter / (sa + sb - inter), 1e-12);
    // one label: the overall foreground scores are that label's
    assertEquals(gt.dice, one.dice);
  },
});

Deno.test("series labels: cleanup", async () => {
  unloadModels();
  await Deno.remove(root, { recursive: true });
});
