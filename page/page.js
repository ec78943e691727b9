/**
 * medimg-edge page: drop files, pick a function, show the answer as pictures with its numbers and
 * the Server-Timing of each call. Native ES modules with no dependencies and no build step, served
 * by functions/page.ts. This one wires the form: which functions this server has, the chosen files,
 * the options shown, and the run. The rest, imported from here:
 * - api.js: the routes, the calls, the problems they answer and the alert box that shows them;
 * - state.js: the page's elements and the form's state (files, functions available);
 * - files.js: what each file is, from its first bytes; png.js: PNG made here (JPEG -> grey PNG);
 * - output.js: the result panels (pictures, tables, Server-Timing, overlays, object URLs);
 * - viewer.js: the windowed image view (drag for W/L, presets, value under the cursor, zoom);
 * - downloads.js: the links that save each answer; models.js: which model each function can run;
 * - nifti.js: the NIfTI reader, so a label volume can be browsed slice by slice;
 * - folder.js: a dropped or chosen folder's files, recursively, in natural order; zip.js: a zip's
 *   entries; series.js: the series view's slice stepping, label colours and slice-to-instance map;
 * - panels/<function>.js: one per function (rle, dicom, mammo, slice, cxr, volume, series), each
 *   `run()` reading its options, calling its route and showing the answer.
 */
import { InputError, NAMES, ROUTES, showError } from "./api.js";
import { formatBytes, roleOf, sniff } from "./files.js";
import { droppedFiles, naturalOrder, pathOf } from "./folder.js";
import { fillSelect, modelsByKind } from "./models.js";
import { resetOutput } from "./output.js";
import { run as cxr } from "./panels/cxr.js";
import { run as dicom } from "./panels/dicom.js";
import { run as mammo } from "./panels/mammo.js";
import { run as rle } from "./panels/rle.js";
import { run as series } from "./panels/series.js";
import { fillSliceRoles, run as slice } from "./panels/slice.js";
import { run as volume } from "./panels/volume.js";
import { $, fileInput, form, progressBar, results, state, statusLine } from "./state.js";

/** Each function's runner: reads its options, calls its route, shows the answer. */
const RUNNERS = { rle, dicom, mammo, slice, cxr, volume, series };

// ---------------------------------------------------------------------------------------------
// Which functions this server has: /openapi.json when served, else the /health list.

async function discover() {
  // The model lists are filled before the status line says the page is ready.
  const models = fillModels();
  let names = null, source = "";
  try {
    const r = await fetch("/openapi.json", { headers: { accept: "application/json" } });
    if (r.ok) {
      state.openapi = await r.json();
      const paths = Object.keys(state.openapi.paths ?? {});
      names = Object.keys(ROUTES).filter((id) => paths.includes(ROUTES[id]));
      source = "/openapi.json";
      $("#docs-link").hidden = false;
    }
  } catch { /* no spec: fall back to /health */ }
  if (!names) {
    try {
      const r = await fetch("/health");
      const h = r.ok ? await r.json() : {};
      if (Array.isArray(h.functions)) [names, source] = [h.functions, "/health"];
    } catch { /* the server is down: every call will say so */ }
  }
  if (names) state.available = new Set(names.filter((n) => n in ROUTES));
  for (const id of Object.keys(ROUTES)) {
    const label = document.querySelector(`[data-fn="${id}"]`);
    // The volume viewer works without the route: it then shows the files' own labels.
    label.hidden = !state.available.has(id) && id !== "volume";
    label.querySelector("input").disabled = label.hidden;
  }
  await models;
  const here = [...state.available].map((id) => NAMES[id]).join(", ") || "none";
  const absent = Object.keys(ROUTES).filter((id) => !state.available.has(id));
  $("#functions-status").textContent = names
    ? `This server has: ${here} (from ${source}).` +
      (absent.length ? ` Not here: ${absent.map((id) => NAMES[id]).join(", ")}.` : "")
    : "Could not ask the server which functions it has; all are shown.";
  if (!state.available.has("volume")) {
    $("#volume-hint").textContent +=
      " This server has no /segment/volume: the files are shown as they are.";
  }
}

/** The installed models (GET /models), each function offered only those of its kind. */
async function fillModels() {
  const byKind = await modelsByKind();
  const slice = fillSelect($("#slice-model"), byKind.slice);
  $("#slice-model").disabled = !slice;
  $("#slice-none").hidden = slice > 0;
  const series = fillSelect($("#series-model"), byKind.slice);
  $("#series-model").disabled = !series;
  $("#series-none").hidden = series > 0;
  $("#volume-model").disabled = !fillSelect($("#volume-model"), byKind.volume, "brats-demo");
  // The cxr route runs cxr-pneumonia whatever is installed beside it: shown, not chosen.
  fillSelect($("#cxr-model"), byKind.cxr, "cxr-pneumonia");
}

/**
 * The chosen files (Files, or {file, path} from a folder), sniffed and listed; the slice roles
 * filled and a function suggested.
 */
async function setFiles(list) {
  const items = [...list].map((x) => (x instanceof File ? { file: x, path: pathOf(x) } : x));
  state.files = await Promise.all(
    items.map(async ({ file, path }) => ({
      file,
      path,
      kind: await sniff(file),
      role: roleOf(file.name),
    })),
  );
  $("#file-list").replaceChildren(...state.files.map(({ file, path, kind, role }) => {
    const li = document.createElement("li");
    const extra = kind === "nifti" && role ? `, ${role}` : "";
    li.textContent = `${path} — ${kind}${extra}, ${formatBytes(file.size)}`;
    return li;
  }));
  fillSliceRoles();
  suggestFunction();
}

/** Picks the function a file most likely wants, unless the user has picked one. */
function suggestFunction() {
  if (form.elements.fn.value || !state.files.length) return;
  const kinds = new Set(state.files.map((f) => f.kind));
  const dicoms = state.files.filter((f) => f.kind === "dicom").length;
  const seriesHere = !document.querySelector('[data-fn="series"]').hidden;
  const pick = kinds.has("nifti")
    ? "volume"
    : seriesHere && (kinds.has("zip") || dicoms > 1)
    ? "series"
    : kinds.has("dicom")
    ? "dicom"
    : null;
  if (pick && !document.querySelector(`[data-fn="${pick}"]`).hidden) selectFunction(pick);
}

function selectFunction(id) {
  const radio = form.querySelector(`input[name="fn"][value="${id}"]`);
  if (radio) radio.checked = true;
  showOptions();
}

/** Shows the options of the function picked, and only those. */
function showOptions() {
  const id = form.elements.fn.value;
  for (const div of document.querySelectorAll("#options [data-for]")) {
    div.hidden = div.dataset.for !== id;
  }
  $("#options .none").hidden = Boolean(id);
}

// ---------------------------------------------------------------------------------------------
// Wiring.

form.addEventListener("change", (e) => {
  if (e.target.name === "fn") showOptions();
  if (e.target.id === "dicom-window") $("#dicom-custom").hidden = e.target.value !== "custom";
});
fileInput.addEventListener("change", () => setFiles(fileInput.files));
// A chosen folder: every file under it, in natural order of their paths.
const folderInput = $("#folder");
folderInput.addEventListener("change", () => {
  setFiles(naturalOrder([...folderInput.files].map((file) => ({ file, path: pathOf(file) }))));
});
const drop = $("#drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  // A dropped folder is read through its entries (recursively); files come as they are.
  droppedFiles(e.dataTransfer).then((items) => items.length && setFiles(items)).catch(showError);
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = form.elements.fn.value;
  resetOutput();
  const button = $("#run");
  if (!id) {
    showError(new InputError("Pick a function first.", "#functions input:not([disabled])"));
    results.dataset.state = "error";
    return;
  }
  results.dataset.state = "busy";
  button.disabled = true;
  statusLine.textContent = `Running ${NAMES[id]}…`;
  const t0 = performance.now();
  try {
    await RUNNERS[id]();
    results.dataset.state = "done";
    statusLine.textContent = `${NAMES[id]}: done in ${(performance.now() - t0).toFixed(0)} ms.`;
  } catch (err) {
    showError(err);
    results.dataset.state = "error";
    statusLine.textContent = `${NAMES[id]}: failed.`;
  } finally {
    button.disabled = false;
    progressBar.hidden = true;
  }
});

showOptions();
discover();
