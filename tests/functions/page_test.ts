/**
 * The page at `/` (functions/page.ts, page/): served with its media types and cache headers, and
 * used in a real browser: Debian's chromium, headless, driven over the DevTools protocol (a small
 * driver below) against the dev app (functions/main.ts) on a free port. Files from ../shared/data
 * are dropped on the page, the pictures and numbers it shows are checked against the routes' own
 * answers, and screenshots are decoded and checked for content. Browser steps are skipped, with the
 * reason printed, where /usr/bin/chromium or the data is absent.
 */
/// <reference lib="dom" />
import { assert, assertEquals } from "@std/assert";
import { app } from "../../functions/main.ts";
import { decodePng } from "../../lib/image/png.ts";
import { makeModelsRoot } from "../models/_fixtures.ts";
import { dataFile } from "../_data.ts";
import { hasChromium, type Json, launchChromium } from "./_chromium.ts";

const mammoPng = dataFile("ddsm-tissue-seg/images/B_3627_1.RIGHT_MLO.png");
const mammoLabels = dataFile("ddsm-tissue-seg/labels/B_3627_1.RIGHT_MLO_LI.png");
const cxrJpeg = dataFile("cxr-lung-masks/images/16660_1_1.jpg");
// A Target 1 AP film of a 32-year-old woman (the cxr route test's), JPEG baseline DICOM.
const rsnaDicom = dataFile("rsna-pneumonia/00436515-870c-4b36-a041-de91049b9ab4.dcm");
const ctDicom = dataFile("dicom-conformance/CT_small.dcm");
const bratsFlair = dataFile("brats/BraTS2021_00006/BraTS2021_00006_flair.nii.gz");
const bratsSeg = dataFile("brats/BraTS2021_00006/BraTS2021_00006_seg.nii.gz");
const BRATS_CASE = bratsFlair?.replace(/flair\.nii\.gz$/, "");
// 3D-IRCADb CT slice: no extension, stored values are HU (slope 1, intercept 0), window 0/0.
const ircadbCt = dataFile("ircadb-liver/subset/3Dircadb1.1/PATIENT_DICOM/image_60");
const driveImage = dataFile("drive/png/training/images/21_training.png");
const driveTruth = dataFile("drive/png/training/1st_manual/21_manual1.png");
const driveFov = dataFile("drive/png/training/mask/21_training_mask.png");
const driveTif = dataFile("drive/original/training/images/21_training.tif");

/** The HU of an uncompressed 16-bit signed CT slice at (x, y), read from its last bytes. */
function huAt(bytes: Uint8Array, width: number, height: number, x: number, y: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - width * height * 2);
  return v.getInt16((y * width + x) * 2, true);
}

/**
 * How many of two pictures' pixels differ (0 when equal): a count, since a failing deep-equal of
 * two 262,144-byte arrays takes minutes to print.
 */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length, "the same number of pixels");
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** SHA-256 of bytes, hex. */
async function sha(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("GET / serves the page; its assets have their types, ETags and cache headers", async () => {
  const res = await app.request("/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(res.headers.get("cache-control"), "no-cache");
  assert(res.headers.get("content-security-policy")?.includes("default-src 'self'"));
  assert(res.headers.get("server-timing"), "Server-Timing on the page too");
  const html = await res.text();
  const etag = res.headers.get("etag")!;
  assertEquals((await app.request("/", { headers: { "if-none-match": etag } })).status, 304);
  for (const [name, type] of [["page.js", "text/javascript"], ["page.css", "text/css"]]) {
    const url = html.match(new RegExp(`/page/${name.replace(".", "\\.")}\\?v=[0-9a-f]{16}`))?.[0];
    assert(url, `the page names ${name} with its hash`);
    const pinned = await app.request(url);
    assertEquals(pinned.status, 200);
    assertEquals(pinned.headers.get("content-type"), `${type}; charset=utf-8`);
    assertEquals(pinned.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertEquals(pinned.headers.get("x-content-type-options"), "nosniff");
    const body = new Uint8Array(await pinned.arrayBuffer());
    assertEquals(body, await Deno.readFile(new URL(`../../page/${name}`, import.meta.url)));
    assertEquals(`"${url.split("=")[1]}"`, pinned.headers.get("etag"));
    // Another hash (an old page) is answered but revalidated, never cached for a year.
    const stale = await app.request(`/page/${name}?v=0000`);
    assertEquals(stale.headers.get("cache-control"), "no-cache");
    await stale.body?.cancel();
  }
  // The modules page.js imports, by their plain URL: JavaScript (a module script of another type is
  // refused by the browser), an ETag, revalidated.
  for (const name of ["viewer.js", "downloads.js", "models.js"]) {
    const res = await app.request(`/page/${name}`);
    assertEquals(res.status, 200, name);
    assertEquals(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertEquals(res.headers.get("cache-control"), "no-cache");
    assertEquals(
      new Uint8Array(await res.arrayBuffer()),
      await Deno.readFile(new URL(`../../page/${name}`, import.meta.url)),
    );
    const again = await app.request(`/page/${name}`, {
      headers: { "if-none-match": res.headers.get("etag")! },
    });
    assertEquals(again.status, 304);
    assert(html.includes('type="module"'), "page.js is loaded as a module");
  }
  const missing = await app.request("/page/index.html");
  assertEquals(missing.status, 404);
  assertEquals(missing.headers.get("content-type"), "application/problem+json");
  await missing.body?.cancel();
});

/** The project's shipped models/ folder. */
const SHIPPED_MODELS = decodeURIComponent(new URL("../../models", import.meta.url).pathname);

/** Runs `fn` with environment variables set, then puts back what was there. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
}

/** Routes the page should offer: /openapi.json's paths when served, else /health's list. */
async function serverFunctions(): Promise<Set<string>> {
  const spec = await app.request("/openapi.json");
  if (spec.ok) {
    const paths = Object.keys((await spec.json()).paths ?? {});
    const routes: Record<string, string> = {
      rle: "/rle/decode",
      dicom: "/dicom/render",
      mammo: "/mammo/preprocess",
      slice: "/segment/slice",
      cxr: "/cxr/classify",
      volume: "/segment/volume",
    };
    return new Set(Object.keys(routes).filter((id) => paths.includes(routes[id])));
  }
  await spec.body?.cancel();
  return new Set((await (await app.request("/health")).json()).functions);
}

/** Label counts of a gzip NIfTI-1 label map (uint8, little-endian), computed here. */
async function labelCounts(path: string): Promise<Map<number, number>> {
  const stream = (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const v = new DataView(bytes.buffer);
  assertEquals(v.getInt16(70, true), 2, "a uint8 label map");
  const counts = new Map<number, number>();
  for (let i = v.getFloat32(108, true); i < bytes.length; i++) {
    if (bytes[i]) counts.set(bytes[i], (counts.get(bytes[i]) ?? 0) + 1);
  }
  return counts;
}

/** Width and height from a JPEG's start-of-frame segment. */
function jpegSize(b: Uint8Array): [number, number] {
  for (let i = 2; i + 9 < b.length;) {
    const marker = b[i + 1], length = (b[i + 2] << 8) | b[i + 3];
    if (marker >= 0xc0 && marker <= 0xc3) {
      return [(b[i + 7] << 8) | b[i + 8], (b[i + 5] << 8) | b[i + 6]];
    }
    i += 2 + length;
  }
  throw new Error("no start-of-frame segment");
}

/**
 * A small two-input classifier installed as `cxr-pneumonia` under `root` (the name the cxr route
 * runs): image 224x224x1 -> conv `b4` (Grad-CAM's layer) -> global mean, features 6 -> dense, both
 * -> one sigmoid; fixed weights, so every probability is known to the route and the page alike.
 */
async function cxrFixture(root: string): Promise<void> {
  const tf = await import("@tensorflow/tfjs-core");
  const tfl = await import("@tensorflow/tfjs-layers");
  const { setupBackend } = await import("../../lib/models/backend.ts");
  const { fileHandler } = await import("../../lib/models/io.ts");
  await setupBackend("wasm");
  const image = tfl.input({ shape: [224, 224, 1], name: "image" });
  const features = tfl.input({ shape: [6], name: "features" });
  const conv = tfl.layers.conv2d({
    name: "b4",
    filters: 2,
    kernelSize: 8,
    strides: 8,
    activation: "relu",
  })
    .apply(image) as import("@tensorflow/tfjs-layers").SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: "pool" }).apply(conv);
  const f = tfl.layers.dense({ name: "f", units: 2 }).apply(features);
  const joined = tfl.layers.concatenate({ name: "join" }).apply([
    pooled,
    f,
  ] as import("@tensorflow/tfjs-layers").SymbolicTensor[]);
  const out = tfl.layers.dense({ name: "out", units: 1, activation: "sigmoid" }).apply(joined);
  const model = tfl.model({
    inputs: [image, features],
    outputs: out as import("@tensorflow/tfjs-layers").SymbolicTensor,
  });
  model.setWeights(
    model.getWeights().map((w, j) =>
      tf.tensor(
        Float32Array.from({ length: w.size }, (_, i) => Math.cos(i * 1.3 + j) * 0.3),
        w.shape,
      )
    ),
  );
  const dir = `${root}/cxr-pneumonia`;
  await Deno.mkdir(dir, { recursive: true });
  await model.save(fileHandler(dir));
  model.dispose();
  await Deno.writeTextFile(
    `${dir}/card.json`,
    JSON.stringify({
      name: "cxr-pneumonia",
      version: "0.0.1-fixture",
      task: "classification",
      format: "layers",
      not_for: "anything: a test fixture with fixed arbitrary weights",
      inputs: [
        { name: "image", shape: [null, 224, 224, 1], layout: "NHWC", channels: "grey" },
        { name: "features", shape: [null, 6] },
      ],
      output: { activation: "sigmoid", classes: ["negative", "positive"] },
      threshold: 0.5,
      grad_cam_layer: "b4",
    }),
  );
}

/**
 * A tiny 3D U-Net with fixed weights installed as `tiny-brats` under `root` (the volume route's
 * fixture), and the real BraTS case's five files, every 6th voxel in x and y, written beside it.
 */
async function volumeFixture(root: string): Promise<string[]> {
  const { setupBackend } = await import("../../lib/models/backend.ts");
  const { readNifti, writeNifti } = await import("../../lib/nifti/mod.ts");
  const { installTinyBrats } = await import("../models/_fixtures.ts");
  await setupBackend("wasm");
  await installTinyBrats(root);
  const files = [];
  for (const m of ["flair", "t1", "t1ce", "t2", "seg"]) {
    const v = await readNifti(await Deno.readFile(`${BRATS_CASE}${m}.nii.gz`));
    const w = v.width / 6, h = v.height / 6;
    const data = new (v.data.constructor as new (n: number) => typeof v.data)(w * h * v.depth);
    for (let z = 0; z < v.depth; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          data[(z * h + y) * w + x] = v.data[(z * v.height + y * 6) * v.width + x * 6];
        }
      }
    }
    const path = `${root}/case_${m}.nii.gz`;
    await Deno.writeFile(path, await writeNifti(v.header, data, { dims: [w, h, v.depth] }));
    files.push(path);
  }
  return files;
}

/** Checks that a screenshot is a real picture: decodable, and far from one flat colour. */
async function assertNotBlank(path: string) {
  const png = decodePng(await Deno.readFile(path));
  const n = png.width * png.height;
  let sum = 0, sum2 = 0;
  for (let i = 0; i < n; i++) {
    const o = i * png.channels;
    const grey = (png.data[o] + png.data[o + 1] + png.data[o + 2]) / 3;
    sum += grey;
    sum2 += grey * grey;
  }
  const variance = sum2 / n - (sum / n) ** 2;
  assert(png.width >= 800 && png.height >= 600, `${path} is ${png.width}x${png.height}`);
  assert(variance > 100, `${path} looks blank: grey variance ${variance.toFixed(1)}`);
}

Deno.test({
  name: "the page in chromium: drop a file, pick a function, pictures and numbers appear",
  ignore: !hasChromium,
  // The DevTools socket and chromium's stderr stay open across the steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    const browser = await launchChromium();
    const page = browser.tab;

    const open = async () => {
      await page.goto(`${base}/`);
      await page.waitForFunction(
        () => !document.querySelector("#functions-status")?.textContent?.startsWith("Looking"),
        undefined,
        "the function list",
      );
    };
    const run = async (fn: string) => {
      await page.check(`input[name="fn"][value="${fn}"]`);
      await page.click("#run");
      await page.waitForFunction(
        () =>
          ["done", "error"].includes(
            document.querySelector<HTMLElement>("#results")!.dataset.state!,
          ),
        undefined,
        "the result",
      );
      return await page.getAttribute("#results", "data-state");
    };
    /** Picks files in the page's file input and waits until the page has listed them. */
    const chooseFiles = async (files: string | string[]) => {
      const list = typeof files === "string" ? [files] : files;
      await page.setInputFiles("#file", list);
      await page.waitForFunction(
        (n) => document.querySelectorAll("#file-list li").length === n,
        list.length,
        "the chosen files to be listed",
      );
    };
    const errorText = async () => await page.textContent("#error") ?? "";
    const cell = async (caption: string, key: string) =>
      await page.evaluate(([caption, key]) => {
        const table = [...document.querySelectorAll("#results table")]
          .find((t) => t.querySelector("caption")?.textContent?.startsWith(caption));
        const row = [...(table?.querySelectorAll("tr") ?? [])]
          .find((r) => r.querySelector("th")?.textContent === key);
        return row?.querySelector("td")?.textContent ?? null;
      }, [caption, key]);

    try {
      await t.step("functions the server lacks are hidden, every control has a label", async () => {
        await open();
        const have = await serverFunctions();
        for (const fn of ["rle", "dicom", "mammo", "slice", "cxr"]) {
          const hidden = await page.$eval(`[data-fn="${fn}"]`, (el) => (el as HTMLElement).hidden);
          assertEquals(hidden, !have.has(fn), `${fn}: on the server ${have.has(fn)}`);
        }
        const spec = await app.request("/openapi.json");
        await spec.body?.cancel();
        assertEquals(await page.isVisible("#docs-link"), spec.ok);
        const unlabelled = await page.evaluate(() =>
          [...document.querySelectorAll("input, select, textarea")]
            .filter((el) =>
              !(el as HTMLInputElement).labels?.length && !el.getAttribute("aria-label")
            )
            .map((el) => el.id || el.outerHTML)
        );
        assertEquals(unlabelled, []);
      });

      await t.step("RLE text -> mask picture and its area", async () => {
        await open();
        await page.check('input[name="fn"][value="rle"]');
        await page.fill("#rle-text", "5 10 20 30");
        await page.fill("#rle-width", "100");
        await page.fill("#rle-height", "100");
        assertEquals(await run("rle"), "done", await errorText());
        const size = await page.$eval("#results img", (img) => {
          const i = img as HTMLImageElement;
          return [i.naturalWidth, i.naturalHeight];
        });
        assertEquals(size, [100, 100]);
        assertEquals(await cell("Mask", "area"), "40");
        const links = await page.downloads();
        assertEquals(links.map(([name]) => name), ["rle_100x100_mask.png", "rle_100x100.json"]);
        assertEquals(JSON.parse(atob(links[1][2])).area, 40);
        assert(await cell("Server-Timing: /rle/decode", "round trip seen here"));
      });

      await t.step({
        name: "a dropped DICOM -> the rendered frame and its metadata",
        ignore: !ctDicom,
        async fn() {
          await open();
          const bytes = await Deno.readFile(ctDicom!);
          const expected = await (await app.request("/dicom/render?format=json", {
            method: "POST",
            headers: { "content-type": "application/dicom" },
            body: bytes,
          })).json();
          // A real drop event carrying the file, as a user's drag from the desktop.
          await page.evaluate(([b64, name]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
            const drop = new DragEvent("drop", {
              dataTransfer: dt,
              bubbles: true,
              cancelable: true,
            });
            document.querySelector("#drop")!.dispatchEvent(drop);
          }, [btoa(String.fromCharCode(...bytes)), "CT_small.dcm"]);
          await page.waitForFunction(() =>
            document.querySelector("#file-list")?.textContent?.includes("CT_small.dcm — dicom")
          );
          assertEquals(await run("dicom"), "done", await errorText());
          // The frame is now drawn in the windowed view (issue 15, point 10), not an <img>.
          const size = await page.$eval("#dicom-canvas", (c) => {
            const el = c as HTMLCanvasElement;
            return [el.width, el.height];
          });
          assertEquals(size, [expected.width, expected.height]);
          assertEquals(await cell("Metadata", "rows"), String(expected.height));
        },
      });

      await t.step("a file that is no DICOM -> the problem's detail in an alert", async () => {
        await open();
        const bad = new TextEncoder().encode("this is not a DICOM file at all");
        const problem = await (await app.request("/dicom/info", {
          method: "POST",
          headers: { "content-type": "application/dicom" },
          body: bad,
        })).json();
        const badFile = await Deno.makeTempFile({ prefix: "medimg-page-", suffix: "_bad.dcm" });
        await Deno.writeFile(badFile, bad);
        // The page reads the file when it sends it: it stays on disk until the run is over.
        await chooseFiles([badFile]);
        assertEquals(await run("dicom"), "error");
        assert(await page.isVisible('#error[role="alert"]'));
        const text = await errorText();
        assert(text.includes(problem.detail), `${text} lacks ${problem.detail}`);
        assert(text.includes(`(${problem.status})`), text);
        await Deno.remove(badFile);
      });

      await t.step({
        name: "a DDSM mammogram -> the six-stage strip and the numbers; screenshot not blank",
        ignore: !mammoPng,
        async fn() {
          await open();
          const expected = await (await app.request("/mammo/preprocess?format=json", {
            method: "POST",
            headers: { "content-type": "image/png" },
            body: await Deno.readFile(mammoPng!),
          })).json();
          await chooseFiles(mammoPng!);
          assertEquals(await run("mammo"), "done", await errorText());
          const size = await page.$eval("#results img", (img) => {
            const i = img as HTMLImageElement;
            return [i.naturalWidth, i.naturalHeight];
          });
          // 512 px of stages and, since issue 15, the 24 px caption band with their names
          assertEquals(size[1], 512 + 24);
          assert(size[0] > 6 * 200, `six panels side by side, got ${size[0]} wide`);
          assertEquals(await cell("Numbers", "lr_flip"), String(expected.lr_flip));
          assertEquals(await cell("Numbers", "square"), String(expected.square));
          assertEquals(await cell("Numbers", "crop.x1"), String(expected.crop.x1));
          assert(await cell("Server-Timing", "clahe"), "the stages' Server-Timing");
          const links = await page.downloads();
          assertEquals(links.map(([name]) => name), [
            "B_3627_1.RIGHT_MLO_mammo_stages.png",
            "B_3627_1.RIGHT_MLO_mammo.json",
          ]);
          assertEquals(JSON.parse(atob(links[1][2])).crop, expected.crop);
          const shot = "/tmp/medimg-page-mammo.png";
          await page.screenshot(shot);
          await assertNotBlank(shot);
        },
      });

      await t.step({
        // The route takes only grey PNG or DICOM (422 for an RGB PNG): done means a grey PNG went.
        name: "an RGB JPEG for a grey function goes as a grey PNG of the same size",
        ignore: !cxrJpeg,
        async fn() {
          await open();
          const [width, height] = jpegSize(await Deno.readFile(cxrJpeg!));
          await chooseFiles(cxrJpeg!);
          assertEquals(await run("mammo"), "done", await errorText());
          assertEquals(await cell("Numbers", "input.width"), String(width));
          assertEquals(await cell("Numbers", "input.height"), String(height));
        },
      });

      await t.step({
        name: "slice: an image and its ground truth -> mask overlay, area and dice",
        ignore: !mammoPng || !mammoLabels,
        async fn() {
          // The fixture model `sigmoid` (p = sigmoid(v/255 - 0.5)) marks exactly the pixels >= 128.
          const models = await makeModelsRoot();
          await withEnv({ MEDIMG_MODELS_DIR: models }, async () => {
            const [image, truth] = await Promise.all(
              [mammoPng!, mammoLabels!].map((f) => Deno.readFile(f)),
            );
            const form = new FormData();
            form.append("image", new File([image], "image.png", { type: "image/png" }));
            form.append("mask", new File([truth], "truth.png", { type: "image/png" }));
            const expected = await (await app.request("/segment/slice?model=sigmoid&format=json", {
              method: "POST",
              body: form,
            })).json();
            const grey = decodePng(image);
            assertEquals(expected.area.pixels, grey.data.filter((v) => v >= 128).length);
            await open();
            await chooseFiles([mammoPng!, mammoLabels!]);
            await page.check('input[name="fn"][value="slice"]');
            await page.waitForFunction(() =>
              !!document.querySelector('#slice-model option[value="sigmoid"]')
            );
            await page.fill("#slice-model", "sigmoid");
            assertEquals(await run("slice"), "done", await errorText());
            const size = await page.$eval("#results img", (img) => {
              const i = img as HTMLImageElement;
              return [i.naturalWidth, i.naturalHeight];
            });
            assertEquals(size, [grey.width, grey.height]);
            assertEquals(await cell("Numbers", "area.pixels"), String(expected.area.pixels));
            const dice = expected.ground_truth.dice as number;
            assert(dice > 0 && dice < 1, `dice ${dice}`);
            assertEquals(
              await cell("Numbers", "ground_truth.dice"),
              String(Number(dice.toPrecision(5))),
            );
            const shot = "/tmp/medimg-page-slice.png";
            await page.screenshot(shot);
            await assertNotBlank(shot);
          });
          await Deno.remove(models, { recursive: true });
        },
      });

      await t.step({
        name: "cxr: a chest X-ray DICOM -> probability, heatmap and the features read from it",
        ignore: !rsnaDicom,
        async fn() {
          if (!(await serverFunctions()).has("cxr")) {
            console.log("skipped: /cxr/classify is not mounted on the dev server");
            return;
          }
          const root = await Deno.makeTempDir({ prefix: "medimg-page-cxr-" });
          try {
            await cxrFixture(root);
            await withEnv({ MEDIMG_MODELS_DIR: root }, async () => {
              const expected = await (await app.request("/cxr/classify?heatmap=1&format=json", {
                method: "POST",
                headers: { "content-type": "application/dicom" },
                body: await Deno.readFile(rsnaDicom!),
              })).json();
              assertEquals(expected.model.version, "0.0.1-fixture");
              await open();
              await chooseFiles(rsnaDicom!);
              await page.check('input[name="fn"][value="cxr"]');
              assertEquals(await run("cxr"), "done", await errorText());
              const p = expected.probability as number;
              assertEquals(await cell("Numbers", "probability"), String(Number(p.toPrecision(5))));
              assertEquals(await cell("Numbers", "label"), expected.label);
              assertEquals(await cell("Numbers", "features.age_years"), "32");
              assertEquals(await cell("Numbers", "metadata.view.source"), "dicom");
              assertEquals(
                await page.$eval("#cxr-probability", (m) => (m as HTMLMeterElement).value),
                p,
              );
              const size = await page.$eval("#results img", (img) => {
                const i = img as HTMLImageElement;
                return [i.naturalWidth, i.naturalHeight];
              });
              assertEquals(size, [224, 224]);
              const shot = "/tmp/medimg-page-cxr.png";
              await page.screenshot(shot);
              await assertNotBlank(shot);
            });
          } finally {
            await Deno.remove(root, { recursive: true });
          }
        },
      });

      await t.step({
        name: "volume: four modalities -> job, SSE progress, the label volume over the FLAIR",
        ignore: !bratsFlair,
        async fn() {
          if (!(await serverFunctions()).has("volume")) {
            console.log("skipped: /segment/volume is not mounted on the dev server");
            return;
          }
          const root = await Deno.makeTempDir({ prefix: "medimg-page-volume-" });
          try {
            const files = await volumeFixture(root);
            await withEnv(
              { MEDIMG_MODELS_DIR: root, MEDIMG_VOLUME_MODEL: "tiny-brats" },
              async () => {
                // The same request answered at once (?wait=1) gives the numbers the page must show.
                const form = new FormData();
                for (const [i, m] of ["flair", "t1", "t1ce", "t2", "seg"].entries()) {
                  form.append(m, new File([await Deno.readFile(files[i])], `${m}.nii.gz`));
                }
                const expected = await (await app.request("/segment/volume?wait=1&format=json", {
                  method: "POST",
                  body: form,
                })).json();
                await open();
                // Every status line the page shows while the job runs.
                await page.evaluate(() => {
                  const el = document.querySelector("#status")!;
                  const seen: string[] = (globalThis as Json).__seen = [];
                  new MutationObserver(() => seen.push(el.textContent ?? "")).observe(el, {
                    childList: true,
                  });
                });
                await chooseFiles(files);
                assertEquals(await run("volume"), "done", await errorText());
                const seen = await page.evaluate(() => (globalThis as Json).__seen as string[]);
                assert(seen.some((s) => /infer \d+ of \d+/.test(s)), `progress seen: ${seen}`);
                assertEquals(await cell("Image", "size"), "40 × 40 × 155");
                for (const l of [1, 2, 4]) {
                  const { voxels, ml } = expected.labels[l];
                  assertEquals(await cell("Numbers", `labels.${l}.voxels`), String(voxels));
                  // Counted by the page in the .nii.gz it fetched and parsed.
                  const name = { 1: "necrotic core", 2: "oedema", 4: "enhancing tumour" }[l];
                  if (voxels) {
                    assertEquals(
                      await cell("Labels (predicted labels)", `${l} ${name}`),
                      `${voxels} voxels, ${ml.toFixed(2)} mL`,
                    );
                  }
                  assertEquals(
                    await cell("Numbers", `dice.${l}`),
                    String(Number(expected.dice[l].toPrecision(5))),
                  );
                }
                // Two overlays (prediction, ground truth): the select switches the picture's labels.
                await page.fill("#volume-overlay", "1");
                assert(
                  (await page.textContent("figure:has(#volume-canvas) figcaption"))?.endsWith(
                    "case_seg.nii.gz over it",
                  ),
                );
                // The label volume and the numbers can be saved, under the case's name.
                const links = await page.downloads();
                assertEquals(links.map(([name]) => name), [
                  "case_tiny-brats_labels.nii.gz",
                  "case_tiny-brats.json",
                ]);
                const saved = JSON.parse(atob(links[1][2]));
                assertEquals(saved.labels, expected.labels);
              },
            );
          } finally {
            await Deno.remove(root, { recursive: true });
          }
        },
      });

      await t.step({
        name: "BraTS FLAIR + seg (.nii.gz, read in the page) -> slices with labels and a slider",
        ignore: !bratsFlair || !bratsSeg,
        async fn() {
          await open();
          const counts = await labelCounts(bratsSeg!);
          await chooseFiles([bratsFlair!, bratsSeg!]);
          await page.waitForFunction(() =>
            (document.querySelector('input[value="volume"]') as HTMLInputElement).checked
          );
          assertEquals(await run("volume"), "done", await errorText());
          const canvas = await page.$eval("#volume-canvas", (c) => {
            const el = c as HTMLCanvasElement;
            return [el.width, el.height, Number(el.dataset.slice)];
          });
          assertEquals(canvas.slice(0, 2), [240, 240]);
          for (
            const [label, name] of [[1, "necrotic core"], [2, "oedema"], [4, "enhancing tumour"]]
          ) {
            const n = counts.get(label as number)!;
            assertEquals(
              await cell("Labels", `${label} ${name}`),
              `${n} voxels, ${(n / 1000).toFixed(2)} mL`,
            );
          }
          assertEquals(await cell("Image", "size"), "240 × 240 × 155");
          // The viewer opens on the slice with the most labelled voxels; the slider moves it.
          assert(canvas[2] > 0 && canvas[2] < 154, `slice ${canvas[2]}`);
          const shot = "/tmp/medimg-page-volume.png";
          await page.screenshot(shot);
          await assertNotBlank(shot);
          await page.fill("#volume-slice", "10");
          assertEquals(await page.getAttribute("#volume-canvas", "data-slice"), "10");
          assertEquals(
            await page.textContent('label[for="volume-slice"]'),
            "Axial slice 11 of 155",
          );

          // The value under the cursor is the file's voxel: x 120, y 100 (RAS, shown at picture
          // row 239 - 100 = 139), z 70, read here from the .nii.gz (int16, no scaling).
          await page.fill("#volume-slice", "70");
          const stream = (await Deno.open(bratsFlair!)).readable
            .pipeThrough(new DecompressionStream("gzip"));
          const nii = new Uint8Array(await new Response(stream).arrayBuffer());
          const nv = new DataView(nii.buffer);
          assertEquals(nv.getInt16(70, true), 4, "an int16 FLAIR");
          const voxel = nv.getInt16(
            nv.getFloat32(108, true) + 2 * (120 + 240 * (100 + 240 * 70)),
            true,
          );
          assertEquals(voxel, 2242);
          const [vx, vy] = await page.canvasPoint("#volume-canvas", 120, 139);
          await page.mouse("mouseMoved", vx, vy);
          assertEquals(await page.textContent("#volume-value"), `x 120, y 139: ${voxel}`);
          // Dragging left and up narrows the window and lowers the level: numbers and pixels move.
          const before = [
            await page.textContent("#volume-wl"),
            await sha(await page.canvasGrey("#volume-canvas")),
          ];
          await page.mouse("mousePressed", vx, vy, { button: "left", buttons: 1, clickCount: 1 });
          await page.mouse("mouseMoved", vx - 60, vy - 40, { button: "left", buttons: 1 });
          await page.mouse("mouseReleased", vx - 60, vy - 40, { button: "left", clickCount: 1 });
          const after = [
            await page.textContent("#volume-wl"),
            await sha(await page.canvasGrey("#volume-canvas")),
          ];
          assert(before[0] !== after[0] && before[1] !== after[1], `${before[0]} -> ${after[0]}`);
          const [w0, l0] = before[0]!.match(/-?[\d.]+/g)!.map(Number);
          const [w1, l1] = after[0]!.match(/-?[\d.]+/g)!.map(Number);
          assert(w1 < w0 && l1 < l0, `W ${w0} -> ${w1}, L ${l0} -> ${l1}`);
        },
      });

      await t.step("each function is offered only the models of its kind", async () => {
        // The shipped models/: brats-demo is 3D (NDHWC input), fundus-vessels 2D, cxr-pneumonia a
        // classifier. brats-demo first in slice segmentation made the first try on a photo a 422.
        // Named, not inherited: a test file run before this one in the same process may have set
        // MEDIMG_MODELS_DIR to its fixtures (tests/functions/slice_test.ts does).
        await withEnv({ MEDIMG_MODELS_DIR: SHIPPED_MODELS }, async () => {
          const listed = (await (await app.request("/models")).json()).models as Json[];
          const want: Record<string, string[]> = { slice: [], volume: [], cxr: [] };
          for (const m of listed.filter((m) => m.card)) {
            const rank = m.card.inputs[0].shape.length;
            const kind = m.card.task === "classification" ? "cxr" : rank === 5 ? "volume" : "slice";
            want[kind].push(m.name);
          }
          await open();
          const offered = await page.evaluate(() =>
            Object.fromEntries(
              ["slice", "volume", "cxr"].map((k) => [
                k,
                [...document.querySelectorAll<HTMLOptionElement>(`#${k}-model option`)].map((o) =>
                  o.value
                ),
              ]),
            )
          );
          assertEquals(offered, want);
          assert(offered.slice.includes("fundus-vessels"), `slice offers ${offered.slice}`);
          assert(!offered.slice.includes("brats-demo"), "a 3D model is not offered for a slice");
          assertEquals(offered.volume, ["brats-demo"]);
          assertEquals(offered.cxr, ["cxr-pneumonia"]);
          assertEquals(await page.$eval("#slice-model", (s) => s.value), offered.slice[0]);
        });
      });

      await t.step({
        name: "the chooser takes every file: extension-less DICOM and TIFF are listed and read",
        ignore: !ircadbCt || !driveTif,
        async fn() {
          await open();
          // No accept filter: a file dialog then lists image_60 and 21_training.tif too.
          assertEquals(await page.getAttribute("#file", "accept"), null);
          await chooseFiles([ircadbCt!, driveTif!]);
          const listed = await page.evaluate(() =>
            [...document.querySelectorAll("#file-list li")].map((li) => li.textContent)
          );
          assert(listed[0]?.startsWith("image_60 — dicom"), listed[0]!);
          assert(listed[1]?.startsWith("21_training.tif — tiff"), listed[1]!);
        },
      });

      await t.step({
        name: "slice: image + ground truth + field of view -> fov in the request, downloads",
        ignore: !driveImage || !driveTruth || !driveFov,
        async fn() {
          const models = await makeModelsRoot();
          await withEnv({ MEDIMG_MODELS_DIR: models }, async () => {
            const [image, truth, fov] = await Promise.all(
              [driveImage!, driveTruth!, driveFov!].map((f) => Deno.readFile(f)),
            );
            const answer = async (query: string) => {
              const form = new FormData();
              form.append("image", new File([image], "21_training.png", { type: "image/png" }));
              form.append("mask", new File([truth], "21_manual1.png", { type: "image/png" }));
              form.append("fov", new File([fov], "21_training_mask.png", { type: "image/png" }));
              const res = await app.request(`/segment/slice?model=green&${query}`, {
                method: "POST",
                body: form,
              });
              assertEquals(res.status, 200, query);
              return new Uint8Array(await res.arrayBuffer());
            };
            const expected = JSON.parse(new TextDecoder().decode(await answer("format=json")));
            assert(expected.fov_pixels > 0, "the route counted the field of view");
            await open();
            // Every multipart body the page sends: its fields and their file names.
            await page.evaluate(() => {
              const sent: string[][] = (globalThis as Json).__forms = [];
              const original = globalThis.fetch;
              globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
                if (init?.body instanceof FormData) {
                  sent.push(
                    [...init.body.entries()].map(([k, v]) => `${k}=${(v as File).name ?? v}`),
                  );
                }
                return original(input, init);
              };
            });
            // In an order the names must undo: the field of view first.
            await chooseFiles([driveFov!, driveTruth!, driveImage!]);
            await page.check('input[name="fn"][value="slice"]');
            await page.waitForFunction(() =>
              !!document.querySelector('#slice-model option[value="green"]')
            );
            await page.fill("#slice-model", "green");
            const roles = await page.evaluate(() =>
              ["image", "mask", "fov"].map((r) => {
                const s = document.querySelector<HTMLSelectElement>(`#slice-${r}`)!;
                return s.selectedOptions[0]?.textContent;
              })
            );
            assertEquals(roles, [
              "21_training.png (png)",
              "21_manual1.png (png)",
              "21_training_mask.png (png)",
            ]);
            assertEquals(await run("slice"), "done", await errorText());
            const forms = await page.evaluate(() => (globalThis as Json).__forms as string[][]);
            // Overlay and JSON (whose RLE the page makes the mask PNG from), then the probabilities.
            await page.waitForFunction(() =>
              document.querySelectorAll("#results .downloads a").length === 4
            );
            assertEquals(forms.length, 3, "overlay, JSON, probabilities");
            for (const f of forms) {
              assertEquals(f, [
                "image=21_training.png",
                "mask=21_manual1.png",
                "fov=21_training_mask.png",
              ]);
            }
            assertEquals(await cell("Numbers", "fov_pixels"), String(expected.fov_pixels));
            assertEquals(
              await cell("Numbers", "ground_truth.dice"),
              String(Number(expected.ground_truth.dice.toPrecision(5))),
            );
            // Each download is the route's own answer, under a name that says what it is.
            const links = await page.downloads();
            assertEquals(links.map(([name]) => name), [
              "21_training_green_mask.png",
              "21_training_green_overlay.png",
              "21_training_green_probability.png",
              "21_training_green.json",
            ]);
            const bytes = (i: number) => Uint8Array.from(atob(links[i][2]), (c) => c.charCodeAt(0));
            const mask = decodePng(bytes(0));
            assertEquals(differing(mask.data, decodePng(await answer("")).data), 0);
            assertEquals(mask.data.filter((v) => v === 255).length, expected.area.pixels);
            assertEquals(await sha(bytes(1)), await sha(await answer("overlay=1")));
            assertEquals(await sha(bytes(2)), await sha(await answer("probs=1")));
            const saved = JSON.parse(new TextDecoder().decode(bytes(3)));
            assertEquals(saved.area, expected.area);
            assertEquals(saved.fov_pixels, expected.fov_pixels);
            assertEquals([mask.width, mask.height, mask.channels], [565, 584, 1]);
            const shot = "/tmp/medimg-page-slice-fov.png";
            await page.screenshot(shot);
            await assertNotBlank(shot);
          });
          await Deno.remove(models, { recursive: true });
        },
      });

      await t.step({
        name: "DICOM view: HU under the cursor, presets, drag for W/L, zoom, downloads",
        ignore: !ircadbCt,
        async fn() {
          const bytes = await Deno.readFile(ircadbCt!);
          /** The route's own picture of the frame at a window: what the view must show. */
          const rendered = async (center: number, width: number) => {
            const res = await app.request(`/dicom/render?center=${center}&width=${width}`, {
              method: "POST",
              headers: { "content-type": "application/dicom" },
              body: bytes,
            });
            assertEquals(res.status, 200);
            const png = decodePng(new Uint8Array(await res.arrayBuffer()));
            assertEquals([png.channels, png.depth], [1, 8], "an 8-bit grey PNG");
            return png.data;
          };
          await open();
          await chooseFiles(ircadbCt!);
          // By default (the dataset's window, 0/0 here) the page still shows the frame, whether
          // the route refuses that window (422) or falls back to min-max itself.
          assertEquals(await run("dicom"), "done", await errorText());
          assertEquals(await page.$eval("#dicom-canvas", (c) => c.width), 512);
          // Min-max from here on: it does not depend on how the route treats that window.
          await page.fill("#dicom-window", "minmax");
          assertEquals(await run("dicom"), "done", await errorText());

          // A liver pixel (x 150, y 300) is 129 HU in the file; the page shows it under the cursor.
          const hu = huAt(bytes, 512, 512, 150, 300);
          assertEquals(hu, 129);
          const [px, py] = await page.canvasPoint("#dicom-canvas", 150, 300);
          await page.mouse("mouseMoved", px, py);
          assertEquals(await page.textContent("#dicom-value"), `x 150, y 300: ${hu} HU`);
          const [ax, ay] = await page.canvasPoint("#dicom-canvas", 100, 100);
          await page.mouse("mouseMoved", ax, ay);
          assertEquals(
            await page.textContent("#dicom-value"),
            `x 100, y 100: ${huAt(bytes, 512, 512, 100, 100)} HU`,
          );

          // A preset sets the numbers and the pixels: the lung window as the route renders it.
          await page.fill("#dicom-preset", "lung");
          assertEquals(await page.textContent("#dicom-wl"), "W 1500 L -600 HU");
          assertEquals(
            differing(await page.canvasGrey("#dicom-canvas"), await rendered(-600, 1500)),
            0,
          );
          await page.fill("#dicom-preset", "brain");
          assertEquals(await page.textContent("#dicom-wl"), "W 80 L 40 HU");
          assertEquals(
            differing(await page.canvasGrey("#dicom-canvas"), await rendered(40, 80)),
            0,
          );
          await page.fill("#dicom-preset", "lung");

          // Drag 100 px right and 50 px down: width and level grow by the drag times the range over
          // 512 px (2047 HU here: 4 HU per pixel), and the picture is that window's.
          const lung = await page.canvasGrey("#dicom-canvas");
          const [sx, sy] = await page.canvasPoint("#dicom-canvas", 200, 200);
          await page.mouse("mousePressed", sx, sy, { button: "left", buttons: 1, clickCount: 1 });
          for (let k = 1; k <= 5; k++) {
            await page.mouse("mouseMoved", sx + 20 * k, sy + 10 * k, {
              button: "left",
              buttons: 1,
            });
          }
          await page.mouse("mouseReleased", sx + 100, sy + 50, { button: "left", clickCount: 1 });
          const perPixel = 2047 / 512;
          const [w, c] = [Math.round(1500 + 100 * perPixel), Math.round(-600 + 50 * perPixel)];
          assertEquals(await page.textContent("#dicom-wl"), `W ${w} L ${c} HU`);
          const dragged = await page.canvasGrey("#dicom-canvas");
          assert((await sha(dragged)) !== (await sha(lung)), "the drag changed the pixels");
          assertEquals(differing(dragged, await rendered(c, w)), 0);
          assertEquals(await page.$eval("#dicom-preset", (s) => s.value), "custom");
          // The keyboard does the same on the focused picture: 10 drag pixels per arrow press.
          await page.$eval("#dicom-canvas", (c) => c.focus());
          for (const key of ["ArrowRight", "ArrowUp"]) {
            await page.send("Input.dispatchKeyEvent", { type: "rawKeyDown", key, code: key });
            await page.send("Input.dispatchKeyEvent", { type: "keyUp", key, code: key });
          }
          assertEquals(
            await page.textContent("#dicom-wl"),
            `W ${Math.round(w + 10 * perPixel)} L ${Math.round(c - 10 * perPixel)} HU`,
          );
          // Back to lung dragged in one move: the same window as the five small moves gave.
          await page.fill("#dicom-preset", "lung");
          const [tx, ty] = await page.canvasPoint("#dicom-canvas", 200, 200);
          await page.mouse("mousePressed", tx, ty, { button: "left", buttons: 1, clickCount: 1 });
          await page.mouse("mouseMoved", tx + 100, ty + 50, { button: "left", buttons: 1 });
          await page.mouse("mouseReleased", tx + 100, ty + 50, { button: "left", clickCount: 1 });
          assertEquals(await page.textContent("#dicom-wl"), `W ${w} L ${c} HU`);

          // Zoom: the buttons and the wheel change the scale the canvas is drawn at.
          const scale = () =>
            page.$eval("#dicom-canvas", (c) => [
              Number(c.dataset.zoom),
              Math.round(c.getBoundingClientRect().width),
            ]);
          assertEquals(await scale(), [1, 512]);
          await page.click("#dicom-zoom-in");
          assertEquals(await scale(), [1.5, 768]);
          assertEquals(await page.textContent("#dicom-zoom"), "150%");
          const [wx, wy] = await page.canvasPoint("#dicom-canvas", 256, 256);
          await page.mouse("mouseWheel", wx, wy, { deltaX: 0, deltaY: -120 });
          await page.waitForFunction(() =>
            (document.querySelector("#dicom-canvas") as HTMLElement).dataset.zoom === "2"
          );
          assertEquals(await scale(), [2, 1024]);
          // Still the right pixel under the cursor when zoomed.
          const [zx, zy] = await page.canvasPoint("#dicom-canvas", 150, 300);
          await page.mouse("mouseMoved", zx, zy);
          assertEquals(await page.textContent("#dicom-value"), `x 150, y 300: ${hu} HU`);
          const shot = "/tmp/medimg-page-dicom-viewer.png";
          await page.screenshot(shot);
          await assertNotBlank(shot);
          await page.click("#dicom-zoom-fit");
          assertEquals(await scale(), [1, 512]);

          // Downloads: the true values as the route sent them, the metadata, the view as shown.
          await page.waitForFunction(() =>
            [...document.querySelectorAll<HTMLAnchorElement>("#results .downloads a")]
              .some((a) => a.download.includes("_W"))
          );
          const links = await page.downloads();
          assertEquals(links.map(([name]) => name), [
            "image_60_frame0_512x512x1_int16le.raw",
            "image_60_info.json",
            `image_60_frame0_W${w}_L${c}.png`,
          ]);
          const raw = Uint8Array.from(atob(links[0][2]), (ch) => ch.charCodeAt(0));
          assertEquals(differing(raw, bytes.subarray(bytes.length - 512 * 512 * 2)), 0);
          assertEquals(JSON.parse(atob(links[1][2])).modality, "CT");
          const view = decodePng(Uint8Array.from(atob(links[2][2]), (ch) => ch.charCodeAt(0)));
          const red = new Uint8Array(512 * 512);
          for (let i = 0; i < red.length; i++) red[i] = view.data[i * view.channels];
          assertEquals(differing(red, dragged), 0);
        },
      });

      assertEquals(page.errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
