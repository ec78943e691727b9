/**
 * RLE decode: the pasted text to the route as JSON, the mask back as a PNG and as numbers; a
 * dropped PNG or JPEG of the mask's size is shown under it.
 */
import { call, InputError, ROUTES } from "../api.js";
import { addDownloads } from "../downloads.js";
import {
  addNumbers,
  addPicture,
  addTiming,
  jsonBlob,
  objectUrl,
  overlay,
  panel,
} from "../output.js";
import { $, state } from "../state.js";

/** Runs RLE decode on the pasted text and shows the mask (over a dropped image of its size). */
export async function run() {
  const text = $("#rle-text").value.trim();
  if (!text) throw new InputError("Paste an RLE first.", "#rle-text");
  const dialect = $("#rle-dialect").value;
  let rle = text.split(/\n+/).map((s) => s.trim()).filter(Boolean);
  if (dialect === "coco" && /^[[{]/.test(text)) {
    try {
      rle = JSON.parse(text);
    } catch {
      throw new InputError("The COCO RLE is not valid JSON.", "#rle-text");
    }
  } else if (rle.length === 1) rle = rle[0];
  const body = JSON.stringify({
    rle,
    dialect,
    order: $("#rle-order").value,
    width: Number($("#rle-width").value),
    height: Number($("#rle-height").value),
  });
  const type = "application/json";
  const [png, json] = await Promise.all([
    call(ROUTES.rle, { body, type, accept: "image/png" }),
    call(ROUTES.rle, { body, type, accept: "application/json" }),
  ]);
  const summary = await json.res.json();
  const mask = await png.res.blob();
  const p = panel("RLE decode");
  const image = state.files.find((e) => e.kind === "png" || e.kind === "jpeg");
  const base = image && await createImageBitmap(image.file).catch(() => null);
  if (base && base.width === summary.width && base.height === summary.height) {
    await addPicture(
      p,
      await overlay(base, mask),
      "Decoded mask in red over the image",
      `mask over ${image.file.name}`,
    );
  } else {
    await addPicture(
      p,
      mask,
      "Decoded mask, white on black",
      `mask ${summary.width}×${summary.height}`,
    );
  }
  addDownloads(p.nums, objectUrl, [
    { blob: mask, name: `rle_${summary.width}x${summary.height}_mask.png`, label: "mask (PNG)" },
    {
      blob: jsonBlob(summary),
      name: `rle_${summary.width}x${summary.height}.json`,
      label: "numbers (JSON)",
    },
  ]);
  addNumbers(p, "Mask", summary);
  addTiming(p, json, png);
}
