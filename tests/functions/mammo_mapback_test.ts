/**
 * POST /mammo/mapback on real data: a CBIS-DDSM ROI mask preprocessed with its mammogram's
 * transform (/mammo/preprocess's JSON, then /mammo/mask) goes back onto the original through the
 * route, equal to the ROI inside the crop box and 0 outside; from a model's 512x512 input size
 * (the square resized by nearest neighbour) it differs only on the ROI's edge, within one mask
 * pixel's footprint (square / 512 original pixels), since the down- and up-sizing moves edges by
 * up to that. Bad requests are 4xx problems naming the field.
 */
import { assert, assertEquals } from "@std/assert";
import { app } from "../../functions/mammo.ts";
import { decodeImage, maskFromImage } from "../../lib/decode/mod.ts";
import { decodePng, encodeMaskPng } from "../../lib/image/png.ts";
import { resize } from "../../lib/image/resize.ts";
import { dataFile } from "../_data.ts";

const full = dataFile("cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO.full.png");
const roiFile = dataFile("cbis-ddsm/Mass-Test_P_00116_RIGHT_MLO_1.roi-box.png");

const mapback = (mask: Uint8Array, transform: string) => {
  const form = new FormData();
  form.append("mask", new Blob([mask as BlobPart]), "mask.png");
  form.append("transform", transform);
  return app.request("/mammo/mapback", { method: "POST", body: form });
};

Deno.test({
  name: "POST /mammo/mapback: a real CBIS-DDSM ROI mask goes back onto its mammogram",
  ignore: !full || !roiFile,
  async fn() {
    const photo = Deno.readFileSync(full!), roiBytes = Deno.readFileSync(roiFile!);
    const pre = await app.request("/mammo/preprocess?format=json", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: photo,
    });
    assertEquals(pre.status, 200, await pre.clone().text());
    const t = await pre.json();
    const form = new FormData();
    form.append("mask", new Blob([roiBytes]), "roi.png");
    form.append("lr_flip", String(t.lr_flip));
    const sq = await app.request("/mammo/mask", { method: "POST", body: form });
    assertEquals(sq.status, 200, await sq.clone().text());
    const squarePng = new Uint8Array(await sq.arrayBuffer());

    const roi = maskFromImage((await decodeImage(roiBytes)).image);
    const { width, height } = t.input;
    const { x0, y0, x1, y1 } = t.crop;
    const inCrop = (i: number) => {
      const x = i % width, y = Math.floor(i / width);
      return x >= x0 && x < x1 && y >= y0 && y < y1;
    };
    const back = async (res: Response) => {
      assertEquals(res.status, 200, await res.clone().text());
      assertEquals(res.headers.get("x-image-width"), String(width));
      assertEquals(res.headers.get("x-image-height"), String(height));
      const img = decodePng(new Uint8Array(await res.arrayBuffer()));
      assertEquals([img.width, img.height], [width, height]);
      return Uint8Array.from(img.data, (v) => (v ? 1 : 0));
    };

    // at the square: exact inside the crop box, 0 outside (the whole answer sent as transform)
    const exact = await back(await mapback(squarePng, JSON.stringify(t)));
    let roiInside = 0;
    for (let i = 0; i < exact.length; i++) {
      const want = inCrop(i) ? roi[i] : 0;
      if (exact[i] !== want) throw new Error(`pixel ${i}: ${exact[i]} back, ${want} wanted`);
      roiInside += want;
    }
    assert(roiInside > 1000, `the ROI lies inside the crop box (${roiInside} pixels)`);
    assert(t.lr_flip, "a right-facing breast: the flip is undone too");
    // the transform as a file (curl -F transform=@pre.json) reads the same
    const asFile = new FormData();
    asFile.append("mask", new Blob([squarePng as BlobPart]), "mask.png");
    asFile.append("transform", new Blob([JSON.stringify(t)]), "pre.json");
    assertEquals(
      await back(await app.request("/mammo/mapback", { method: "POST", body: asFile })),
      exact,
    );

    // at a model's 512x512 input: only edge pixels may differ, within one mask pixel's footprint
    const sqMask = decodePng(squarePng);
    const small = resize(
      { width: t.square, height: t.square, channels: 1, data: sqMask.data as Uint8Array },
      512,
      512,
      "nearest",
    );
    const fromSmall = await back(
      await mapback(
        await encodeMaskPng(small.data, 512, 512, 8),
        JSON.stringify({
          input: t.input,
          crop: t.crop,
          lr_flip: t.lr_flip,
          square: t.square,
        }),
      ),
    );
    const k = Math.ceil(t.square / 512);
    let differ = 0, inter = 0, a = 0, b = 0;
    for (let i = 0; i < fromSmall.length; i++) {
      const want = inCrop(i) ? roi[i] : 0;
      a += fromSmall[i], b += want, inter += fromSmall[i] & want;
      if (fromSmall[i] === want) continue;
      differ++;
      // an edge pixel: both values within k pixels in the original ROI (cropped)
      const x = i % width, y = Math.floor(i / width);
      let on = false, off = false;
      for (let dy = -k; dy <= k; dy++) {
        for (let dx = -k; dx <= k; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const j = yy * width + xx;
          if (inCrop(j) && roi[j]) on = true;
          else off = true;
        }
      }
      if (!(on && off)) throw new Error(`(${x}, ${y}) differs but is not on the ROI's edge`);
    }
    assert(differ > 0, "512 loses some edge detail");
    // the ROI is still there (its box outline is thin: a few pixels at 512 stand for it)
    assert(inter > 0.8 * b, `${inter} of the ROI's ${b} pixels (${a} mapped back)`);
  },
});

Deno.test("POST /mammo/mapback: bad masks and transforms are 4xx problems naming the field", async () => {
  const t = { input: { width: 40, height: 30 }, crop: { x0: 2, y0: 1, x1: 38, y1: 29 } };
  const ok = { ...t, lr_flip: true, square: 36 };
  const sq = await encodeMaskPng(new Uint8Array(36 * 36).fill(1), 36, 36, 8);
  const res = await mapback(sq, JSON.stringify(ok));
  assertEquals(res.status, 200, await res.clone().text());
  const img = decodePng(new Uint8Array(await res.arrayBuffer()));
  // all of the crop box, nothing outside it
  assertEquals(Array.from(img.data).filter((v) => v).length, 36 * 28);
  const cases: [Uint8Array, string, number, string][] = [
    [await encodeMaskPng(new Uint8Array(36 * 20), 36, 20, 8), JSON.stringify(ok), 422, "mask"],
    [sq, "{not json", 400, "transform"],
    [sq, JSON.stringify(t), 422, "transform"],
    [sq, JSON.stringify({ ...ok, square: 20 }), 422, "transform"],
    [sq, JSON.stringify({ ...ok, crop: { x0: 2, y0: 1, x1: 41, y1: 29 } }), 422, "transform"],
  ];
  for (const [mask, transform, status, field] of cases) {
    const r = await mapback(mask, transform);
    const body = await r.json();
    assertEquals([r.status, body.field], [status, field], JSON.stringify(body));
    assertEquals(r.headers.get("content-type"), "application/problem+json");
  }
  const noTransform = new FormData();
  noTransform.append("mask", new Blob([sq as BlobPart]));
  const r = await app.request("/mammo/mapback", { method: "POST", body: noTransform });
  assertEquals([r.status, (await r.json()).field], [400, "transform"]);
});
