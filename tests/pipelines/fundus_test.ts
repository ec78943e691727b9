/**
 * The fundus-vessels preset against its Python twin (reference/fundus_preprocess.py: green -> OpenCV 4.6 CLAHE ->
 * float32 / 255) on all 40 DRIVE photos: the 8-bit CLAHE plane and the float32 tensor hash equal
 * (tests/fixtures/fundus_reference.json, made by tests/fixtures/make_fundus_reference.py).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { InvalidInputError } from "../../lib/errors.ts";
import { clahe } from "../../lib/image/clahe.ts";
import type { Image } from "../../lib/image/image.ts";
import { decodePng } from "../../lib/image/png.ts";
import { fundusVessels, greenPlane } from "../../lib/pipelines/fundus.ts";
import { dataFile } from "../_data.ts";

interface RefRow {
  file: string;
  clipLimit: number;
  tiles: number;
  sha256_u8: string;
  sha256_f32: string;
  sum_u8: number;
}
const ref = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/fundus_reference.json", import.meta.url)),
) as { params: Record<string, unknown>; images: RefRow[] };
const drive = dataFile("drive/SOURCES.md");

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readRgb(rel: string): Promise<Image> {
  const png = decodePng(await Deno.readFile(dataFile(`drive/${rel}`)!));
  assertEquals([png.channels, png.depth], [3, 8]);
  return { width: png.width, height: png.height, channels: 3, data: png.data as Uint8Array };
}

Deno.test({
  name:
    "fundus preset equals reference/fundus_preprocess.py on all 40 DRIVE photos (and 2 other settings)",
  ignore: !drive,
  async fn() {
    assertEquals(ref.images.length, 42);
    for (const row of ref.images) {
      const img = await readRgb(row.file);
      const params = { channel: "green", clipLimit: row.clipLimit, tiles: row.tiles };
      const u8 = clahe(
        { width: img.width, height: img.height, data: greenPlane(img) },
        row.clipLimit,
        row.tiles,
      ).data;
      let sum = 0;
      for (const v of u8) sum += v;
      assertEquals(sum, row.sum_u8, `${row.file} CLAHE sum`);
      assertEquals(await sha256(new Uint8Array(u8)), row.sha256_u8, `${row.file} CLAHE plane`);
      const out = fundusVessels(img, {}, params);
      assertEquals([out.width, out.height, out.channels], [565, 584, 1]);
      const bytes = new Uint8Array(out.tensor.buffer as ArrayBuffer);
      assertEquals(await sha256(bytes), row.sha256_f32, `${row.file} tensor`);
    }
  },
});

Deno.test("fundus preset: defaults are the shipped parameters; bad parameters are typed errors", () => {
  const img: Image = { width: 16, height: 16, channels: 3, data: new Uint8Array(16 * 16 * 3) };
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 251;
  const a = fundusVessels(img, {}, {});
  const b = fundusVessels(img, {}, ref.params);
  assertEquals(a.tensor, b.tensor);
  assertThrows(() => fundusVessels(img, {}, { channel: "red" }), InvalidInputError, "channel");
  assertThrows(() => fundusVessels(img, {}, { tiles: 0 }), InvalidInputError, "tiles");
  assertThrows(() => fundusVessels(img, {}, { clipLimit: "2" }), InvalidInputError, "clipLimit");
  assertThrows(
    () => fundusVessels({ ...img, data: new Uint8Array(10) }, {}, {}),
    InvalidInputError,
    "samples",
  );
});

Deno.test("fundus greenPlane: green of RGB, grey as is, 16-bit and float scaled to 8 bits", () => {
  assertEquals(
    greenPlane({ width: 2, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3, 4, 5, 6) }),
    Uint8Array.of(2, 5),
  );
  assertEquals(
    greenPlane({ width: 2, height: 1, channels: 1, data: Uint8Array.of(7, 8) }),
    Uint8Array.of(7, 8),
  );
  assertEquals(
    greenPlane({ width: 3, height: 1, channels: 1, data: Uint16Array.of(0, 257 * 100, 65535) }),
    Uint8Array.of(0, 100, 255),
  );
  assertEquals(
    greenPlane({ width: 3, height: 1, channels: 1, data: Float32Array.of(-1, 0, 1) }),
    Uint8Array.of(0, 128, 255),
  );
  const flat = greenPlane({ width: 2, height: 1, channels: 1, data: Float32Array.of(3, 3) });
  assert(flat.every((v) => v === 0));
});

const testPhoto = dataFile("drive/png/test/images/01_test.png");

Deno.test({
  name:
    "shipped fundus-vessels model + preset on DRIVE test 01 gives the card's F1 (FOV, 1st observer)",
  ignore: !testPhoto,
  async fn() {
    const { loadModel } = await import("../../lib/models/load.ts");
    const { segmentImage, thresholdProbs: threshold } = await import("../../lib/models/infer.ts");
    const { getPreset } = await import("../../lib/pipelines/presets.ts");
    const root = new URL("../../models", import.meta.url).pathname;
    const loaded = await loadModel("fundus-vessels", { root });
    const card = loaded.card;
    assertEquals(card.preprocess?.preset, "fundus-vessels");
    const img = await readRgb("png/test/images/01_test.png");
    const x = (await getPreset("fundus-vessels"))(img, {}, card.preprocess?.params ?? {});
    const { probs, plan } = await segmentImage(loaded, x);
    assertEquals(plan.fit, "pad");
    const mask = threshold(probs, card.threshold);
    const manual = decodePng(
      await Deno.readFile(dataFile("drive/png/test/1st_manual/01_manual1.png")!),
    );
    const fov = decodePng(await Deno.readFile(dataFile("drive/png/test/mask/01_test_mask.png")!));
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < mask.length; i++) {
      if (fov.data[i] < 128) continue;
      const vessel = manual.data[i] >= 128;
      if (mask[i] && vessel) tp++;
      else if (mask[i]) fp++;
      else if (vessel) fn++;
    }
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    const reported = (card.metrics as { per_image_f1: Record<string, number> }).per_image_f1;
    assert(
      Math.abs(f1 - reported["01_test"]) < 0.002,
      `F1 on 01_test ${f1.toFixed(4)}, card says ${reported["01_test"]}`,
    );
    assert(f1 > 0.8, `F1 on 01_test ${f1.toFixed(4)}`);
  },
});
