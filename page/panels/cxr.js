/**
 * Chest X-ray classification: the film and what the form says of the patient to the route, the
 * probability as a meter against the threshold and the saliency map over the model's input.
 */
import { call, MEDIA, ROUTES } from "../api.js";
import { addDownloads, stemOf } from "../downloads.js";
import { IMAGE_KINDS, oneFile } from "../files.js";
import { addNumbers, addPicture, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { $ } from "../state.js";

/** Runs chest X-ray classification on the first image and shows the probability and heatmap. */
export async function run() {
  const f = oneFile(IMAGE_KINDS, "a chest X-ray (DICOM, PNG or JPEG)");
  const q = new URLSearchParams({ heatmap: "1", format: "json" });
  for (const k of ["age", "sex", "view", "spacing"]) {
    const v = $(`#cxr-${k}`).value.trim();
    if (v) q.set(k, v);
  }
  const json = await call(`${ROUTES.cxr}?${q}`, {
    body: f.file,
    type: MEDIA[f.kind] ?? "application/octet-stream",
    accept: "application/json",
  });
  const out = await json.res.json();
  const p = panel(`Chest X-ray: ${f.file.name}`);
  const heat = out.heatmap?.png_base64;
  const stem = `${stemOf(f.file.name)}_${out.model?.name ?? "cxr"}`;
  let png = null;
  if (heat) {
    png = new Blob([Uint8Array.from(atob(heat), (ch) => ch.charCodeAt(0))], {
      type: "image/png",
    });
    await addPicture(
      p,
      png,
      "Saliency map over the model's 224 by 224 input: warm areas raised the probability",
      `${out.heatmap.method ?? "heatmap"} over the model input`,
    );
  }
  probabilityBar(p, out.probability, out.threshold);
  addDownloads(p.nums, objectUrl, [
    png && { blob: png, name: `${stem}_heatmap.png`, label: "heatmap over the input (PNG)" },
    { blob: jsonBlob(out), name: `${stem}.json`, label: "numbers (JSON)" },
  ]);
  const { heatmap, timings_ms: _t, ...rest } = out;
  const { png_base64: _b, ...heatInfo } = heatmap ?? {};
  addNumbers(p, "Numbers", heatmap ? { ...rest, heatmap: heatInfo } : rest);
  addTiming(p, json);
}

function probabilityBar(p, probability, threshold) {
  if (typeof probability !== "number") return;
  const wrap = document.createElement("div");
  wrap.className = "probability";
  const label = document.createElement("label");
  label.textContent = `Probability ${(probability * 100).toFixed(1)}%` +
    (typeof threshold === "number" ? ` (threshold ${(threshold * 100).toFixed(0)}%)` : "");
  const meter = document.createElement("meter");
  meter.id = "cxr-probability";
  label.htmlFor = meter.id;
  Object.assign(meter, { min: 0, max: 1, value: probability });
  if (typeof threshold === "number") meter.high = threshold;
  wrap.append(label, meter);
  p.nums.prepend(wrap);
}
