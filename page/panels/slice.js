/**
 * Slice segmentation: the image, and optionally a ground truth and a field of view, to the chosen
 * 2D model; the overlay, the numbers, the mask (made here from the answer's RLE) and the
 * probability map to download.
 */
import { call, InputError, MEDIA, ROUTES } from "../api.js";
import { addDownloads, setDownload, stemOf } from "../downloads.js";
import { addNumbers, addPicture, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { encodePng } from "../png.js";
import { $, state } from "../state.js";

/**
 * Slice segmentation's three inputs among the files: the image, the ground truth and the field of
 * view, guessed from the names (DRIVE: `21_training.tif`, `21_manual1.gif`, `21_training_mask.gif`,
 * the last being the field of view), else by order; each can be changed in its select.
 */
export function fillSliceRoles() {
  const pictures = state.files.map((e, i) => ({ ...e, i })).filter((e) => e.kind !== "nifti");
  const isFov = (e) => /fov|_(training|test)_mask\b/i.test(e.file.name);
  const isTruth = (e) => /manual|label|truth|_gt\b|seg|mask/i.test(e.file.name);
  const fov = pictures.find(isFov);
  const rest = pictures.filter((e) => e !== fov);
  const image = rest.find((e) => !isTruth(e)) ?? rest[0];
  const truth = rest.find((e) => e !== image && isTruth(e)) ?? rest.find((e) => e !== image);
  const others = pictures.filter((e) => ![image, truth].includes(e));
  const roles = { image, mask: truth, fov: fov ?? (truth && others[0]) };
  for (const role of ["image", "mask", "fov"]) {
    const select = $(`#slice-${role}`);
    select.replaceChildren(
      ...(role === "image" ? [] : [new Option("none", "")]),
      ...pictures.map((e) => new Option(`${e.file.name} (${e.kind})`, String(e.i))),
    );
    select.value = roles[role] ? String(roles[role].i) : "";
  }
}

/** A row-major Kaggle RLE (1-based start, length pairs) as a 0/255 mask. */
function kaggleRowMask(rle, width, height) {
  const mask = new Uint8Array(width * height);
  const n = String(rle ?? "").trim().split(/\s+/).map(Number).filter(Number.isFinite);
  for (let i = 0; i + 1 < n.length; i += 2) mask.fill(255, n[i] - 1, n[i] - 1 + n[i + 1]);
  return mask;
}

/** Runs the chosen 2D model on the image picked (with ground truth and field of view if picked). */
export async function run() {
  const model = $("#slice-model").value;
  if (!model) {
    throw new InputError("This server has no 2D segmentation model installed.", "#slice-model");
  }
  const pick = (role) => state.files[Number($(`#slice-${role}`).value)] ?? null;
  const f = $("#slice-image").value ? pick("image") : null;
  if (!f) {
    throw new InputError("Drop or choose an image (DICOM, PNG, JPEG or TIFF) first.", "#file");
  }
  const truth = $("#slice-mask").value ? pick("mask") : null;
  const fov = $("#slice-fov").value ? pick("fov") : null;
  if ((truth && truth === f) || (fov && (fov === f || fov === truth))) {
    throw new InputError(
      "The image, ground truth and field of view must be different files.",
      "#slice-mask",
    );
  }
  // The route reads the image's kind from its bytes; the ground truth and the field of view go as
  // the form's `mask` and `fov`.
  const image = { body: f.file, type: MEDIA[f.kind] ?? "application/octet-stream" };
  const send = async (query, accept) => {
    const path = `${ROUTES.slice}?${new URLSearchParams({ model, ...query })}`;
    if (!truth && !fov) return await call(path, { ...image, accept });
    const fd = new FormData();
    fd.append("image", new File([f.file], f.file.name, { type: image.type }));
    if (truth) fd.append("mask", truth.file, truth.file.name);
    if (fov) fd.append("fov", fov.file, fov.file.name);
    return await call(path, { body: fd, accept });
  };
  // Two passes of the model: the overlay shown, and the numbers with the mask as row-major
  // Kaggle RLE, from which the mask PNG is made here (the same pixels as the route's mask PNG).
  const [png, json] = await Promise.all([
    send({ overlay: "1" }, "image/png"),
    send({ format: "json", rle: "kaggle", order: "row" }, "application/json"),
  ]);
  const numbers = await json.res.json();
  const p = panel(`Segmentation (${model}): ${f.file.name}`);
  const overlayBlob = await png.res.blob();
  await addPicture(
    p,
    overlayBlob,
    `Predicted mask in red over ${f.file.name}`,
    `${model}: mask over the preprocessed image`,
  );
  const { rle: _r, timings_ms: _t, ...rest } = numbers;
  const stem = `${stemOf(f.file.name)}_${model}`;
  const { width, height } = numbers.input;
  const downloads = addDownloads(p.nums, objectUrl, [
    {
      blob: await encodePng(kaggleRowMask(numbers.rle.value, width, height), width, height, 1),
      name: `${stem}_mask.png`,
      label: "mask (PNG, 0/255)",
    },
    { blob: overlayBlob, name: `${stem}_overlay.png`, label: "overlay (PNG)" },
    { blob: jsonBlob(numbers), name: `${stem}.json`, label: "numbers (JSON)" },
  ]);
  addNumbers(p, "Numbers", rest);
  addTiming(p, json, png);
  // The probability map is a third pass: asked for once the answer is shown, its link added
  // when it comes.
  send({ probs: "1" }, "image/png").then(async (probs) => {
    const a = setDownload(downloads, objectUrl, {
      blob: await probs.res.blob(),
      name: `${stem}_probability.png`,
      label: "probability map (8-bit PNG)",
    });
    const json = downloads.querySelector('a[data-key="numbers (JSON)"]')?.closest("li");
    if (json) downloads.insertBefore(a.closest("li"), json);
    addTiming(p, probs);
  }).catch((err) => {
    const li = document.createElement("li");
    li.textContent = `probability map: ${err.message}`;
    downloads.append(li);
  });
}
