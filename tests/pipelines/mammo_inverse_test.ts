/**
 * mammo's recorded geometry maps back on real data: a CBIS-DDSM ROI mask, preprocessed with its
 * mammogram's transform (crop, the mammogram's lr flip, pad to the square), goes back onto the
 * original through `mapBack` over the run's record, equal to the ROI inside the crop box and 0
 * outside; `inverseTransform` gives the same pixels.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeImage, maskFromImage } from "../../lib/decode/mod.ts";
import { inverseTransform, mammoPreprocess, maskPreprocess } from "../../lib/pipelines/mammo.ts";
import { mapBack } from "../../lib/pipelines/steps.ts";
import { dataFile } from "../_data.ts";

const cases = [
  ["Mass-Test_P_00016_LEFT_CC.full.png", "Mass-Test_P_00016_LEFT_CC_1.roi-box.png"],
  ["Mass-Test_P_00116_RIGHT_MLO.full.png", "Mass-Test_P_00116_RIGHT_MLO_1.roi-box.png"],
].map(([full, roi]) => [dataFile(`cbis-ddsm/${full}`), dataFile(`cbis-ddsm/${roi}`)]);

Deno.test({
  name: "mammo: a real CBIS-DDSM ROI mask maps back from the square onto the original mammogram",
  ignore: cases.some(([a, b]) => !a || !b),
  async fn() {
    const flips: boolean[] = [];
    for (const [fullPath, roiPath] of cases) {
      const { image } = await decodeImage(await Deno.readFile(fullPath!));
      const roi = maskFromImage((await decodeImage(await Deno.readFile(roiPath!))).image);
      const { width, height } = image;
      assertEquals(roi.length, width * height, "the ROI has its mammogram's size");
      const r = mammoPreprocess(image);
      flips.push(r.lrFlip);
      assertEquals(
        r.geometry.map((g) => g.kind),
        r.lrFlip ? ["crop", "flip", "pad"] : ["crop", "pad"],
      );
      const { mask, square, geometry } = maskPreprocess([roi], width, height, r.lrFlip);
      assertEquals(square, r.square);
      assertEquals(geometry, r.geometry, "the mask pipeline records the mammogram's steps");
      const back = mapBack(r.geometry, { width: square, height: square, data: mask });
      assertEquals([back.width, back.height], [width, height]);
      const { x0, y0, x1, y1 } = r.crop;
      let inside = 0, roiInside = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = y * width + x;
          if (x >= x0 && x < x1 && y >= y0 && y < y1) {
            if (back.data[i] !== roi[i]) {
              throw new Error(`(${x}, ${y}): ${back.data[i]} back, ${roi[i]} in the ROI`);
            }
            inside++;
            if (roi[i]) roiInside++;
          } else if (back.data[i] !== 0) throw new Error(`(${x}, ${y}) outside the crop is not 0`);
        }
      }
      assert(roiInside > 1000, `the ROI lies inside the crop box (${roiInside} pixels)`);
      assertEquals(inside, (x1 - x0) * (y1 - y0));
      assertEquals(inverseTransform(r.transform, mask), back.data);
    }
    assertEquals(flips, [true, true], "both are right-facing breasts flipped by the seed");
  },
});
