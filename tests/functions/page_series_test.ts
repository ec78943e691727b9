/**
 * The page's DICOM series panel in chromium (issue 17): a folder of three synthetic 32x32 CT
 * instances (made here with tests/dicom/_series_fixtures.ts synthCt, named so that their natural
 * order is not their order along the slice normal) is chosen as a folder, segmented by the
 * `sigmoid` fixture model as `coded` (its card colours label 1), stepped to slice 2 with the arrow
 * keys; the overlay pixels there are the route's labels in the card's colour over the right
 * instance, the numbers are the route's, and the SEG button saves a DICOM file. Skipped, with the
 * reason printed, where /usr/bin/chromium is absent.
 */
/// <reference lib="dom" />
import { assert, assertEquals } from "@std/assert";
import { zipSync } from "fflate";
import { readNifti } from "../../lib/nifti/mod.ts";
import { synthCt } from "../dicom/_series_fixtures.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";
import { hasChromium, type Json, launchChromium } from "./_chromium.ts";

const LABEL_RGB = [0, 200, 255];

/**
 * The `sigmoid` fixture as model `coded`, its card giving label 1 a name and a colour, and a
 * threshold of 0.45: int16 samples are scaled by 1 / 65535, so the sigmoid of (30000 / 65535 - 0.5)
 * is 0.49 (foreground), of (300 / 65535 - 0.5) 0.38.
 */
async function codedModel(root: string): Promise<void> {
  const dir = `${root}/coded`;
  await Deno.mkdir(dir, { recursive: true });
  for (const f of Deno.readDirSync(`${root}/sigmoid`)) {
    await Deno.copyFile(`${root}/sigmoid/${f.name}`, `${dir}/${f.name}`);
  }
  const card = JSON.parse(await Deno.readTextFile(`${dir}/card.json`));
  const segment = {
    label: 1,
    name: "bright square",
    category: { value: "91723000", scheme: "SCT", meaning: "Anatomical Structure" },
    type: { value: "10200004", scheme: "SCT", meaning: "Liver" },
    rgb: LABEL_RGB,
  };
  await Deno.writeTextFile(
    `${dir}/card.json`,
    JSON.stringify({ ...card, name: "coded", threshold: 0.45, segments: [segment] }),
  );
}

/**
 * Three slices 2.5 mm apart: stored 100, 200, 300 (by z) with a square of 30000 (the model's
 * foreground) of side 4, 6 and 8 at a place of its own. File names by z: image_2, image_10,
 * image_1 (natural order: 1, 2, 10).
 */
function series(): { name: string; bytes: Uint8Array; z: number }[] {
  const names = ["image_2", "image_10", "image_1"];
  return names.map((name, z) => {
    const values = new Int16Array(32 * 32).fill(100 * (z + 1));
    const side = 4 + 2 * z, at = 3 + 6 * z;
    for (let y = at; y < at + side; y++) {
      for (let x = at + 2; x < at + 2 + side; x++) values[y * 32 + x] = 30000;
    }
    const bytes = synthCt({
      rows: 32,
      columns: 32,
      values,
      position: [-10, -20, 2.5 * z - 5],
      // InstanceNumber in the names' order, not the positions': the service orders by position.
      instanceNumber: Number(name.slice(6)),
      spacing: [0.5, 0.5],
      sopInstanceUID: `2.25.77${z}`,
    });
    return { name, bytes, z };
  });
}

Deno.test({
  name: "the page in chromium: a DICOM series folder -> slices with the labels, stepping, SEG",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await makeModelsRoot();
    await codedModel(root);
    // put back after: the test files share one process, and page_test (next) reads the shipped models/
    const before = Deno.env.get("MEDIMG_MODELS_DIR");
    Deno.env.set("MEDIMG_MODELS_DIR", root);
    const { app } = await import("../../functions/main.ts");
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-page-series-" });
    const folder = `${dir}/CT series`;
    await Deno.mkdir(folder);
    const slices = series();
    for (const s of slices) await Deno.writeFile(`${folder}/${s.name}`, s.bytes);

    // What the route answers for the same instances: the numbers and the label volume.
    const form = () => {
      const f = new FormData();
      for (const s of slices) f.append("instance", new File([s.bytes as BlobPart], s.name));
      return f;
    };
    const post = (format: string) =>
      Promise.resolve(app.request(`/segment/series?model=coded&format=${format}`, {
        method: "POST",
        body: form(),
      }));
    const numbers = await (await post("json")).json();
    const want = await readNifti(new Uint8Array(await (await post("nifti")).arrayBuffer()));
    const labelsAt = (z: number) => [...want.data.subarray(z * 1024, (z + 1) * 1024)];
    assertEquals(numbers.series.ordering, "position");
    for (const z of [0, 1, 2]) {
      assertEquals(labelsAt(z).filter(Boolean).length, (4 + 2 * z) ** 2, `slice ${z} labelled`);
    }

    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    const browser = await launchChromium();
    const page = browser.tab;
    try {
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      await page.waitForFunction(
        () =>
          !document.querySelector("#series-model")?.hasAttribute("disabled") &&
          !document.querySelector<HTMLElement>('[data-fn="series"]')!.hidden,
        undefined,
        "the series function and its models",
      );
      // A folder dropped: read through its entries (webkitGetAsEntry), recursively, in natural
      // order. DevTools cannot drop a folder, so the drop carries entries made in the page.
      await page.evaluate(() => {
        const file = (path: string) => ({
          isFile: true,
          isDirectory: false,
          fullPath: `/${path}`,
          file: (ok: (f: File) => void) => ok(new File(["x"], path.split("/").pop()!)),
        });
        const dir = (path: string, children: unknown[]) => ({
          isFile: false,
          isDirectory: true,
          fullPath: `/${path}`,
          createReader() {
            let read = false;
            return {
              readEntries(ok: (e: unknown[]) => void) {
                const batch = read ? [] : children;
                read = true;
                setTimeout(() => ok(batch), 0);
              },
            };
          },
        });
        const root = dir("scan", [
          file("scan/image_10"),
          dir("scan/sub", [file("scan/sub/image_0")]),
          file("scan/image_9"),
        ]);
        const drop = new Event("drop", { bubbles: true, cancelable: true });
        Object.defineProperty(drop, "dataTransfer", {
          value: { items: [{ kind: "file", webkitGetAsEntry: () => root }], files: [] },
        });
        document.querySelector("#drop")!.dispatchEvent(drop);
      });
      await page.waitForFunction(() => document.querySelectorAll("#file-list li").length === 3);
      assertEquals(
        await page.evaluate(() =>
          [...document.querySelectorAll("#file-list li")].map((li) =>
            li.textContent!.split(" — ")[0]
          )
        ),
        ["scan/image_9", "scan/image_10", "scan/sub/image_0"],
      );

      // The folder, as the folder chooser gives it: every file, listed in natural order.
      // DevTools gives a webkitdirectory input the folder itself, as the folder picker does.
      await page.setInputFiles("#folder", folder);
      await page.waitForFunction(() =>
        document.querySelector("#file-list")?.textContent?.startsWith("CT series/")
      );
      const listed = await page.evaluate(() =>
        [...document.querySelectorAll("#file-list li")].map((li) => li.textContent!.split(" — ")[0])
      );
      assertEquals(listed.map((p) => p.split("/").pop()), ["image_1", "image_2", "image_10"]);
      assert(
        await page.$eval('input[value="series"]', (el) => el.checked),
        "several DICOM files suggest the series function",
      );
      // A series runs a 2D model on every slice: it is offered what slice segmentation is.
      const options = (sel: string) =>
        page.evaluate(
          (s) =>
            [...document.querySelectorAll<HTMLOptionElement>(`${s} option`)].map((o) => o.value),
          sel,
        );
      const offered = await options("#series-model");
      assertEquals(offered, await options("#slice-model"));
      assert(offered.includes("coded") && offered.includes("sigmoid"), `offered ${offered}`);
      await page.fill("#series-model", "coded");
      await page.click("#run");
      await page.waitForFunction(
        () =>
          ["done", "error"].includes(
            document.querySelector<HTMLElement>("#results")!.dataset.state!,
          ),
        undefined,
        "the result",
      );
      assertEquals(
        await page.getAttribute("#results", "data-state"),
        "done",
        await page.textContent("#error"),
      );
      // It opens on the slice with the most labelled pixels, the third.
      await page.waitForFunction(() =>
        document.querySelector<HTMLCanvasElement>("#series-canvas")?.dataset.slice === "2"
      );

      // Step to slice 2 with the arrow key (the focus on no control), the labels fully opaque.
      await page.evaluate(() => (document.activeElement as HTMLElement)?.blur());
      for (const type of ["keyDown", "keyUp"]) {
        await page.send("Input.dispatchKeyEvent", {
          type,
          key: "ArrowLeft",
          code: "ArrowLeft",
          windowsVirtualKeyCode: 37,
        });
      }
      await page.waitForFunction(() =>
        document.querySelector<HTMLCanvasElement>("#series-canvas")?.dataset.slice === "1"
      );
      assertEquals(await page.$eval("#series-slice", (el) => el.value), "1");
      assertEquals(await page.$eval("#series-slice-number", (el) => el.value), "2");
      assertEquals(
        await page.$eval("#series-canvas", (el) => el.dataset.instance),
        "CT series/image_10",
        "slice 2 (z = -2.5 mm) is image_10's picture, not the second listed",
      );
      await page.fill("#series-alpha", "100");
      const rgba = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>("#series-canvas")!;
        return [...c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data];
      }) as number[];
      const labels = labelsAt(1);
      let coloured = 0;
      for (let i = 0; i < 1024; i++) {
        const px = rgba.slice(i * 4, i * 4 + 3);
        if (labels[i]) {
          assertEquals(px, LABEL_RGB, `pixel ${i} is labelled: the card's colour`);
          coloured++;
        } else assert(px[0] === px[1] && px[1] === px[2], `pixel ${i}: grey, ${px}`);
      }
      assertEquals(coloured, 36);
      // The window is the abdomen's (W400 L50): image_10's 200 is bright, not white.
      const grey = rgba[0];
      assert(grey > 150 && grey < 255, `background grey ${grey}`);

      // The page let the job go once it had its answer: it holds no place in the queue.
      const caption = await page.evaluate(() =>
        [...document.querySelectorAll("#results caption")].map((c) => c.textContent)
          .find((t) => t?.includes("/jobs/"))
      );
      const id = caption?.match(/\/jobs\/([0-9a-f-]+)\/result/)?.[1];
      assert(id, `a job's result was fetched: ${caption}`);
      const gone = await app.request(`/segment/series/jobs/${id}?format=json`);
      assertEquals(gone.status, 404, await gone.text());

      // The numbers are the route's: the slice's area, the label's volume.
      const s1 = numbers.slices.find((s: Json) => s.z === 1);
      assertEquals(
        await page.textContent("#series-slice-area"),
        `labelled: ${s1.pixels} px, ${s1.mm2.toFixed(1)} mm²`,
      );
      const { voxels, ml } = numbers.volumes["1"];
      const row = await page.evaluate(() =>
        [...document.querySelectorAll("#results .labels-table tr")].map((r) => r.textContent)
      );
      assertEquals(row, [`1 bright square${voxels} voxels, ${ml.toFixed(2)} mL`]);
      const areas = await page.evaluate(() => {
        const table = [...document.querySelectorAll("#results table")]
          .find((t) => t.querySelector("caption")?.textContent?.startsWith("Area per slice"));
        return [...table!.querySelectorAll("tr")].map((r) => r.textContent);
      });
      assertEquals(
        areas,
        numbers.slices.filter((s: Json) => s.pixels > 0).map((s: Json) =>
          `slice ${s.z + 1}${s.pixels} px, ${s.mm2.toFixed(1)} mm²`
        ),
      );

      // The SEG, made on request and saved; the NIfTI saved from the run holds the route's labels.
      await page.click("#series-seg");
      await page.waitForFunction(() =>
        [...document.querySelectorAll("#results .downloads a")]
          .some((a) => a.textContent === "segmentation (DICOM SEG)")
      );
      const links = await page.downloads();
      assertEquals(links.map(([name]) => name), [
        "CT_series_coded_labels.nii.gz",
        "CT_series_coded.json",
        "CT_series_coded_seg.dcm",
      ]);
      const seg = Uint8Array.from(atob(links[2][2]), (c) => c.charCodeAt(0));
      assertEquals(new TextDecoder().decode(seg.subarray(128, 132)), "DICM");
      const nii = Uint8Array.from(atob(links[0][2]), (c) => c.charCodeAt(0));
      assertEquals([...(await readNifti(nii)).data], [...want.data]);

      // The same series as a zip: sent as it is, its entries read in the page for the pictures.
      const zip = zipSync(Object.fromEntries(slices.map((s) => [`CT series/${s.name}`, s.bytes])));
      await page.evaluate(([b64]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], "ct.zip"));
        const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
        document.querySelector("#drop")!.dispatchEvent(drop);
      }, [btoa(String.fromCharCode(...zip))]);
      await page.waitForFunction(() =>
        document.querySelector("#file-list")?.textContent?.startsWith("ct.zip — zip")
      );
      await page.click("#run");
      await page.waitForFunction(() =>
        document.querySelector<HTMLCanvasElement>("#series-canvas")?.dataset.instance ===
          "ct.zip/CT series/image_1"
      );
      assertEquals(await page.getAttribute("#results", "data-state"), "done");
      assertEquals(
        await page.evaluate(() => document.querySelector("#results .labels-table td")?.textContent),
        `${voxels} voxels, ${ml.toFixed(2)} mL`,
      );
      assertEquals((await page.downloads())[0][0], "ct_coded_labels.nii.gz");
      assertEquals(page.errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(root, { recursive: true });
      if (before === undefined) Deno.env.delete("MEDIMG_MODELS_DIR");
      else Deno.env.set("MEDIMG_MODELS_DIR", before);
    }
  },
});
