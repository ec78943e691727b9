/**
 * Postprocessing and test-time augmentation on /segment/slice (issue 19), through the app with the
 * fixture models of tests/models/_fixtures.ts (known weights): each query parameter changes the
 * mask as it should on a small image, the card's defaults apply unless `postprocess=0`, the answer
 * says which values were used, `tta=flip` is the plain run on a flip-equivariant model and the mean
 * of the flipped runs computed here by hand on one that is not, and a bad value is a 400 naming the
 * field.
 */
import { assert, assertEquals } from "@std/assert";
import { decodePng, encodeImagePng } from "../../lib/image/png.ts";
import { synthCt } from "../dicom/_series_fixtures.ts";
import { greyImage, makeModelsRoot } from "../models/_fixtures.ts";

const root = await makeModelsRoot();
/** Adds to a fixture's card (before the model's first load), or copies it under a new name. */
async function editCard(name: string, extra: Record<string, unknown>, as = name) {
  if (as !== name) {
    await Deno.mkdir(`${root}/${as}`);
    for (const f of Deno.readDirSync(`${root}/${name}`)) {
      await Deno.copyFile(`${root}/${name}/${f.name}`, `${root}/${as}/${f.name}`);
    }
  }
  const path = `${root}/${as}/card.json`;
  const card = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify({ ...card, name: as, ...extra }));
}
const FLIPS = [[1], [0], [0, 1]];
await editCard("sigmoid", { tta: { flips: FLIPS } });
await editCard("conv3", { tta: { flips: FLIPS } });
await editCard("sigmoid", { postprocess: { largest: 1, fill_holes: true } }, "sigmoid-pp");
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/slice.ts");

// 20 x 12: a 6x6 square ring with a 2x2 hole (32 px), a 3x3 blob (9 px), one pixel; `sigmoid`
// marks pixels above 127.5
const W = 20, H = 12;
const ring = (x: number, y: number) =>
  x >= 1 && x < 7 && y >= 1 && y < 7 && !(x >= 3 && x < 5 && y >= 3 && y < 5);
const blob = (x: number, y: number) => x >= 10 && x < 13 && y >= 2 && y < 5;
const dot = (x: number, y: number) => x === 17 && y === 9;
const img = greyImage(W, H, (x, y) => (ring(x, y) || blob(x, y) || dot(x, y) ? 200 : 30));
const png = await encodeImagePng(img.data, W, H);
const maskOf = (f: (x: number, y: number) => boolean) =>
  Array.from({ length: W * H }, (_, i) => (f(i % W, Math.floor(i / W)) ? 1 : 0));
const hole = (x: number, y: number) => x >= 3 && x < 5 && y >= 3 && y < 5;

const post = (query: string, body: BodyInit = png) =>
  app.request(`/segment/slice?${query}`, {
    method: "POST",
    headers: { "content-type": "image/png" },
    body,
  });

async function mask(query: string): Promise<number[]> {
  const res = await post(query);
  assertEquals(res.status, 200, await res.clone().text());
  return Array.from(decodePng(new Uint8Array(await res.arrayBuffer())).data, (v) => (v ? 1 : 0));
}

async function json(query: string) {
  const res = await post(`${query}&format=json`);
  assertEquals(res.status, 200, await res.clone().text());
  return await res.json();
}

async function probs(query: string, body: BodyInit = png): Promise<Float32Array> {
  const res = await post(`${query}&format=raw&probs=1`, body);
  assertEquals(res.status, 200, await res.clone().text());
  return new Float32Array((await res.arrayBuffer()).slice(0));
}

Deno.test("slice postprocessing: largest, fill_holes, min_size each change the mask as asked", async () => {
  const all = (x: number, y: number) => ring(x, y) || blob(x, y) || dot(x, y);
  assertEquals(await mask("model=sigmoid"), maskOf(all));
  assertEquals(await mask("model=sigmoid&largest=1"), maskOf(ring));
  assertEquals(await mask("model=sigmoid&largest=2"), maskOf((x, y) => ring(x, y) || blob(x, y)));
  assertEquals(
    await mask("model=sigmoid&fill_holes=1"),
    maskOf((x, y) => all(x, y) || hole(x, y)),
  );
  // no pixel spacing in a PNG: min_size counts pixels; the 9-pixel blob is kept at 9, not at 10
  assertEquals(await mask("model=sigmoid&min_size=2"), maskOf((x, y) => ring(x, y) || blob(x, y)));
  assertEquals(await mask("model=sigmoid&min_size=9"), maskOf((x, y) => ring(x, y) || blob(x, y)));
  assertEquals(await mask("model=sigmoid&min_size=10"), maskOf(ring));
  const j = await json("model=sigmoid&largest=1&fill_holes=true");
  assertEquals(j.postprocess, {
    largest: 1,
    fill_holes: true,
    min_size: null,
    min_size_unit: "pixels",
    card_defaults: true,
    removed_components: 2,
    removed_voxels: 10,
    filled_voxels: 4,
  });
  assertEquals(j.area.pixels, 36);
  assertEquals(j.tta, { mode: "none", flips: [] });
  const none = await json("model=sigmoid");
  assertEquals(none.postprocess.largest, null);
  assertEquals(none.postprocess.removed_voxels + none.postprocess.filled_voxels, 0);
  assertEquals(none.area.pixels, 42);
});

Deno.test("slice postprocessing: min_size in mm² from a DICOM's pixel spacing", async () => {
  // the same picture as a CT instance of 0.5 x 0.75 mm pixels (0.375 mm² each): the dot is 0.375
  const values = Int16Array.from(img.data, (v) => (v > 100 ? 20000 : 0));
  const dcm = synthCt({ rows: H, columns: W, values, spacing: [0.5, 0.75] }) as Uint8Array<
    ArrayBuffer
  >;
  const ask = async (q: string) => {
    const res = await post(`model=sigmoid&threshold=0.45&format=json&${q}`, dcm);
    assertEquals(res.status, 200, await res.clone().text());
    return await res.json();
  };
  assertEquals((await ask("")).area.pixels, 42);
  const kept = await ask("min_size=0.375");
  assertEquals([kept.area.pixels, kept.postprocess.min_size_unit], [42, "mm2"]);
  const dropped = await ask("min_size=0.4");
  assertEquals([dropped.area.pixels, dropped.postprocess.removed_voxels], [41, 1]);
  // 9 px = 3.375 mm²: the blob goes above that
  assertEquals((await ask("min_size=3.4")).area.pixels, 32);
});

Deno.test("slice postprocessing: the card's defaults apply, overridden per request or turned off", async () => {
  const filledRing = (x: number, y: number) => ring(x, y) || hole(x, y);
  assertEquals(await mask("model=sigmoid-pp"), maskOf(filledRing));
  const j = await json("model=sigmoid-pp");
  assertEquals([j.postprocess.largest, j.postprocess.fill_holes], [1, true]);
  // postprocess=0: the card's are off, the request's own still apply
  assertEquals((await json("model=sigmoid-pp&postprocess=0")).area.pixels, 42);
  assertEquals(
    await mask("model=sigmoid-pp&postprocess=0&largest=2"),
    maskOf((x, y) => ring(x, y) || blob(x, y)),
  );
  // one override: largest 0 is off, the card's fill_holes stays
  assertEquals(
    await mask("model=sigmoid-pp&largest=0"),
    maskOf((x, y) => ring(x, y) || hole(x, y) || blob(x, y) || dot(x, y)),
  );
  assertEquals(await mask("model=sigmoid-pp&fill_holes=0"), maskOf(ring));
  const off = await json("model=sigmoid-pp&postprocess=false");
  assertEquals(off.postprocess.card_defaults, false);
  assertEquals(off.postprocess.largest, null);
});

/** `data` (H x W, one channel) mirrored along y (axis 0) and / or x (axis 1). */
function flip(data: ArrayLike<number>, axes: number[], w = W, h = H): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = axes.includes(0) ? h - 1 - y : y, sx = axes.includes(1) ? w - 1 - x : x;
      out[y * w + x] = data[sy * w + sx];
    }
  }
  return out;
}

Deno.test("tta=flip: the plain run on a flip-equivariant model; the mean of the flipped runs by hand", async () => {
  // `sigmoid` is a 1x1 convolution: every flip gives the same, so the mean is the plain run
  const plain = await probs("model=sigmoid");
  assertEquals(await probs("model=sigmoid&tta=flip"), plain);
  // `conv3` (two 3x3 convolutions, seeded weights) is not: send the flipped photos ourselves,
  // flip the answers back, average in float64 in the card's order
  const noisy = greyImage(W, H, (x, y) => (x * 37 + y * 91 + x * y * 13) % 256);
  const noisyPng = await encodeImagePng(noisy.data, W, H);
  const runs = [await probs("model=conv3", noisyPng)];
  for (const axes of FLIPS) {
    const flipped = Uint8Array.from(flip(noisy.data, axes));
    runs.push(flip(await probs("model=conv3", await encodeImagePng(flipped, W, H)), axes));
  }
  const want = new Float32Array(W * H);
  for (let i = 0; i < want.length; i++) {
    want[i] = (runs[0][i] + runs[1][i] + runs[2][i] + runs[3][i]) / 4;
  }
  const got = await probs("model=conv3&tta=flip", noisyPng);
  assertEquals(got, want);
  // not a test that cannot fail: the flipped runs differ from the plain one
  assert(runs[1].some((v, i) => v !== runs[0][i]));
  const j = await json("model=conv3&tta=flip");
  assertEquals(j.tta, { mode: "flip", flips: FLIPS });
  assertEquals(j.fit.passes, 4);
});

async function problem(query: string, status: number, field: string) {
  const res = await post(query);
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals(body.field, field, JSON.stringify(body));
  assert(String(body.detail).includes(field), body.detail);
}

Deno.test("slice postprocessing and tta: a bad value is a 400 naming the field", async () => {
  await problem("model=sigmoid&largest=-1", 400, "largest");
  await problem("model=sigmoid&largest=1.5", 400, "largest");
  await problem("model=sigmoid&fill_holes=2", 400, "fill_holes");
  await problem("model=sigmoid&min_size=abc", 400, "min_size");
  await problem("model=sigmoid&min_size=-3", 400, "min_size");
  await problem("model=sigmoid&postprocess=maybe", 400, "postprocess");
  await problem("model=sigmoid&tta=rotate", 400, "tta");
  // a card without tta.flips cannot flip: 422
  await problem("model=green&tta=flip", 422, "tta");
});

Deno.test("cleanup", async () => {
  await Deno.remove(root, { recursive: true });
});
