import { assert, assertEquals } from "@std/assert";
import { decode } from "fast-png";
import { app } from "../../functions/mammo.ts";
import { decodePng, encodeImagePng, encodeMaskPng, maskFromPng } from "../../lib/image/png.ts";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";
import { decodeImage } from "../../lib/decode/mod.ts";
import { encodeGreyTiff, encodeJpeg } from "../decode/_encode.ts";
import { CAPTION_BAND, drawText, strip } from "../../lib/image/strip.ts";
import { dataFile } from "../_data.ts";

const full = dataFile("ddsm-tissue-seg/images/B_3627_1.RIGHT_MLO.png");
const cbisDicom = dataFile("cbis-ddsm/Mass-Test_P_00016_LEFT_CC_1.cropped.000001.dcm");
const cbisRoi = dataFile("cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO_1.roi-box.png");

async function problem(res: Response, status: number, detail: string) {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assert(String(body.detail).includes(detail), `${body.detail} lacks ${detail}`);
}

const post = async (path: string, body: BodyInit, type = "image/png") =>
  await app.request(path, { method: "POST", headers: { "content-type": type }, body });

Deno.test({
  name:
    "POST /mammo/preprocess: square 8-bit PNG equal to the library, numbers as JSON, Server-Timing per step",
  ignore: !full,
  async fn() {
    const bytes = await Deno.readFile(full!);
    const png = decodePng(bytes);
    const lib = mammoPreprocess({
      width: png.width,
      height: png.height,
      data: png.data as Uint8Array,
    });
    const res = await post("/mammo/preprocess", bytes);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("x-mammo-lr-flip"), "true");
    assert(res.headers.get("server-timing")?.includes("clahe"));
    const out = decodePng(new Uint8Array(await res.arrayBuffer()));
    assertEquals([out.width, out.height, out.depth], [lib.square, lib.square, 8]);
    assertEquals(out.data, lib.image);
    const json = await (await post("/mammo/preprocess?format=json&kernel=15", bytes)).json();
    assertEquals(json.lr_flip, true);
    assertEquals(json.params.kernel, 15);
    assertEquals(json.crop, lib.crop);
    const sixteen = decode(
      new Uint8Array(await (await post("/mammo/preprocess?bits=16", bytes)).arrayBuffer()),
    );
    assertEquals(sixteen.depth, 16);
    assertEquals(sixteen.data[1000], lib.image[1000] * 257);
    const steps = decodePng(
      new Uint8Array(await (await post("/mammo/preprocess?steps=1", bytes)).arrayBuffer()),
    );
    // 512 px of images and, since issue 15, a caption band under them
    assertEquals(steps.height, 512 + CAPTION_BAND);
    assert(steps.width > 6 * 200, "six panels side by side");
  },
});

Deno.test({
  name:
    "POST /mammo/preprocess?steps=1: each stage's name in a caption band, the stage images unchanged",
  ignore: !full,
  async fn() {
    const bytes = await Deno.readFile(full!);
    const png = decodePng(bytes);
    const r = mammoPreprocess({ width: png.width, height: png.height, data: png.data }, {}, true);
    const names = r.stages!.map((s) => s.name);
    assertEquals(names, ["crop", "normalise", "artefacts", "flip", "clahe", "pad"]);
    // the same panels without names: the strip as it was before captions
    const bare = strip(r.stages!.map(({ width, height, data }) => ({ width, height, data })), 512);
    assertEquals(bare.height, 512);
    const res = await post("/mammo/preprocess?steps=1", bytes);
    assertEquals(res.status, 200);
    const out = decodePng(new Uint8Array(await res.arrayBuffer()));
    assertEquals([out.width, out.height], [bare.width, 512 + CAPTION_BAND]);
    assertEquals(out.data.subarray(0, bare.data.length), bare.data, "stage tiles changed");
    // every panel has ink in its own columns of the band, and nothing is drawn between panels
    const band = out.data.subarray(512 * out.width);
    const widths = r.stages!.map((p) => Math.max(1, Math.round((p.width * 512) / p.height)));
    const captions: string[] = [];
    let left = 0;
    widths.forEach((w, k) => {
      let ink = 0, bits = "";
      for (let y = 0; y < CAPTION_BAND; y++) {
        for (let x = left; x < left + w; x++) {
          const v = band[y * out.width + x];
          assert(v === 0 || v === 255, "caption pixels are 0 or 255");
          if (v) ink++;
          bits += v ? "1" : "0";
        }
      }
      assert(ink > 20 * names[k].length, `${names[k]}: ${ink} text pixels`);
      captions.push(bits);
      if (k < widths.length - 1) {
        for (let y = 0; y < CAPTION_BAND; y++) {
          for (let x = left + w; x < left + w + 8; x++) assertEquals(band[y * out.width + x], 0);
        }
      }
      left += w + 8;
    });
    // the captions are the names as drawText writes them
    left = 0;
    widths.forEach((w, k) => {
      const own = new Uint8Array(out.width * CAPTION_BAND);
      drawText(own, out.width, names[k], left + w / 2, 5, 2, left, left + w);
      for (let y = 0; y < CAPTION_BAND; y++) {
        for (let x = left; x < left + w; x++) {
          assertEquals(band[y * out.width + x], own[y * out.width + x], `${names[k]} at ${x},${y}`);
        }
      }
      left += w + 8;
    });
    assertEquals(new Set(captions).size, names.length, "six different captions");
  },
});

Deno.test("drawText: the 5x7 glyphs, centred, clipped to the panel", () => {
  const w = 13, img = new Uint8Array(w * 7);
  drawText(img, w, "l1", 6, 0, 1, 0, w); // 11 wide about column 6: columns 1..11
  const rows = Array.from(
    { length: 7 },
    (_, y) => Array.from(img.subarray(y * w, (y + 1) * w), (v) => (v ? "#" : ".")).join(""),
  );
  assertEquals(rows, [
    ".#.......#...",
    ".#......##...",
    ".#.......#...",
    ".#.......#...",
    ".#.......#...",
    ".#.......#...",
    ".#####..###..",
  ]);
  const clipped = new Uint8Array(w * 7);
  drawText(clipped, w, "l1", 6, 0, 1, 4, 9);
  assert(clipped.every((v, i) => v === 0 || (i % w >= 4 && i % w < 9)));
});

Deno.test({
  name: "POST /mammo/preprocess takes a 16-bit CBIS-DDSM DICOM",
  ignore: !cbisDicom,
  async fn() {
    const res = await post(
      "/mammo/preprocess?format=json",
      await Deno.readFile(cbisDicom!),
      "application/dicom",
    );
    const json = await res.json();
    assertEquals(res.status, 200, JSON.stringify(json));
    assertEquals(json.input, { width: 385, height: 384 });
    assertEquals(json.square, Math.max(json.crop.x1 - json.crop.x0, json.crop.y1 - json.crop.y0));
  },
});

Deno.test("POST /mammo/preprocess bad requests", async () => {
  const grey = await encodeImagePng(new Uint8Array(100 * 100).fill(50), 100, 100);
  await problem(
    await post("/mammo/preprocess", grey, "text/plain"),
    415,
    "send image/png or application/dicom",
  );
  await problem(
    await post("/mammo/preprocess?kernel=abc", grey),
    400,
    'kernel must be an integer, got "abc"',
  );
  // Outside the documented range: 400 (issue 15: the declaration validates, lib/http/query.ts).
  await problem(
    await post("/mammo/preprocess?kernel=0", grey),
    400,
    "kernel must be an integer from 1 to 255",
  );
  await problem(await post("/mammo/preprocess?bits=12", grey), 400, "bits must be 8 or 16");
  await problem(await post("/mammo/preprocess", grey.slice(0, 30)), 400, "PNG");
  const rgb = await encodeImagePng(new Uint8Array(30 * 30 * 3), 30, 30, 3);
  await problem(await post("/mammo/preprocess", rgb), 422, "must be a grey PNG, got 3 channels");
  await problem(
    await post(
      "/mammo/preprocess",
      new TextEncoder().encode("garbage that is no image"),
      "application/dicom",
    ),
    400,
    "not DICOM",
  );
});

Deno.test("POST /mammo/mask: masks summed, cropped, flipped and padded; multipart or JSON", async () => {
  const w = 100, h = 50;
  const a = new Uint8Array(w * h), b = new Uint8Array(w * h);
  a[10 * w + 5] = 1; // column 5 -> cropped column 4
  b[20 * w + 50] = 1;
  const [pa, pb] = [await encodeMaskPng(a, w, h, 8), await encodeMaskPng(b, w, h, 8)];
  const form = new FormData();
  form.append("mask", new File([pa], "a.png"));
  form.append("mask", new File([pb], "b.png"));
  form.append("lr_flip", "true");
  const res = await app.request("/mammo/mask", { method: "POST", body: form });
  assertEquals(res.status, 200, await res.clone().text());
  const out = decodePng(new Uint8Array(await res.arrayBuffer()));
  // crop: x 1..99 (98 wide), y 2..48 (46 high) -> square 98; flipped: x' = 97 - (x - 1).
  assertEquals([out.width, out.height], [98, 98]);
  assertEquals(out.data[(10 - 2) * 98 + (97 - 4)], 255);
  assertEquals(out.data[(20 - 2) * 98 + (97 - 49)], 255);
  assertEquals(Array.from(out.data).filter((v) => v).length, 2);
  const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
  const json = await app.request("/mammo/mask", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ masks: [b64(pa)], lr_flip: false }),
  });
  const one = decodePng(new Uint8Array(await json.arrayBuffer()));
  assertEquals(one.data[(10 - 2) * 98 + 4], 255);
});

Deno.test("POST /mammo/mask bad requests: size mismatch 422, lr_flip missing 400, wrong type 415", async () => {
  const small = await encodeMaskPng(new Uint8Array(20 * 20), 20, 20, 8);
  const big = await encodeMaskPng(new Uint8Array(30 * 20), 30, 20, 8);
  const form = new FormData();
  form.append("mask", new File([small], "a.png"));
  form.append("mask", new File([big], "b.png"));
  form.append("lr_flip", "false");
  await problem(
    await app.request("/mammo/mask", { method: "POST", body: form }),
    422,
    "mask 1 is 30x20, but mask 0 is 20x20",
  );
  const json = (body: unknown) =>
    app.request("/mammo/mask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  await problem(await json({ masks: ["AAAA"] }), 400, "lr_flip must be true or false");
  await problem(await json({ masks: "x", lr_flip: true }), 400, "masks must be a list");
  await problem(await json({ masks: ["@@@"], lr_flip: true }), 400, "masks[0] is not valid base64");
  await problem(await json({ masks: [], lr_flip: true }), 400, "no mask given");
  await problem(await post("/mammo/mask", small), 415, "multipart/form-data or application/json");
});

// Issue 15: a mammogram or mask in any image format, recognised by its bytes.
const roiRgb = dataFile("cbis-ddsm/Mass-Test_P_00016_LEFT_CC_1.roi-box.png");

Deno.test({
  name: "POST /mammo/preprocess takes the same film as JPEG and as TIFF, by their bytes",
  ignore: !full,
  async fn() {
    const png = decodePng(await Deno.readFile(full!));
    const grey = png.data as Uint8Array;
    const fromPng = new Uint8Array(
      await (await post("/mammo/preprocess", await Deno.readFile(full!)))
        .arrayBuffer(),
    );
    // TIFF is lossless: the very answer of the PNG, whatever Content-Type says.
    const tiff = encodeGreyTiff(grey, png.width, png.height);
    for (const type of ["image/tiff", "application/octet-stream", "image/png"]) {
      const res = await post("/mammo/preprocess", tiff, type);
      assertEquals(res.status, 200, await res.clone().text());
      assertEquals(new Uint8Array(await res.arrayBuffer()), fromPng, type);
    }
    // JPEG is lossy: the answer is the pipeline's over the JPEG's own pixels.
    const jpeg = await encodeJpeg(grey, png.width, png.height, 1, 95);
    const res = await post("/mammo/preprocess", jpeg, "image/jpeg");
    assertEquals(res.status, 200, await res.clone().text());
    const { image } = await decodeImage(jpeg);
    assertEquals([image.width, image.height, image.channels], [png.width, png.height, 1]);
    const lib = mammoPreprocess({
      width: image.width,
      height: image.height,
      data: image.data as Uint8Array,
    });
    assertEquals(decodePng(new Uint8Array(await res.arrayBuffer())).data, lib.image);
    const json = await (await post("/mammo/preprocess?format=json", jpeg, "image/jpeg")).json();
    assertEquals(json.input, { width: png.width, height: png.height });
  },
});

Deno.test({
  name: "POST /mammo/mask: CBIS-DDSM's RGB ROI PNG is a mask, equal to its grey version",
  ignore: !roiRgb,
  async fn() {
    const bytes = await Deno.readFile(roiRgb!);
    const rgb = decodePng(bytes);
    assertEquals([rgb.channels, rgb.depth], [3, 16]); // as CBIS-DDSM ships it
    const n = rgb.width * rgb.height;
    const grey = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      grey[i] = rgb.data[3 * i] || rgb.data[3 * i + 1] || rgb.data[3 * i + 2] ? 1 : 0;
    }
    const greyPng = await encodeMaskPng(grey, rgb.width, rgb.height, 8);
    const send = async (mask: Uint8Array<ArrayBuffer>) => {
      const form = new FormData();
      form.append("mask", new File([mask], "roi.png"));
      form.append("lr_flip", "false");
      const res = await app.request("/mammo/mask", { method: "POST", body: form });
      assertEquals(res.status, 200, await res.clone().text());
      return decodePng(new Uint8Array(await res.arrayBuffer()));
    };
    const fromRgb = await send(bytes), fromGrey = await send(greyPng);
    assertEquals([fromRgb.width, fromRgb.height], [fromGrey.width, fromGrey.height]);
    assertEquals(fromRgb.data, fromGrey.data);
    assert(fromRgb.data.some((v) => v === 255), "the ROI survives");
  },
});

/** The seed's mask_pipeline (reference/seed000_mammo.py), spelled out: crop int(n*f), fliplr, pad. */
function seedMaskPipeline(masks: Uint8Array[], w: number, h: number, flip: boolean) {
  const x0 = Math.trunc(w * 0.01), x1 = Math.trunc(w * 0.99);
  const y0 = Math.trunc(h * 0.04), y1 = Math.trunc(h * 0.96);
  const cw = x1 - x0, ch = y1 - y0, side = Math.max(cw, ch);
  const out = new Uint8Array(side * side);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const on = masks.some((m) => m[(y0 + y) * w + x0 + x] !== 0);
      if (on) out[y * side + (flip ? cw - 1 - x : x)] = 255;
    }
  }
  return { out, side };
}

Deno.test({
  name:
    "POST /mammo/mask on a 2600x4144 CBIS-DDSM ROI: the seed's pixels, flipped or not; Server-Timing per stage",
  ignore: !cbisRoi,
  async fn() {
    // the ROI is 16-bit RGB; as an 8-bit grey 0/255 PNG (what this route took before RGB masks)
    const roi = decodePng(await Deno.readFile(cbisRoi!));
    const mask = maskFromPng(roi);
    const png = await encodeMaskPng(mask, roi.width, roi.height, 8);
    for (const flip of [true, false]) {
      const form = new FormData();
      form.append("mask", new File([png], "roi.png"));
      form.append("lr_flip", String(flip));
      const res = await app.request("/mammo/mask", { method: "POST", body: form });
      assertEquals(res.status, 200, await res.clone().text());
      const timing = res.headers.get("server-timing") ?? "";
      for (const stage of ["decode", "binarize", "sum-crop-flip-pad", "encode"]) {
        assert(new RegExp(`(^|, ?)${stage};dur=[0-9.]+`).test(timing), `${stage} in ${timing}`);
      }
      const out = decodePng(new Uint8Array(await res.arrayBuffer()));
      const ref = seedMaskPipeline([mask], roi.width, roi.height, flip);
      assertEquals([out.width, out.height, out.depth], [ref.side, ref.side, 8]);
      assertEquals(res.headers.get("x-mammo-square"), String(ref.side));
      assert(ref.out.some((v) => v), "the reference mask is not empty");
      assert(out.data.every((v, i) => v === ref.out[i]), `lr_flip=${flip}: pixels differ`);
    }
  },
});

Deno.test("POST /mammo/mask: overlapping, 16-bit and flipped masks are one 0/255 mask", async () => {
  const w = 37, h = 29;
  const a = new Uint8Array(w * h), b = new Uint16Array(w * h), c = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    a[i] = i % 5 === 0 ? 1 : 0;
    b[i] = i % 7 === 0 ? 40000 : 0;
    c[i] = i % 5 === 0 || i % 11 === 0 ? 255 : 0; // overlaps a
  }
  const form = new FormData();
  form.append("mask", new File([await encodeMaskPng(a, w, h, 8)], "a.png"));
  form.append("mask", new File([await encodeImagePng(b, w, h)], "b.png"));
  form.append("mask", new File([await encodeImagePng(c, w, h)], "c.png"));
  form.append("lr_flip", "true");
  const res = await app.request("/mammo/mask", { method: "POST", body: form });
  assertEquals(res.status, 200, await res.clone().text());
  const out = decodePng(new Uint8Array(await res.arrayBuffer()));
  const ref = seedMaskPipeline([a, Uint8Array.from(b, (v) => (v ? 1 : 0)), c], w, h, true);
  assertEquals(Array.from(out.data), Array.from(ref.out));
});
