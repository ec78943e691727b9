/**
 * lib/pipelines/slice.ts on real data: the fit's recorded geometric steps map the model's answer
 * back onto a DRIVE photo (resize for a fixed-size model, pad for a fully convolutional one), the
 * steps run in order with the budget checked between them, and the result is the one
 * lib/models segmentImage gives.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { decodeImage } from "../../lib/decode/mod.ts";
import type { Image } from "../../lib/image/image.ts";
import { inferFitted, resizeInput, segmentImage, toMask } from "../../lib/models/infer.ts";
import { loadModel } from "../../lib/models/load.ts";
import { greenPlane } from "../../lib/pipelines/fundus.ts";
import { scalePreset } from "../../lib/pipelines/presets.ts";
import { segmentSlice } from "../../lib/pipelines/slice.ts";
import { mapBack, Steps } from "../../lib/pipelines/steps.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";
import { dataFile } from "../_data.ts";

const photoFile = dataFile("drive/png/test/images/01_test.png");
const root = await makeModelsRoot();

/** DRIVE test photo 01 (565 x 584 RGB) as the grey green plane the fixture models take. */
async function drivePhoto(): Promise<Image> {
  const { image } = await decodeImage(await Deno.readFile(photoFile!));
  assertEquals([image.width, image.height, image.channels], [565, 584, 3]);
  return { width: image.width, height: image.height, channels: 1, data: greenPlane(image) };
}

Deno.test({
  name:
    "segmentSlice: a DRIVE photo through a fixed 32x32 model: the recorded resize maps the answer back",
  ignore: !photoFile,
  async fn() {
    const loaded = await loadModel("fixed32", { root });
    const image = await drivePhoto();
    const r = await segmentSlice(loaded, { image, meta: {} }, { fit: "resize" });
    assertEquals(r.geometry, [{ step: "fit", kind: "resize", from: [565, 584], to: [32, 32] }]);
    assertEquals(r.plan.fit, "resize");
    // The model's answer at its own size, mapped back by the record: the result, at the input's size.
    const x = scalePreset(image, {}, { channels: "grey" });
    const small = await inferFitted(loaded, resizeInput(x, 32, 32), r.plan);
    assertEquals([small.probs.width, small.probs.height], [32, 32]);
    const back = mapBack(r.geometry, small.probs, "bilinear");
    assertEquals([back.width, back.height, r.probs.width, r.probs.height], [565, 584, 565, 584]);
    assertEquals(r.probs.data, back.data);
    assertEquals(r.mask, toMask(back, loaded.card));
    assertEquals(r.mask.length, 565 * 584);
    // The mask at the model's size, mapped back nearest, is the same picture, coarser.
    const smallMask = toMask(small.probs, loaded.card);
    const coarse = mapBack(r.geometry, { width: 32, height: 32, data: smallMask }, "nearest");
    assertEquals([coarse.width, coarse.height], [565, 584]);
    let agree = 0;
    for (let i = 0; i < r.mask.length; i++) agree += coarse.data[i] === r.mask[i] ? 1 : 0;
    assert(agree / r.mask.length > 0.9, `nearest and bilinear map-backs agree on ${agree} pixels`);
    // And it is what segmentImage gave before the steps were split out (behaviour unchanged).
    assertEquals(r.probs.data, (await segmentImage(loaded, x, { fit: "resize" })).probs.data);
  },
});

Deno.test({
  name:
    "segmentSlice: a DRIVE photo through a fully convolutional net: the recorded pad is cropped away",
  ignore: !photoFile,
  async fn() {
    const loaded = await loadModel("unet", { root }); // stride 4
    const image = await drivePhoto();
    const r = await segmentSlice(loaded, { image, meta: {} }, { fit: "pad" });
    assertEquals(r.geometry, [
      { step: "fit", kind: "pad", from: [565, 584], to: [568, 584], at: [0, 0] },
    ]);
    assertEquals([r.probs.width, r.probs.height, r.mask.length], [565, 584, 565 * 584]);
    const x = scalePreset(image, {}, { channels: "grey" });
    assertEquals(r.probs.data, (await segmentImage(loaded, x, { fit: "pad" })).probs.data);
  },
});

Deno.test("segmentSlice: steps in order, each timed; a check that throws stops the run there", async () => {
  const loaded = await loadModel("fixed32", { root });
  const image: Image = {
    width: 40,
    height: 30,
    channels: 1,
    data: Uint8Array.from({ length: 1200 }, (_, i) => (i * 7) & 255),
  };
  const steps = ["preprocess", "fit", "infer", "mapback", "threshold"];
  const done = new Steps();
  await segmentSlice(loaded, { image, meta: {} }, {}, done);
  assertEquals(Object.keys(done.timings), steps);
  for (const stop of steps) {
    const seen: string[] = [];
    const run = new Steps({
      check: (s) => {
        seen.push(s);
        if (s === stop) throw new Error(`budget spent at ${s}`);
      },
    });
    await assertRejects(
      () => segmentSlice(loaded, { image, meta: {} }, {}, run),
      Error,
      `budget spent at ${stop}`,
    );
    assertEquals(seen, steps.slice(0, steps.indexOf(stop) + 1));
  }
});
