/**
 * The slice function through its app, with the fixture models of tests/models/_fixtures.ts (known
 * weights, so every mask is known) in a temporary MEDIMG_MODELS_DIR.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { decodePng, encodeImagePng, encodeMaskPng } from "../../lib/image/png.ts";
import { unloadModels } from "../../lib/models/load.ts";
import { formatRle, maskToRuns } from "../../lib/rle/mod.ts";
import { greyImage, makeModelsRoot, sigmoidOf } from "../models/_fixtures.ts";
import { dataFile } from "../_data.ts";

const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/slice.ts");
const { overlapScores } = await import("../../lib/image/measure.ts");

/** A 8-bit grey TIFF, uncompressed, one strip (little-endian). */
function greyTiff(width: number, height: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const entries: [number, number, number, number][] = [
    [256, 3, 1, width],
    [257, 3, 1, height],
    [258, 3, 1, 8],
    [259, 3, 1, 1],
    [262, 3, 1, 1],
    [273, 4, 1, 0], // strip offset, set below
    [277, 3, 1, 1],
    [278, 3, 1, height],
    [279, 4, 1, data.length],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const offset = 8 + ifdSize;
  entries[5][3] = offset;
  const out = new Uint8Array(offset + data.length);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  v.setUint32(4, 8, true);
  v.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, count, value], i) => {
    const p = 10 + i * 12;
    v.setUint16(p, tag, true);
    v.setUint16(p + 2, type, true);
    v.setUint32(p + 4, count, true);
    if (type === 3) v.setUint16(p + 8, value, true);
    else v.setUint32(p + 8, value, true);
  });
  out.set(data, offset);
  return out;
}

/** A minimal Part 10 DICOM (explicit VR little endian), 8-bit MONOCHROME2, with pixel spacing. */
function greyDicom(
  width: number,
  height: number,
  data: Uint8Array,
  spacing = "0.5\\0.8",
): Uint8Array<ArrayBuffer> {
  const parts: number[] = [];
  const u16 = (n: number) => parts.push(n & 255, n >> 8);
  const u32 = (n: number) => parts.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);
  const el = (g: number, e: number, vr: string, value: number[] | string) => {
    let bytes = typeof value === "string" ? [...new TextEncoder().encode(value)] : value;
    if (bytes.length % 2) bytes = [...bytes, vr === "UI" ? 0 : 32];
    u16(g), u16(e), parts.push(vr.charCodeAt(0), vr.charCodeAt(1));
    if (["OB", "OW"].includes(vr)) u16(0), u32(bytes.length);
    else u16(bytes.length);
    parts.push(...bytes);
  };
  const us = (n: number) => [n & 255, n >> 8];
  el(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
  el(0x0008, 0x0060, "CS", "OT");
  el(0x0028, 0x0002, "US", us(1));
  el(0x0028, 0x0004, "CS", "MONOCHROME2");
  el(0x0028, 0x0010, "US", us(height));
  el(0x0028, 0x0011, "US", us(width));
  el(0x0028, 0x0030, "DS", spacing);
  el(0x0028, 0x0100, "US", us(8));
  el(0x0028, 0x0101, "US", us(8));
  el(0x0028, 0x0102, "US", us(7));
  el(0x0028, 0x0103, "US", us(0));
  const head = new Uint8Array(132);
  head.set(new TextEncoder().encode("DICM"), 128);
  const body = new Uint8Array(parts);
  // Pixel data appended as bytes (too large for the number[] above).
  const pixHeader = new Uint8Array(12);
  const pv = new DataView(pixHeader.buffer);
  pv.setUint16(0, 0x7fe0, true);
  pv.setUint16(2, 0x0010, true);
  pixHeader.set([0x4f, 0x42], 4); // OB
  pv.setUint32(8, data.length + (data.length % 2), true);
  const out = new Uint8Array(132 + body.length + 12 + data.length + (data.length % 2));
  out.set(head), out.set(body, 132), out.set(pixHeader, 132 + body.length);
  out.set(data, 132 + body.length + 12);
  return out;
}

const W = 40, H = 30;
const img = greyImage(W, H, (x, y) => (x * 11 + y * 5) % 256);
const want = Uint8Array.from(img.data, (v) => (v >= 128 ? 1 : 0));
const png = await encodeImagePng(img.data, W, H);

const post = (path: string, body: BodyInit, type = "application/octet-stream") =>
  app.request(path, { method: "POST", headers: { "content-type": type }, body });

async function maskOf(res: Response): Promise<Uint8Array> {
  assertEquals(res.status, 200, await res.clone().text());
  assertEquals(res.headers.get("content-type"), "image/png");
  const m = decodePng(new Uint8Array(await res.arrayBuffer()));
  return Uint8Array.from(m.data, (v) => (v ? 1 : 0));
}

async function problem(res: Response, status: number, detail: string) {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assert(String(body.detail).includes(detail), `${body.detail} lacks ${detail}`);
}

Deno.test("GET /models lists the installed models with their cards, replay samples left out", async () => {
  const res = await app.request("/models");
  assertEquals(res.status, 200);
  const { models } = await res.json();
  assertEquals(models.map((m: { name: string }) => m.name), [
    "conv3",
    "fixed32",
    "graph",
    "green",
    "shrinks",
    "sigmoid",
    "twoclass",
    "unet",
  ]);
  const sig = models.find((m: { name: string }) => m.name === "sigmoid");
  assertEquals(sig.card.version, "0.0.1");
  assertEquals(sig.card.replay.output, { shape: [1, 4, 4, 1] });
});

Deno.test("POST /segment/slice: the same image as PNG, TIFF and DICOM gives the same, known mask", async () => {
  const fromPng = await maskOf(await post("/segment/slice?model=sigmoid", png, "image/png"));
  assertEquals(fromPng, want);
  const tiff = greyTiff(W, H, img.data);
  assertEquals(await maskOf(await post("/segment/slice?model=sigmoid", tiff, "image/tiff")), want);
  const dcm = greyDicom(W, H, img.data);
  const res = await post("/segment/slice?model=sigmoid", dcm, "application/dicom");
  assertEquals(await maskOf(res), want);
  assertEquals(res.headers.get("x-model"), "sigmoid");
  assert(res.headers.get("server-timing")?.includes("infer"));
});

Deno.test("POST /segment/slice: JPEG bodies are decoded (real chest X-ray)", async () => {
  const jpg = dataFile("cxr-lung-masks/images/16708_1_1.jpg");
  if (!jpg) return;
  const bytes = await Deno.readFile(jpg);
  const res = await post("/segment/slice?model=green&format=json", bytes, "image/jpeg");
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  assertEquals(body.input.format, "jpeg");
  assertEquals(body.input.channels, 3);
  assertEquals([body.input.width, body.input.height], [1398, 1703]);
  // Pillow: (np.asarray(Image.open(jpg).convert("RGB"))[..., 1] >= 128).sum() == 892092
  assertEquals(body.area.pixels, 892092);
});

Deno.test("POST /segment/slice: 1-bit mask, probability map, overlay", async () => {
  const one = await post("/segment/slice?model=sigmoid&bits=1", png, "image/png");
  const m1 = decodePng(new Uint8Array(await one.arrayBuffer()));
  assertEquals(m1.depth, 1);
  assertEquals(Uint8Array.from(m1.data, (v) => v), want);
  const probs = decodePng(
    new Uint8Array(await (await post("/segment/slice?model=sigmoid&probs=1", png)).arrayBuffer()),
  );
  assertEquals(probs.depth, 8);
  for (let i = 0; i < img.data.length; i++) {
    assertEquals(probs.data[i], Math.round(sigmoidOf(img.data[i]) * 255));
  }
  const ov = decodePng(
    new Uint8Array(await (await post("/segment/slice?model=sigmoid&overlay=1", png)).arrayBuffer()),
  );
  assertEquals([ov.channels, ov.width, ov.height], [3, W, H]);
  const i = want.indexOf(1), j = want.indexOf(0);
  assert(ov.data[3 * i] > ov.data[3 * i + 1], "masked pixels are red");
  assertEquals(ov.data[3 * j], ov.data[3 * j + 1]);
});

Deno.test("POST /segment/slice: raw float32 probabilities, 16-bit probability PNG, raw masks", async () => {
  const raw = await post("/segment/slice?model=sigmoid&probs=1&format=raw", png);
  assertEquals(raw.status, 200, await raw.clone().text());
  assertEquals(raw.headers.get("content-type"), "application/octet-stream");
  assertEquals(
    ["width", "height", "channels", "dtype"].map((h) => raw.headers.get(`x-image-${h}`)),
    [String(W), String(H), "1", "float32"],
  );
  const bytes = new Uint8Array(await raw.arrayBuffer());
  assertEquals(bytes.length, W * H * 4);
  const view = new DataView(bytes.buffer);
  const p16 = decodePng(
    new Uint8Array(
      await (await post("/segment/slice?model=sigmoid&probs=1&bits=16", png)).arrayBuffer(),
    ),
  );
  assertEquals(p16.depth, 16);
  for (let i = 0; i < W * H; i++) {
    const p = view.getFloat32(4 * i, true);
    assertAlmostEquals(p, sigmoidOf(img.data[i]), 1e-6);
    assertEquals(p16.data[i], Math.round(p * 65535));
  }
  const mask = await post("/segment/slice?model=sigmoid&format=raw", png);
  assertEquals(mask.headers.get("x-image-dtype"), "uint8");
  assertEquals(
    Array.from(new Uint8Array(await mask.arrayBuffer())),
    Array.from(want, (v) => v * 255),
  );
  const ones = await post("/segment/slice?model=sigmoid&format=raw&bits=1", png);
  assertEquals(new Uint8Array(await ones.arrayBuffer()), want);
  const ov = await post("/segment/slice?model=sigmoid&format=raw&overlay=1", png);
  assertEquals(ov.headers.get("x-image-channels"), "3");
  assertEquals((await ov.arrayBuffer()).byteLength, W * H * 3);
});

Deno.test("POST /segment/slice: JSON numbers: area in px and mm², bbox, model, timings", async () => {
  const square = greyImage(20, 10, (x, y) => (x >= 4 && x < 9 && y >= 2 && y < 5 ? 255 : 0));
  const dcm = greyDicom(20, 10, square.data, "0.5\\0.8");
  const res = await post("/segment/slice?model=sigmoid&format=json", dcm);
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  assertEquals(body.area, { pixels: 15, mm2: 15 * 0.5 * 0.8 });
  assertEquals(body.bbox, { x: 4, y: 2, width: 5, height: 3 });
  assertEquals(body.model.name, "sigmoid");
  assertEquals(body.model.version, "0.0.1");
  assertEquals(body.model.backend, "wasm");
  assertEquals(body.input.format, "dicom");
  assertEquals(body.fit.fit, "pad");
  assertEquals(body.threshold, 0.5);
  assert(body.timings_ms.infer >= 0 && body.timings_ms.decode >= 0);
  const noSpacing = await (await post("/segment/slice?model=sigmoid&format=json", png)).json();
  assertEquals(noSpacing.area.mm2, null);
  // Threshold per request: everything above 0.3 (v/255 - 0.5 > logit(0.3)).
  const t = await (await post("/segment/slice?model=sigmoid&format=json&threshold=0.3", png))
    .json();
  assertEquals(t.area.pixels, img.data.filter((v) => sigmoidOf(v) > 0.3).length);
});

Deno.test("POST /segment/slice: RLE answers in each dialect, feeding back into the rle function", async () => {
  const runs = maskToRuns(want, W, H, "column");
  const siim = await post("/segment/slice?model=sigmoid&format=text&rle=siim", png);
  assertEquals(await siim.text(), formatRle(runs, "siim", W, H));
  const kaggle = await post("/segment/slice?model=sigmoid&format=text&rle=kaggle", png);
  assertEquals(await kaggle.text(), formatRle(runs, "kaggle", W, H));
  const coco = await (await post("/segment/slice?model=sigmoid&format=json&rle=coco", png)).json();
  assertEquals(coco.rle.value, formatRle(runs, "coco", W, H));
  const cocoText = await post("/segment/slice?model=sigmoid&format=text&rle=coco", png);
  await problem(cocoText, 400, "COCO");
});

Deno.test("POST /segment/slice: ground truth as a mask image or an RLE gives dice and IoU", async () => {
  const truth = Uint8Array.from(want);
  truth.fill(0, 0, 200); // drop the first 200 pixels' labels
  const scores = overlapScores(want, truth);
  const form = new FormData();
  form.append("image", new Blob([png]), "slice.png");
  form.append("mask", new Blob([await encodeMaskPng(truth, W, H, 8)]), "truth.png");
  const a = await (await app.request("/segment/slice?model=sigmoid&format=json", {
    method: "POST",
    body: form,
  })).json();
  assertEquals(a.ground_truth, scores);
  assert(a.ground_truth.dice < 1 && a.ground_truth.dice > 0.5);
  const f2 = new FormData();
  f2.append("image", new Blob([png]), "slice.png");
  f2.append("rle", formatRle(maskToRuns(truth, W, H, "column"), "kaggle", W, H) as string);
  f2.append("dialect", "kaggle");
  const b = await (await app.request("/segment/slice?model=sigmoid&format=json", {
    method: "POST",
    body: f2,
  })).json();
  assertEquals(b.ground_truth, scores);
  assertEquals(b.rle.dialect, "kaggle");
  // A mask of another size is a 422.
  const f3 = new FormData();
  f3.append("image", new Blob([png]), "slice.png");
  f3.append("mask", new Blob([await encodeMaskPng(truth, H, W, 8)]), "truth.png");
  await problem(
    await app.request("/segment/slice?model=sigmoid", { method: "POST", body: f3 }),
    422,
    "ground-truth mask is 30x40",
  );
});

Deno.test("POST /segment/slice: a field-of-view mask limits the mask and the scores", async () => {
  const fov = new Uint8Array(W * H);
  for (let y = 5; y < 25; y++) fov.fill(1, y * W + 5, y * W + 35);
  const truth = Uint8Array.from(want);
  truth.fill(0, 0, 200);
  const form = new FormData();
  form.append("image", new Blob([png]), "photo.png");
  form.append("mask", new Blob([await encodeMaskPng(truth, W, H, 8)]), "truth.png");
  form.append("fov", new Blob([await encodeMaskPng(fov, W, H, 8)]), "fov.png");
  const j = await (await app.request("/segment/slice?model=sigmoid&format=json", {
    method: "POST",
    body: form,
  })).json();
  const inside = want.map((v, i) => v & fov[i]);
  assertEquals(j.fov_pixels, 600);
  assertEquals(j.area.pixels, inside.reduce((a, b) => a + b, 0));
  assertEquals(j.ground_truth, overlapScores(inside, truth.map((v, i) => v & fov[i])));
});

Deno.test({
  name: "POST /segment/slice: DRIVE's own GIF truth and FOV give the scores of their PNG versions",
  ignore: !dataFile("drive/original/test/1st_manual/01_manual1.gif") ||
    !dataFile("drive/png/test/1st_manual/01_manual1.png"),
  async fn() {
    const d = (rel: string) => Deno.readFile(dataFile(`drive/${rel}`)!);
    const photo = await d("original/test/images/01_test.tif");
    const scores = async (truth: Uint8Array<ArrayBuffer>, fov: Uint8Array<ArrayBuffer>) => {
      const form = new FormData();
      form.append("image", new Blob([photo]), "01_test.tif");
      form.append("mask", new Blob([truth]), "01_manual1");
      form.append("fov", new Blob([fov]), "01_test_mask");
      const res = await app.request("/segment/slice?model=green&format=json", {
        method: "POST",
        body: form,
      });
      const body = await res.json();
      assertEquals(res.status, 200, JSON.stringify(body));
      return body;
    };
    const fromPng = await scores(
      await d("png/test/1st_manual/01_manual1.png"),
      await d("png/test/mask/01_test_mask.png"),
    );
    const fromGif = await scores(
      await d("original/test/1st_manual/01_manual1.gif"),
      await d("original/test/mask/01_test_mask.gif"),
    );
    assertEquals(fromGif.ground_truth, fromPng.ground_truth);
    assertEquals([fromGif.fov_pixels, fromGif.area], [fromPng.fov_pixels, fromPng.area]);
    // The FOV is DRIVE's disc, not the whole 565x584 frame, and the scores are real ones.
    assert(fromGif.fov_pixels > 0.6 * 565 * 584 && fromGif.fov_pixels < 0.8 * 565 * 584);
    assert(fromGif.ground_truth.dice > 0 && fromGif.ground_truth.dice < 1);
  },
});

Deno.test("overlapScores: dice and IoU by hand, both 1 for two empty masks", () => {
  const s = overlapScores(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(1, 0, 1, 0));
  assertAlmostEquals(s.dice, 0.5, 1e-12);
  assertAlmostEquals(s.iou, 1 / 3, 1e-12);
  assertEquals(overlapScores(new Uint8Array(3), new Uint8Array(3)).dice, 1);
});

Deno.test("POST /segment/slice: a fixed-size model gets the image resized and its mask mapped back", async () => {
  const im = greyImage(64, 48, (x, y) => (x < 32 || (x >= 48 && y >= 32) ? 255 : 0));
  const res = await post("/segment/slice?model=fixed32", await encodeImagePng(im.data, 64, 48));
  assertEquals(await maskOf(res), Uint8Array.from(im.data, (v) => (v ? 1 : 0)));
  const j = await (await post(
    "/segment/slice?model=fixed32&format=json",
    await encodeImagePng(im.data, 64, 48),
  )).json();
  assertEquals(j.fit.fit, "resize");
  assertEquals(j.fit.size, [32, 32]);
});

Deno.test("POST /segment/slice: tiles on request, as many passes as batches", async () => {
  const im = greyImage(70, 70, (x, y) => (x * y) & 255);
  const body = await encodeImagePng(im.data, 70, 70);
  const whole = await maskOf(await post("/segment/slice?model=conv3&fit=pad", body));
  const j = await (await post("/segment/slice?model=conv3&format=json&batch=2", body)).json();
  assertEquals([j.fit.fit, j.fit.tiles, j.fit.passes], ["tile", 16, 8]);
  assertEquals(await maskOf(await post("/segment/slice?model=conv3&batch=2", body)), whole);
});

Deno.test("POST /segment/slice: the function's pass cap (384 Ki pixels) runs 600x600 whole, tiles 1024x1024 one to a pass", async () => {
  // the unet fixture without its card's tile: a fully convolutional net tiled only by the cap
  const dir = `${root}/unet-whole`;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of Deno.readDirSync(`${root}/unet`)) {
    await Deno.copyFile(`${root}/unet/${f.name}`, `${dir}/${f.name}`);
  }
  const card = JSON.parse(await Deno.readTextFile(`${dir}/card.json`));
  delete card.tile;
  await Deno.writeTextFile(`${dir}/card.json`, JSON.stringify({ ...card, name: "unet-whole" }));
  const fit = async (side: number) => {
    const im = greyImage(side, side, (x, y) => (x + y) & 255);
    const body = await encodeImagePng(im.data, side, side);
    const j = await (await post("/segment/slice?model=unet-whole&format=json", body)).json();
    return [j.fit.fit, j.fit.size, j.fit.batch, j.fit.tiles, j.fit.passes];
  };
  assertEquals(await fit(600), ["pad", [600, 600], 4, 1, 1]);
  assertEquals(await fit(1024), ["tile", [512, 512], 1, 9, 9]);
});

Deno.test("POST /segment/slice: colour: an RGB model takes RGB PNGs; a grey model refuses them (422)", async () => {
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) rgb[3 * i + 1] = img.data[i];
  const body = await encodeImagePng(rgb, W, H, 3);
  assertEquals(await maskOf(await post("/segment/slice?model=green", body)), want);
  await problem(await post("/segment/slice?model=sigmoid", body), 422, "takes grey images");
});

Deno.test("POST /segment/slice: a model that is not installed is a 404 saying how to add one", async () => {
  const res = await post("/segment/slice?model=ct-liver", png);
  await problem(res, 404, "models/README.md");
  await problem(await post("/segment/slice", png), 400, "model is required");
});

Deno.test("POST /segment/slice: bad input gets a 4xx problem", async () => {
  await problem(await post("/segment/slice?model=sigmoid", new Uint8Array(0)), 400, "empty");
  await problem(
    await post("/segment/slice?model=sigmoid", new TextEncoder().encode("not an image at all")),
    400,
    "DICOM",
  );
  await problem(await post("/segment/slice?model=sigmoid", png.slice(0, 60)), 400, "PNG");
  await problem(await post("/segment/slice?model=sigmoid&bits=4", png), 400, "bits");
  await problem(await post("/segment/slice?model=sigmoid&fit=stretch", png), 400, "fit");
  await problem(await post("/segment/slice?model=sigmoid&threshold=x", png), 400, "threshold");
  await problem(await post("/segment/slice?model=conv3&fit=tile&overlap=99", png), 422, "overlap");
  // format=raw is an answer since issue 15 (point 5); an unknown format is still a 400
  await problem(await post("/segment/slice?model=sigmoid&format=bmp", png), 400, "format");
  await problem(await post("/segment/slice?model=sigmoid&bits=16", png), 400, "add probs=1");
  await problem(await post("/segment/slice?model=sigmoid&probs=1&bits=1", png), 400, "8 or 16");
});

Deno.test("POST /segment/slice: no tensor is left behind by answered or failed requests", async () => {
  await post("/segment/slice?model=shrinks", png); // load every model first
  for (const m of ["sigmoid", "conv3", "fixed32", "green", "twoclass", "unet"]) {
    await post(`/segment/slice?model=${m}`, png);
  }
  const before = tf.memory().numTensors;
  assertEquals((await post("/segment/slice?model=sigmoid", png)).status, 200);
  assertEquals((await post("/segment/slice?model=conv3&fit=tile&batch=3", png)).status, 200);
  assertEquals((await post("/segment/slice?model=unet&format=json", png)).status, 200);
  assertEquals((await post("/segment/slice?model=twoclass&probs=1", png)).status, 200);
  const broken = await post("/segment/slice?model=shrinks", png);
  assertEquals(broken.status, 500);
  assert((await broken.json()).detail.includes("must keep height and width"));
  assertEquals((await post("/segment/slice?model=sigmoid", png.slice(0, 60))).status, 400);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("POST /segment/slice: past the time budget the run stops between steps, 503 naming the step", async () => {
  const steps = ["model", "decode", "preprocess", "fit", "infer", "mapback", "threshold", "png"];
  // 1 ms: a 512x512 image takes longer than that to decode, preprocess and run
  const big = greyImage(512, 512, (x, y) => (x * 3 + y * 5) & 255);
  const body512 = await encodeImagePng(big.data, 512, 512);
  Deno.env.set("MEDIMG_TIME_BUDGET_MS", "1");
  try {
    const res = await post("/segment/slice?model=fixed32", body512);
    const body = await res.json();
    assertEquals(res.status, 503, JSON.stringify(body));
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    const stage = /\(at stage (\w+)\)/.exec(body.detail)?.[1];
    assert(stage !== undefined && steps.includes(stage), body.detail);
    // the steps run until then are still timed
    assert(res.headers.get("server-timing")?.includes(stage), res.headers.get("server-timing")!);
  } finally {
    Deno.env.delete("MEDIMG_TIME_BUDGET_MS");
  }
  assertEquals((await post("/segment/slice?model=fixed32", body512)).status, 200);
});

Deno.test({
  name:
    "POST /segment/slice: a DRIVE photo through a fixed-size model answers the model-size result mapped back by the recorded resize",
  ignore: !dataFile("drive/png/test/images/01_test.png"),
  async fn() {
    const { decodeImage } = await import("../../lib/decode/mod.ts");
    const { greenPlane } = await import("../../lib/pipelines/fundus.ts");
    const { scalePreset } = await import("../../lib/pipelines/presets.ts");
    const { inferFitted, planInference, resizeInput, toMask } = await import(
      "../../lib/models/infer.ts"
    );
    const { loadModel } = await import("../../lib/models/load.ts");
    const { mapBack } = await import("../../lib/pipelines/steps.ts");
    const photo = await decodeImage(
      await Deno.readFile(dataFile("drive/png/test/images/01_test.png")!),
    );
    const { width, height } = photo.image;
    const grey = greenPlane(photo.image);
    const body = await encodeImagePng(grey, width, height);
    const ask = (q: string) => post(`/segment/slice?model=fixed32&fit=resize${q}`, body);
    // the model's answer at its own 32x32, and the resize the fit records
    const loaded = await loadModel("fixed32", { root });
    const x = scalePreset({ width, height, channels: 1, data: grey }, {}, { channels: "grey" });
    const plan = planInference(loaded.card, height, width, { fit: "resize" });
    const small = (await inferFitted(loaded, resizeInput(x, 32, 32), plan)).probs;
    const geometry = [
      {
        step: "fit",
        kind: "resize" as const,
        from: [width, height] as [number, number],
        to: [32, 32] as [number, number],
      },
    ];
    const back = mapBack(geometry, small, "bilinear");

    const raw = await ask("&format=raw&bits=1");
    assertEquals(raw.status, 200, await raw.clone().text());
    assertEquals(
      [raw.headers.get("x-image-width"), raw.headers.get("x-image-height")],
      [String(width), String(height)],
    );
    assertEquals(new Uint8Array(await raw.arrayBuffer()), toMask(back, loaded.card));
    const probs = new Uint8Array(await (await ask("&format=raw&probs=1")).arrayBuffer());
    assertEquals(new Float32Array(probs.buffer), back.data);
  },
});

Deno.test("cleanup", async () => {
  await unloadModels();
  await Deno.remove(root, { recursive: true });
});

Deno.test("POST /segment/slice with a classifier or a 3D model: 422 naming the route to use", async () => {
  // Regression (bench/service/fuzz.ts): these reached preprocessing and failed there with a 500.
  const shipped = new URL("../../models/", import.meta.url).pathname;
  const before = Deno.env.get("MEDIMG_MODELS_DIR");
  Deno.env.set("MEDIMG_MODELS_DIR", shipped);
  try {
    const png = await encodeMaskPng(new Uint8Array(64 * 64), 64, 64, 8);
    for (
      const [name, hint] of [["brats-demo", "/segment/volume"], ["cxr-pneumonia", "/cxr/classify"]]
    ) {
      try {
        await Deno.stat(`${shipped}${name}/card.json`);
      } catch {
        continue;
      }
      const res = await app.request(`/segment/slice?model=${name}`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: png,
      });
      assertEquals(res.status, 422, name);
      const body = await res.json();
      assert(body.detail.includes(hint), body.detail);
      assertEquals(body.field, "model");
    }
  } finally {
    if (before === undefined) Deno.env.delete("MEDIMG_MODELS_DIR");
    else Deno.env.set("MEDIMG_MODELS_DIR", before);
  }
});

const drivePhoto = dataFile("drive/png/test/images/01_test.png");

Deno.test({
  name:
    "POST /segment/slice, shipped fundus-vessels on a DRIVE crop: raw float32 = the model's probabilities, 8- and 16-bit PNGs round them",
  ignore: !drivePhoto,
  async fn() {
    const shipped = new URL("../../models/", import.meta.url).pathname;
    const before = Deno.env.get("MEDIMG_MODELS_DIR");
    Deno.env.set("MEDIMG_MODELS_DIR", shipped);
    try {
      // a 72x64 crop across vessels near the optic disc of test photo 01
      const photo = decodePng(await Deno.readFile(drivePhoto!));
      const cw = 72, ch = 64, x0 = 440, y0 = 250;
      const rgb = new Uint8Array(cw * ch * 3);
      for (let y = 0; y < ch; y++) {
        const from = ((y0 + y) * photo.width + x0) * 3;
        rgb.set(photo.data.subarray(from, from + cw * 3) as Uint8Array, y * cw * 3);
      }
      const crop = await encodeImagePng(rgb, cw, ch, 3);
      const ask = (q: string) => post(`/segment/slice?model=fundus-vessels${q}`, crop, "image/png");

      // the model's probabilities through the library, as the route runs it
      const { loadModel } = await import("../../lib/models/load.ts");
      const { segmentImage } = await import("../../lib/models/infer.ts");
      const { getPreset } = await import("../../lib/pipelines/presets.ts");
      const { decodeImage } = await import("../../lib/decode/mod.ts");
      const loaded = await loadModel("fundus-vessels", { root: shipped });
      const { image, meta } = await decodeImage(crop, { maxPixels: 1 << 24 });
      const x = (await getPreset("fundus-vessels"))(
        image,
        meta,
        loaded.card.preprocess?.params ?? {},
      );
      const { probs } = await segmentImage(loaded, x);
      assertEquals(probs.channels, 1);

      const raw = await ask("&probs=1&format=raw");
      assertEquals(raw.status, 200, await raw.clone().text());
      assertEquals(
        ["width", "height", "channels", "dtype"].map((h) => raw.headers.get(`x-image-${h}`)),
        [String(cw), String(ch), "1", "float32"],
      );
      assertEquals(raw.headers.get("x-model"), "fundus-vessels");
      const bytes = new Uint8Array(await raw.arrayBuffer());
      assertEquals(bytes.length, cw * ch * 4);
      const f = new DataView(bytes.buffer);
      const p = Float32Array.from({ length: cw * ch }, (_, i) => f.getFloat32(4 * i, true));
      assertEquals(p, probs.data, "raw float32 = the model's probabilities");
      let lo = 1, hi = 0;
      for (const v of p) lo = Math.min(lo, v), hi = Math.max(hi, v);
      assert(lo < 0.1 && hi > 0.9, `vessels and background in the crop (${lo}..${hi})`);
      // the full precision is there: values 8 bits cannot tell apart
      assert(new Set(p).size > 256, `${new Set(p).size} distinct probabilities`);

      const p8 = decodePng(new Uint8Array(await (await ask("&probs=1")).arrayBuffer()));
      const p16 = decodePng(new Uint8Array(await (await ask("&probs=1&bits=16")).arrayBuffer()));
      assertEquals([p8.depth, p16.depth], [8, 16]);
      let worst8 = 0, worst16 = 0;
      for (let i = 0; i < p.length; i++) {
        worst8 = Math.max(worst8, Math.abs(p8.data[i] / 255 - p[i]));
        worst16 = Math.max(worst16, Math.abs(p16.data[i] / 65535 - p[i]));
      }
      assert(worst8 <= 0.5 / 255 + 1e-7, `8-bit off by ${worst8 * 255}/255`);
      assert(worst16 <= 0.5 / 65535 + 1e-9, `16-bit off by ${worst16 * 65535}/65535`);
      assert(worst16 < worst8 / 100, "the 16-bit map is finer than the 8-bit one");

      // format=raw without probs: the mask, uint8 0/255, as the PNG mask
      const m = await ask("&format=raw");
      assertEquals(m.headers.get("x-image-dtype"), "uint8");
      const mask = new Uint8Array(await m.arrayBuffer());
      const pngMask = decodePng(new Uint8Array(await (await ask("")).arrayBuffer()));
      assertEquals(mask, pngMask.data);
      const t = loaded.card.threshold ?? 0.5;
      assert(mask.every((v, i) => v === (p[i] >= t ? 255 : 0)), "mask = p >= threshold");
    } finally {
      if (before === undefined) Deno.env.delete("MEDIMG_MODELS_DIR");
      else Deno.env.set("MEDIMG_MODELS_DIR", before);
    }
  },
});
