/**
 * POST /segment/series with the ground truth as one NIfTI part (functions/_series_truth.ts): the
 * real 3D-IRCADb liver masks of six slices (unpacked into /tmp, nothing derived from them
 * committed), assembled as a series and written by this test with the CT series' affine (.nii.gz
 * and .nii), score exactly as the same masks sent as DICOM instances; a NIfTI of other dims, or
 * with a voxel axis running the other way, is a 422 naming `truth`.
 */
import { assert, assertEquals } from "@std/assert";
import { assembleSeries } from "../../lib/dicom/series.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { encodeNifti, withAffine, writeNifti } from "../../lib/nifti/mod.ts";
import { ircadbFolder } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");
const ircadb = await ircadbFolder();
if (!ircadb) console.log("skipping the NIfTI truth tests: no 3D-IRCADb patient 1");

/** The series answer's numbers for these instances and truth parts (200 asserted). */
async function score(files: Uint8Array[], truth: Uint8Array[]) {
  const res = await ask(files, truth);
  assertEquals(res.status, 200, await res.clone().text());
  const { timings_ms: _, ...numbers } = await res.json();
  return numbers;
}

function ask(files: Uint8Array[], truth: Uint8Array[]) {
  const form = new FormData();
  files.forEach((b, i) => form.append("instance", new File([b as BlobPart], `i${i}`)));
  truth.forEach((b, i) => form.append("truth", new File([b as BlobPart], `t${i}`)));
  return app.request("/segment/series?model=sigmoid&threshold=0.3775", {
    method: "POST",
    body: form,
  });
}

Deno.test({
  name: "POST /segment/series: a NIfTI truth on the series' affine scores as the DICOM truth",
  ignore: !ircadb,
  sanitizeResources: false,
  async fn() {
    const slices = [70, 71, 72, 73, 74, 75];
    const files = slices.map((n) => Deno.readFileSync(`${ircadb}/PATIENT_DICOM/image_${n}`));
    const masks = slices.map((n) => Deno.readFileSync(`${ircadb}/MASKS_DICOM/liver/image_${n}`));
    const v = (await assembleSeries(files)).volume;
    const liver = Uint8Array.from((await assembleSeries(masks)).volume.data);
    assert(liver.some((x) => x === 255), "the liver is in these slices");
    const dims = [v.width, v.height, v.depth];

    const want = await score(files, masks);
    assert(want.ground_truth.dice > 0.1 && want.ground_truth.dice < 0.99, "a partial overlap");
    const gz = await writeNifti(v.header, liver, { dims });
    assertEquals(await score(files, [gz]), want);
    assertEquals(await score(files, [encodeNifti(v.header, liver, { dims })]), want);

    // five slices of six: 422 naming truth, both grids in the message
    const short = encodeNifti(v.header, liver.subarray(0, v.width * v.height * 5), {
      dims: [v.width, v.height, 5],
    });
    let res = await ask(files, [short]);
    assertEquals(res.status, 422);
    let problem = await res.json();
    assertEquals(problem.field, "truth");
    assert(problem.detail.includes(`${v.width}x${v.height}x5`), problem.detail);

    // the same voxels with x running the other way: not the label volume's order
    const flipped = v.affine.map((row) => [-row[0], ...row.slice(1)]);
    res = await ask(files, [encodeNifti(withAffine(v.header, flipped, dims), liver, { dims })]);
    assertEquals(res.status, 422);
    problem = await res.json();
    assertEquals(problem.field, "truth");
    assert(problem.detail.includes("affine"), problem.detail);

    // a NIfTI beside DICOM truth parts: one NIfTI or DICOM instances, not both
    res = await ask(files, [gz, masks[0]]);
    assertEquals(res.status, 422);
    assertEquals((await res.json()).field, "truth");
  },
});

Deno.test("series NIfTI truth: cleanup", async () => {
  unloadModels();
  await Deno.remove(root, { recursive: true });
});
