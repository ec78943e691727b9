/**
 * The page's DICOM series panel on a real series, in chromium: 3D-IRCADb patient 1's 129
 * extension-less CT slices (PATIENT_DICOM, unpacked into /tmp; nothing derived is kept) chosen as a
 * folder and segmented with the `sigmoid` fixture model (no liver model ships; the page's work does
 * not depend on what the model finds). Times, as the page sees them: zipping the folder in the
 * page (67.8 MB of slices), the job (upload, 129 slices, the NIfTI back), then the /dicom/info of
 * every instance and the first picture; one step to a slice not yet shown (its /dicom/render raw
 * values fetched, painted) for every slice; the SEG on request. Every slice is checked to show the instance lib/dicom/series.ts assembleSeries put at
 * that z (the page matches them by position against the NIfTI's affine, not by name).
 *
 *   nice -n 10 deno run -A bench/service/page_series.ts
 */
import { assembleSeries } from "../../lib/dicom/series.ts";
import { filesIn, ircadbFolder } from "../../tests/dicom/_series_fixtures.ts";
import { hasChromium, launchChromium } from "../../tests/functions/_chromium.ts";
import { makeModelsRoot } from "../../tests/models/_fixtures.ts";

const ircadb = await ircadbFolder();
if (!ircadb || !hasChromium) {
  console.log("skipped: needs ../shared/data/ircadb-liver and /usr/bin/chromium");
  Deno.exit(0);
}
const root = await makeModelsRoot();
Deno.env.set("MEDIMG_MODELS_DIR", root);
const { app } = await import("../../functions/main.ts");
const folder = `${ircadb}/PATIENT_DICOM`;
const paths = filesIn(folder);
const series = await assembleSeries(paths.map((p) => Deno.readFileSync(p)));
const names = paths.map((p) => p.split("/").pop()!);
const want = series.slices.map((s) => `PATIENT_DICOM/${names[s.instance]}`);
const n = want.length;

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
const browser = await launchChromium(600_000);
const page = browser.tab;
const ms = (t0: number) => performance.now() - t0;
try {
  await page.goto(`http://127.0.0.1:${server.addr.port}/`);
  await page.waitForFunction(() =>
    !document.querySelector("#series-model")?.hasAttribute("disabled")
  );
  await page.setInputFiles("#folder", folder);
  await page.waitForFunction((k) => document.querySelectorAll("#file-list li").length === k, n);
  await page.fill("#series-model", "sigmoid");
  await page.check('input[value="series"]');
  // When the job is over the page says it reads the instances: the split between job and pictures.
  await page.evaluate(() => {
    const el = document.querySelector("#status")!;
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    new MutationObserver(() => {
      if (el.textContent?.startsWith("Uploading")) g.__packed ??= performance.now();
      if (el.textContent?.startsWith("Reading the instances")) g.__jobDone ??= performance.now();
    }).observe(el, { childList: true });
    g.__t0 = performance.now();
  });
  const t0 = performance.now();
  await page.click("#run");
  await page.waitForFunction(
    () =>
      ["done", "error"].includes(document.querySelector<HTMLElement>("#results")!.dataset.state!),
  );
  const total = ms(t0);
  const state = await page.getAttribute("#results", "data-state");
  if (state !== "done") throw new Error(`the run failed: ${await page.textContent("#error")}`);
  const [packed, job] = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    return [g.__packed - g.__t0, g.__jobDone - g.__t0];
  });

  const steps: number[] = [];
  const wrong: string[] = [];
  for (let z = 0; z < n; z++) {
    const t = performance.now();
    await page.fill("#series-slice", String(z));
    await page.waitForFunction(
      (k) =>
        document.querySelector<HTMLCanvasElement>("#series-canvas")?.dataset.slice === String(k),
      z,
    );
    steps.push(ms(t));
    const shown = await page.$eval("#series-canvas", (c) => c.dataset.instance);
    if (shown !== want[z]) wrong.push(`z ${z}: ${shown}, assembleSeries has ${want[z]}`);
  }
  const t1 = performance.now();
  await page.click("#series-seg");
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll("#results .downloads a")]
        .some((a) => a.textContent === "segmentation (DICOM SEG)"),
    undefined,
    "the SEG",
  );
  const seg = ms(t1);
  steps.sort((a, b) => a - b);
  const q = (f: number) => steps[Math.min(n - 1, Math.floor(f * n))].toFixed(0);
  console.log(
    `3D-IRCADb patient 1, ${n} slices 512x512, model sigmoid (fixture), chromium headless`,
  );
  console.log(`| what | ms |\n|---|---|`);
  console.log(`| Run to the first picture | ${total.toFixed(0)} |`);
  console.log(`| of which zipping the ${n} files in the page | ${packed.toFixed(0)} |`);
  console.log(
    `| of which the job (upload, ${n} slices, NIfTI back) | ${(job - packed).toFixed(0)} |`,
  );
  console.log(`| of which ${n} /dicom/info, first picture, tables | ${(total - job).toFixed(0)} |`);
  console.log(`| step to a new slice (raw fetch + paint), median / p90 | ${q(0.5)} / ${q(0.9)} |`);
  console.log(`| SEG on request (job, download link) | ${seg.toFixed(0)} |`);
  console.log(
    wrong.length
      ? `WRONG slices (${wrong.length}):\n${wrong.join("\n")}`
      : `every slice shows assembleSeries' instance for its z (${n} checked)`,
  );
  if (wrong.length) Deno.exitCode = 1;
} finally {
  await browser.close();
  await server.shutdown();
  await Deno.remove(root, { recursive: true });
}
