/**
 * Postprocessing and test-time augmentation on /segment/series (issue 19): on a synthetic
 * three-slice CT series with the `sigmoid` fixture model, postprocessing runs in 3D over the label
 * volume (min_size in mL from the voxel spacing), the volumes and per-slice areas are counted after
 * it, the answer says which values were used, tta=flip runs the card's flips, and a bad value is a
 * 400 naming the field.
 */
import { assertEquals } from "@std/assert";
import { synthCt } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
const cardPath = `${root}/sigmoid/card.json`;
const card = JSON.parse(await Deno.readTextFile(cardPath));
await Deno.writeTextFile(cardPath, JSON.stringify({ ...card, tta: { flips: [[1], [0]] } }));
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/series.ts");

// 8 x 8 x 3 (0.5 x 0.75 x 2 mm): a 3x3x3 cube (27 voxels) and one voxel apart on the middle slice;
// `sigmoid` with threshold 0.45 marks the 20000s, not the 0s (sigmoid(-0.5) = 0.378)
const W = 8, H = 8;
function slice(z: number, hollow = false): Uint8Array {
  const values = new Int16Array(W * H);
  for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) values[y * W + x] = 20000;
  // the cube's centre is a hole when `hollow`
  if (hollow && z === 1) values[2 * W + 2] = 0;
  if (z === 1) values[6 * W + 6] = 20000;
  return synthCt({
    rows: H,
    columns: W,
    instanceNumber: z + 1,
    position: [0, 0, 2 * z],
    values,
    sopInstanceUID: `2.25.77${z}`,
  });
}
const form = new FormData(), hollowForm = new FormData();
for (let z = 0; z < 3; z++) {
  form.append("instance", new File([slice(z) as BlobPart], `i${z}`));
  hollowForm.append("instance", new File([slice(z, true) as BlobPart], `i${z}`));
}

async function numbers(query: string, instances = form) {
  const res = await app.request(`/segment/series?model=sigmoid&threshold=0.45&${query}`, {
    method: "POST",
    body: instances,
  });
  const body = await res.json();
  return { status: res.status, body };
}

Deno.test("POST /segment/series: largest, min_size (mL), fill_holes in 3D, counted after; tta=flip; 400s", async () => {
  const plain = await numbers("format=json");
  assertEquals(plain.status, 200, JSON.stringify(plain.body));
  assertEquals(plain.body.volumes["1"].voxels, 28);
  assertEquals(plain.body.slices.map((s: { pixels: number }) => s.pixels), [9, 10, 9]);
  assertEquals(plain.body.postprocess.removed_voxels, 0);
  assertEquals(plain.body.tta, { mode: "none", flips: [] });

  const voxelMl = (0.5 * 0.75 * 2) / 1000;
  for (const query of ["largest=1", `min_size=${2 * voxelMl}`]) {
    const r = await numbers(`format=json&${query}`);
    assertEquals(r.status, 200, JSON.stringify(r.body));
    assertEquals(r.body.volumes["1"], { voxels: 27, ml: (27 * 0.5 * 0.75 * 2) / 1000 }, query);
    assertEquals(r.body.slices.map((s: { pixels: number }) => s.pixels), [9, 9, 9]);
    assertEquals(r.body.slices[1].mm2, 9 * 0.5 * 0.75);
    assertEquals(r.body.postprocess.removed_voxels, 1);
    assertEquals(r.body.postprocess.min_size_unit, "mL");
  }
  // the single voxel is kept at a threshold of exactly one voxel
  assertEquals((await numbers(`format=json&min_size=${voxelMl}`)).body.volumes["1"].voxels, 28);

  // a hollow cube: fill_holes fills its centre in 3D (6-connected background), and only then
  const hollow = await numbers("format=json", hollowForm);
  assertEquals(hollow.body.volumes["1"].voxels, 27);
  const filled = await numbers("format=json&fill_holes=1", hollowForm);
  assertEquals(filled.body.volumes["1"].voxels, 28);
  assertEquals(filled.body.slices[1].pixels, 10);
  assertEquals(filled.body.postprocess.filled_voxels, 1);

  const flipped = await numbers("format=json&tta=flip");
  assertEquals(flipped.body.tta, { mode: "flip", flips: [[1], [0]] });
  assertEquals(flipped.body.passes, 3 * plain.body.passes);
  // a 1x1 convolution is flip-equivariant: the same labels
  assertEquals(flipped.body.volumes, plain.body.volumes);

  for (const [query, field] of [["largest=x", "largest"], ["min_size=-1", "min_size"]]) {
    const r = await numbers(query);
    assertEquals(r.status, 400, JSON.stringify(r.body));
    assertEquals(r.body.field, field);
  }
});

Deno.test("cleanup", async () => {
  await Deno.remove(root, { recursive: true });
});
