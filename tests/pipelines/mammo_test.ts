/**
 * The mammo pipeline against the seed's pipeline run by Debian's python3-opencv
 * (reference/seed000_mammo.py) on the same real images: CBIS-DDSM full mammograms (8-bit, and as
 * 16-bit x257), the three CBIS-DDSM 16-bit DICOM crops (lib/dicom here, pydicom there), the six
 * DDSM tissue images, and a synthetic 16-bit 3000x5000 with a bright border and a label artefact.
 * Same lr_flip, crop and breast box; breast mask equal on >= 99.9% of pixels; CLAHE within 1 grey
 * level on >= 99.5% (the bar; it is in fact identical, which is asserted too); the padded,
 * stretched square and the mask pipeline identical.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { InvalidInputError } from "../../lib/errors.ts";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { decodePng, encodeImagePng } from "../../lib/image/png.ts";
import {
  cropBox,
  inverseTransform,
  mammoPreprocess,
  maskPreprocess,
} from "../../lib/pipelines/mammo.ts";
import { dataFile } from "../_data.ts";

const cbis = dataFile("cbis-ddsm/Mass-Test_P_00016_LEFT_CC.full.png");
const opencv = (() => {
  try {
    return new Deno.Command("/usr/bin/python3", { args: ["-c", "import cv2"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!opencv) {
  console.log(
    "skipping mammo parity tests: /usr/bin/python3 with cv2 (Debian python3-opencv) not found",
  );
}

function synthetic(): { width: number; height: number; data: Uint16Array } {
  // A 16-bit portrait "breast" on the right, a bright border and a bright label in a corner.
  const width = 3000, height = 5000, data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x - width) / 2200, dy = (y - height / 2) / 2300;
      const r = dx * dx + dy * dy;
      let v = r < 1 ? 12000 + 30000 * (1 - r) + ((x * 7 + y * 13) % 997) * 9 : 300 + ((x + y) % 50);
      if (x < 20 || y < 40 || x >= width - 20 || y >= height - 40) v = 65535;
      if (x > 300 && x < 700 && y > 400 && y < 600) v = 60000;
      data[y * width + x] = v;
    }
  }
  return { width, height, data };
}

Deno.test({
  name: "mammo parity with the seed's OpenCV pipeline on real and synthetic mammograms",
  ignore: !cbis || !opencv,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const inputs: {
        name: string;
        width: number;
        height: number;
        data: Uint8Array | Uint16Array;
      }[] = [];
      const paths = [
        ...["Mass-Test_P_00016_LEFT_CC.full.png", "Mass-Test_P_00116_RIGHT_MLO.full.png"].map((f) =>
          dataFile(`cbis-ddsm/${f}`)!
        ),
        ...[...Deno.readDirSync(dataFile("ddsm-tissue-seg/images")!)].map((e) =>
          `${dataFile("ddsm-tissue-seg/images")}/${e.name}`
        ).sort(),
      ];
      for (const p of paths) {
        const png = decodePng(await Deno.readFile(p));
        inputs.push({
          name: p.split("/").pop()!.replace(/\.png$/, ""),
          width: png.width,
          height: png.height,
          data: png.data as Uint8Array,
        });
      }
      for (const src of inputs.slice(0, 2)) {
        inputs.push({
          ...src,
          name: `${src.name}.x257`,
          data: Uint16Array.from(src.data, (v) => v * 257),
        });
      }
      inputs.push({ name: "synthetic16", ...synthetic() });
      const files: string[] = [];
      for (const i of inputs) {
        const f = `${dir}/${i.name}.png`;
        await Deno.writeFile(f, await encodeImagePng(i.data, i.width, i.height));
        files.push(f);
      }
      // The CBIS-DDSM DICOM crops go to pydicom as they are.
      const dicoms = [...Deno.readDirSync(dataFile("cbis-ddsm")!)].map((e) => e.name)
        .filter((f) => f.endsWith(".dcm")).sort();
      assertEquals(dicoms.length, 3, "the three CBIS-DDSM DICOM crops");
      for (const f of dicoms) {
        const path = `${dataFile("cbis-ddsm")}/${f}`;
        const { image } = await decodeDicom(await Deno.readFile(path));
        assert(image.data instanceof Uint16Array, `${f}: 16-bit`);
        inputs.push({ name: f.replace(/\.dcm$/, ""), ...image, data: image.data });
        files.push(path);
      }
      const out = await new Deno.Command("/usr/bin/python3", {
        args: [
          new URL("../../reference/seed000_mammo.py", import.meta.url).pathname,
          dir,
          ...files,
        ],
        stdout: "piped",
      }).output();
      assert(out.success, "the OpenCV reference ran");
      const refs = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      for (const [k, i] of inputs.entries()) {
        const ref = refs[k];
        const r = mammoPreprocess(i, {}, true);
        assertEquals(r.lrFlip, ref.lr_flip, `${i.name}: lr_flip`);
        assertEquals([r.crop.x0, r.crop.y0, r.crop.x1, r.crop.y1], ref.crop, `${i.name}: crop`);
        assertEquals(r.square, ref.square, `${i.name}: square`);
        const refMask = decodePng(await Deno.readFile(`${dir}/${i.name}.mask.png`)).data;
        const refClahe = decodePng(await Deno.readFile(`${dir}/${i.name}.clahe.png`)).data;
        const w = r.crop.x1 - r.crop.x0, h = r.crop.y1 - r.crop.y0, n = w * h;
        let maskSame = 0, within1 = 0, same = 0;
        const ours = r.stages!.find((s) => s.name === "clahe")!.data;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            if (r.breastMask[y * r.square + x] === refMask[y * w + (r.lrFlip ? w - 1 - x : x)]) {
              maskSame++;
            }
          }
        }
        for (let j = 0; j < n; j++) {
          const d = Math.abs(ours[j] - refClahe[j]);
          if (d <= 1) within1++;
          if (d === 0) same++;
        }
        assert(
          maskSame / n >= 0.999,
          `${i.name}: breast mask equal on ${(100 * maskSame / n).toFixed(3)}%`,
        );
        assert(
          within1 / n >= 0.995,
          `${i.name}: CLAHE within 1 on ${(100 * within1 / n).toFixed(3)}%`,
        );
        assertEquals(same, n, `${i.name}: CLAHE identical on ${(100 * same / n).toFixed(3)}%`);
        // Step 6 and the last min-max: the square image, pixel for pixel.
        const refSquare = decodePng(await Deno.readFile(`${dir}/${i.name}.square.png`)).data;
        assertEquals(r.image, refSquare as Uint8Array, `${i.name}: square image`);
        // The breast box, in output coordinates (the reference gives it before the flip).
        const b = ref.bbox;
        assertEquals(
          r.breastBox && [r.breastBox.x0, r.breastBox.y0, r.breastBox.x1, r.breastBox.y1],
          b && (r.lrFlip ? [w - 1 - b[2], b[1], w - 1 - b[0], b[3]] : b),
          `${i.name}: breast box`,
        );
        // The mask pipeline on the (uncropped) breast mask equals OpenCV's, pixel for pixel.
        const full = inverseTransform(r.transform, r.breastMask);
        const m = maskPreprocess([full], i.width, i.height, r.lrFlip);
        const refPipe = decodePng(await Deno.readFile(`${dir}/${i.name}.mask_pipeline.png`)).data;
        assertEquals(m.mask, refPipe as Uint8Array, `${i.name}: mask pipeline`);
        console.log(
          `| ${i.name} | ${i.width}x${i.height} | flip ${r.lrFlip} | mask ${
            (100 * maskSame / n).toFixed(3)
          }% | CLAHE within 1: ${(100 * within1 / n).toFixed(3)}%, identical: ${
            (100 * same / n).toFixed(3)
          }% |`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("cropBox truncates as the seed's int(n * f)", () => {
  assertEquals(cropBox(1846, 4006), { x0: 18, x1: 1827, y0: 160, y1: 3845 });
  assertEquals(
    cropBox(100, 100, {
      cropLeft: 0,
      cropRight: 0,
      cropTop: 0,
      cropBottom: 0,
      threshold: 0.1,
      kernel: 23,
      clipLimit: 2,
      tiles: 8,
    }),
    { x0: 0, x1: 100, y0: 0, y1: 100 },
  );
});

Deno.test("inverseTransform puts an output mask back where it came from, flipped back", () => {
  const width = 200, height = 300, data = new Uint8Array(width * height);
  for (let y = 50; y < 250; y++) for (let x = 120; x < 200; x++) data[y * width + x] = 200; // breast on the right
  const r = mammoPreprocess({ width, height, data });
  assertEquals(r.lrFlip, true);
  const back = inverseTransform(r.transform, r.breastMask);
  assertEquals(back[100 * width + 150], 1);
  assertEquals(back[100 * width + 50], 0);
});

Deno.test("integer and float inputs of the same image give the same output (value tables vs per-pixel maths)", () => {
  // Values fall to the right and downwards and the mask covers all but a dark corner, so the
  // first masked pixel in scan order holds the maximum.
  const width = 120, height = 160, u16 = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) u16[y * width + x] = 60000 - x * 100 - y * 300;
  }
  const a = mammoPreprocess({ width, height, data: u16 }, {}, true);
  const b = mammoPreprocess({ width, height, data: Float32Array.from(u16) });
  assertEquals(a.image, b.image);
  assertEquals(a.lrFlip, false);
  // The brightest breast pixel scales to exactly 255 before CLAHE (a wrong maximum overflows).
  const { x0, y0, x1, y1 } = a.crop;
  let best = -1, at = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (u16[y * width + x] > best) {
        [best, at] = [u16[y * width + x], (y - y0) * (x1 - x0) + (x - x0)];
      }
    }
  }
  assertEquals(a.stages!.find((st) => st.name === "flip")!.data[at], 255);
});

Deno.test("a square crop has no padding: the last min-max scans the image and stretches it", () => {
  // 100x107 crops to 98x98. A dim breast on the left with a gradient, so CLAHE's output does not
  // reach 0 and 255 by itself.
  const width = 100, height = 107, data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = x < 70 ? 20000 + x * 50 + y * 20 : 100;
  }
  const r = mammoPreprocess({ width, height, data }, {}, true);
  assertEquals(r.square, 98);
  const c = r.stages!.find((st) => st.name === "clahe")!.data;
  let lo = 255, hi = 0;
  for (const v of c) lo = Math.min(lo, v), hi = Math.max(hi, v);
  assert(lo > 0 || hi < 255, `CLAHE output already spans ${lo}..${hi}`);
  assertEquals(r.image, Uint8Array.from(c, (v) => Math.round((v - lo) * (255 / (hi - lo)))));
});

Deno.test("bad parameters and sizes are 422s with the reason", () => {
  const img = { width: 50, height: 50, data: new Uint8Array(2500) };
  assertThrows(
    () => mammoPreprocess(img, { kernel: 0 }),
    InvalidInputError,
    "kernel must be an integer from 1 to 255",
  );
  assertThrows(
    () => mammoPreprocess(img, { cropLeft: 0.6 }),
    InvalidInputError,
    "cropLeft must be in [0, 0.5)",
  );
  assertThrows(
    () => mammoPreprocess({ width: 2, height: 2, data: new Uint8Array(4) }),
    InvalidInputError,
    "too small",
  );
  assertThrows(
    () => maskPreprocess([new Uint8Array(10)], 50, 50, false),
    InvalidInputError,
    "expected 50x50",
  );
});
