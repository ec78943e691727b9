import { assert, assertEquals } from "@std/assert";
import { decode } from "fast-png";
import { app } from "../../functions/mammo.ts";
import { decodePng, encodeImagePng, encodeMaskPng } from "../../lib/image/png.ts";
import { mammoPreprocess } from "../../lib/pipelines/mammo.ts";
import { decodeImage } from "../../lib/decode/mod.ts";
import { encodeGreyTiff, encodeJpeg } from "../decode/_encode.ts";
import { dataFile } from "../_data.ts";

const full = dataFile("ddsm-tissue-seg/images/B_3627_1.RIGHT_MLO.png");
const cbisDicom = dataFile("cbis-ddsm/Mass-Test_P_00016_LEFT_CC_1.cropped.000001.dcm");

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
    assertEquals(steps.height, 512);
    assert(steps.width > 6 * 200, "six panels side by side");
  },
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
