/**
 * Mammogram preprocess: the six stages side by side (`steps=1`) and the numbers of one run.
 */
import { call, ROUTES } from "../api.js";
import { addDownloads, stemOf } from "../downloads.js";
import { IMAGE_KINDS, oneFile } from "../files.js";
import { addNumbers, addPicture, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { greyBodyOf } from "../png.js";

/** Runs mammogram preprocess on the first image and shows the six-stage strip. */
export async function run() {
  const f = oneFile(IMAGE_KINDS, "a mammogram (DICOM, PNG or JPEG)");
  const { body, type } = await greyBodyOf(f);
  const [strip, json] = await Promise.all([
    call(`${ROUTES.mammo}?steps=1`, { body, type, accept: "image/png" }),
    call(`${ROUTES.mammo}?format=json`, { body, type, accept: "application/json" }),
  ]);
  const numbers = await json.res.json();
  const p = panel(`Mammogram: ${f.file.name}`);
  const stripBlob = await strip.res.blob();
  await addPicture(
    p,
    stripBlob,
    "The six stages side by side: cropped, normalised, artefacts removed, flipped, CLAHE, padded to a square",
    "1 crop · 2 normalise · 3 artefacts removed · 4 flip · 5 CLAHE · 6 square",
  );
  const { timings_ms: _, ...rest } = numbers;
  const stem = `${stemOf(f.file.name)}_mammo`;
  addDownloads(p.nums, objectUrl, [
    { blob: stripBlob, name: `${stem}_stages.png`, label: "the six stages (PNG)" },
    { blob: jsonBlob(numbers), name: `${stem}.json`, label: "numbers (JSON)" },
  ]);
  addNumbers(p, "Numbers", rest);
  addTiming(p, json, strip);
}
