/**
 * The ct-liver preset (lib/pipelines/ct.ts) against seed 003's preprocessing in Python
 * (reference/seed003_ct_liver.py: pydicom HU, transform_ctdata, cv2 CLAHE) on real 3D-IRCADb
 * slices, computed at test time (IRCADb derivatives are never committed). Skipped without the data
 * or without /usr/bin/python3 with pydicom and cv2.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { ctLiver, ctWindow } from "../../lib/pipelines/ct.ts";
import { dataFile } from "../_data.ts";

const slices = [40, 80, 120].map((n) =>
  dataFile(`ircadb-liver/subset/3Dircadb1.1/PATIENT_DICOM/image_${n}`)
);

async function pythonReference(paths: string[]): Promise<Uint8Array[] | undefined> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [new URL("../../reference/seed003_ct_liver.py", import.meta.url).pathname, ...paths],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.log(`skipping: the Python reference failed: ${new TextDecoder().decode(out.stderr)}`);
      return undefined;
    }
    return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) =>
      Uint8Array.from(atob(JSON.parse(line).data), (c) => c.charCodeAt(0))
    );
  } catch (err) {
    console.log(`skipping: /usr/bin/python3 did not run: ${(err as Error).message}`);
    return undefined;
  }
}

Deno.test("ctWindow: the seed's window, truncated to uint8", () => {
  assertEquals([...ctWindow(Float32Array.of(-100, -99, 149.9, 150, 400, 1000), 500, 150)], [
    0,
    0,
    127,
    127,
    255,
    255,
  ]);
});

Deno.test({
  name: "ct-liver preset: equal to seed 003's Python on real IRCADb slices",
  ignore: slices.some((s) => !s),
  async fn() {
    const ref = await pythonReference(slices as string[]);
    if (!ref) return;
    for (const [i, path] of (slices as string[]).entries()) {
      const { image } = await decodeDicom(await Deno.readFile(path));
      assert(image.data instanceof Int16Array, "IRCADb CT decodes to int16 HU");
      const out = ctLiver(image, {}, {});
      assertEquals([out.width, out.height, out.channels], [512, 512, 1]);
      let diff = 0;
      for (let p = 0; p < out.tensor.length; p++) {
        if (Math.round(out.tensor[p] * 255) !== ref[i][p]) diff++;
      }
      assertEquals(diff, 0, `${path}: ${diff} pixels differ`);
    }
  },
});
