/**
 * medimg-edge page: drop files, pick a function, show the answer as pictures with its numbers and
 * the Server-Timing of each call. Native ES modules with no dependencies, served by
 * functions/page.ts: this one wires the form and the functions; viewer.js is the windowed image view
 * (drag for W/L, presets, value under the cursor, zoom), downloads.js the links that save each
 * answer, models.js which installed model each function can run. NIfTI volumes (.nii, .nii.gz
 * through DecompressionStream) are read here so a label volume can be browsed slice by slice.
 */
import { addDownloads, setDownload, stemOf } from "./downloads.js";
import { fillSelect, modelsByKind } from "./models.js";
import { fullWindow, viewer } from "./viewer.js";

const $ = (s) => document.querySelector(s);
const form = $("#run-form");
const fileInput = $("#file");
const results = $("#results");
const statusLine = $("#status");
const errorBox = $("#error");
const progressBar = $("#progress");

/** The route that tells whether each function is on this server. */
const ROUTES = {
  rle: "/rle/decode",
  dicom: "/dicom/render",
  mammo: "/mammo/preprocess",
  slice: "/segment/slice",
  cxr: "/cxr/classify",
  volume: "/segment/volume",
};
const NAMES = {
  rle: "RLE decode",
  dicom: "DICOM",
  mammo: "mammogram preprocess",
  slice: "slice segmentation",
  cxr: "chest X-ray classification",
  volume: "volume segmentation",
};
const MEDIA = {
  dicom: "application/dicom",
  png: "image/png",
  jpeg: "image/jpeg",
  tiff: "image/tiff",
  gif: "image/gif",
};

const state = { files: [], available: new Set(Object.keys(ROUTES)), openapi: null, urls: [] };

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
  $("#volume-model").disabled = !fillSelect($("#volume-model"), byKind.volume, "brats-demo");
  // The cxr route runs cxr-pneumonia whatever is installed beside it: shown, not chosen.
  fillSelect($("#cxr-model"), byKind.cxr, "cxr-pneumonia");
}

// ---------------------------------------------------------------------------------------------
// Files: what each is, from its first bytes (names only where bytes cannot tell).

async function sniff(file) {
  const head = new Uint8Array(await file.slice(0, 352).arrayBuffer());
  const name = file.name.toLowerCase();
  const text = (a, b) => String.fromCharCode(...head.subarray(a, b));
  if (text(1, 4) === "PNG" && head[0] === 0x89) return "png";
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  // DICM before TIFF: a DICOM preamble may itself be a TIFF header (PS3.10 7.5; CT_small.dcm's is).
  if (text(128, 132) === "DICM") return "dicom";
  if (text(0, 4) === "II*\0" || text(0, 4) === "MM\0*") return "tiff";
  if (text(0, 4) === "GIF8") return "gif";
  if (/\.nii(\.gz)?$/.test(name)) return "nifti";
  if (head.length >= 4) {
    const v = new DataView(head.buffer);
    if ([348, 540].includes(v.getInt32(0, true)) || [348, 540].includes(v.getInt32(0, false))) {
      return "nifti";
    }
  }
  if (/\.(dcm|dicom)$/.test(name) || (head[1] === 0 && (head[0] === 2 || head[0] === 8))) {
    return "dicom";
  }
  return "unknown";
}

/** BraTS role of a NIfTI file from its name: flair, t1, t1ce, t2 or seg (BraTS 2021 and 2023 names). */
function roleOf(name) {
  const n = name.toLowerCase().replace(/\.nii(\.gz)?$/, "");
  if (/(seg|label|mask|lesion)/.test(n)) return "seg";
  if (/(flair|t2f)$|flair/.test(n)) return "flair";
  if (/t1ce|t1c$/.test(n)) return "t1ce";
  if (/t2w?$/.test(n)) return "t2";
  if (/t1n?$/.test(n)) return "t1";
  return "";
}

async function setFiles(list) {
  state.files = await Promise.all(
    [...list].map(async (file) => ({ file, kind: await sniff(file), role: roleOf(file.name) })),
  );
  $("#file-list").replaceChildren(...state.files.map(({ file, kind, role }) => {
    const li = document.createElement("li");
    const extra = kind === "nifti" && role ? `, ${role}` : "";
    li.textContent = `${file.name} — ${kind}${extra}, ${formatBytes(file.size)}`;
    return li;
  }));
  fillSliceRoles();
  suggestFunction();
}

/**
 * Slice segmentation's three inputs among the files: the image, the ground truth and the field of
 * view, guessed from the names (DRIVE: `21_training.tif`, `21_manual1.gif`, `21_training_mask.gif`,
 * the last being the field of view), else by order; each can be changed in its select.
 */
function fillSliceRoles() {
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

/** Picks the function a file most likely wants, unless the user has picked one. */
function suggestFunction() {
  if (form.elements.fn.value || !state.files.length) return;
  const kinds = new Set(state.files.map((f) => f.kind));
  const pick = kinds.has("nifti") ? "volume" : kinds.has("dicom") ? "dicom" : null;
  if (pick && !document.querySelector(`[data-fn="${pick}"]`).hidden) selectFunction(pick);
}

function selectFunction(id) {
  const radio = form.querySelector(`input[name="fn"][value="${id}"]`);
  if (radio) radio.checked = true;
  showOptions();
}

function showOptions() {
  const id = form.elements.fn.value;
  for (const div of document.querySelectorAll("#options [data-for]")) {
    div.hidden = div.dataset.for !== id;
  }
  $("#options .none").hidden = Boolean(id);
}

function formatBytes(n) {
  return n < 1024
    ? `${n} B`
    : n < 1 << 20
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------
// JPEG in: decoded by the browser and sent as a PNG, since the mammo and cxr functions read DICOM
// and PNG. Those functions work on grey images, so the JPEG (often stored as RGB) becomes grey by
// the luma weights Pillow's convert("L") uses.

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function encodePng(pixels, width, height, channels) {
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const zlib = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const chunk = (type, data) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  const sig = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Blob(
    [sig, chunk("IHDR", ihdr), chunk("IDAT", zlib), chunk("IEND", new Uint8Array())],
    {
      type: "image/png",
    },
  );
}

async function jpegToGreyPng(file) {
  const bitmap = await createImageBitmap(file);
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const rgba = g.getImageData(0, 0, width, height).data;
  const grey = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < grey.length; i += 4, j++) {
    grey[j] = (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >>> 16;
  }
  return await encodePng(grey, width, height, 1);
}

/** The request body for a grey-image function and its media type. */
async function greyBodyOf(entry) {
  if (entry.kind === "jpeg") return { body: await jpegToGreyPng(entry.file), type: "image/png" };
  return { body: entry.file, type: MEDIA[entry.kind] ?? "application/octet-stream" };
}

/** A row-major Kaggle RLE (1-based start, length pairs) as a 0/255 mask. */
function kaggleRowMask(rle, width, height) {
  const mask = new Uint8Array(width * height);
  const n = String(rle ?? "").trim().split(/\s+/).map(Number).filter(Number.isFinite);
  for (let i = 0; i + 1 < n.length; i += 2) mask.fill(255, n[i] - 1, n[i] - 1 + n[i + 1]);
  return mask;
}

// ---------------------------------------------------------------------------------------------
// Calls: every failure becomes a ProblemError holding the problem+json body.

class ProblemError extends Error {
  constructor(problem, path) {
    super(problem.detail || problem.title || "error");
    this.problem = problem;
    this.path = path;
  }
}

/** A mistake on the page (no file, no text) with the control to fix it. */
class InputError extends Error {
  constructor(message, control) {
    super(message);
    this.control = control;
  }
}

async function call(path, { method = "POST", body, type, accept } = {}) {
  const headers = {};
  if (type) headers["content-type"] = type;
  if (accept) headers.accept = accept;
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ProblemError({ title: "No answer", detail: `${path}: ${err.message}` }, path);
  }
  if (!res.ok) {
    const text = await res.text();
    let problem;
    try {
      problem = JSON.parse(text);
    } catch {
      problem = {
        title: res.statusText || "Error",
        status: res.status,
        detail: text.slice(0, 400),
      };
    }
    problem.status ??= res.status;
    throw new ProblemError(problem, path);
  }
  return { res, ms: performance.now() - t0, path };
}

// ---------------------------------------------------------------------------------------------
// Output: a panel per result with pictures on one side and the numbers beside them.

/** A JSON answer as a file to save, indented as people read it. */
function jsonBlob(value) {
  return new Blob([JSON.stringify(value, null, 2) + "\n"], { type: "application/json" });
}

function objectUrl(blob) {
  const url = URL.createObjectURL(blob);
  state.urls.push(url);
  return url;
}

function resetOutput() {
  for (const url of state.urls.splice(0)) URL.revokeObjectURL(url);
  results.replaceChildren();
  errorBox.hidden = true;
  errorBox.replaceChildren();
  progressBar.hidden = true;
}

function panel(title) {
  const section = document.createElement("section");
  section.className = "result";
  const h = document.createElement("h3");
  h.textContent = title;
  const pics = document.createElement("div");
  pics.className = "pictures";
  const nums = document.createElement("div");
  nums.className = "numbers";
  section.append(h, pics, nums);
  results.append(section);
  return { section, pics, nums };
}

async function addPicture(p, source, alt, caption) {
  const figure = document.createElement("figure");
  let el = source;
  if (source instanceof Blob) {
    el = new Image();
    el.alt = alt;
    el.src = objectUrl(source);
    await el.decode().catch(() => {
      throw new ProblemError({
        title: "Unreadable picture",
        detail: `the answer for "${caption}" is not an image`,
      });
    });
    // Small answers (a 224 x 224 model input, a 100 x 100 mask) are shown larger, pixels kept.
    if (el.naturalWidth <= 320 && el.naturalHeight <= 320) el.classList.add("zoom");
  } else {
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", alt);
  }
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  figure.append(el, cap);
  p.pics.append(figure);
  return el;
}

function formatValue(v) {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  }
  if (v === null || v === undefined) return "—";
  return String(v);
}

function flatten(obj, prefix = "", out = []) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v) && v.length === 0) out.push([key, "none"]);
    else if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) {
      out.push([
        key,
        v.length > 12
          ? `${v.slice(0, 12).map(formatValue).join(", ")}, … (${v.length})`
          : v.map(formatValue).join(", "),
      ]);
    } else if (v && typeof v === "object") flatten(v, key, out);
    else out.push([key, formatValue(v)]);
  }
  return out;
}

function addTable(p, caption, rows, className = "") {
  const table = document.createElement("table");
  if (className) table.className = className;
  const cap = document.createElement("caption");
  cap.textContent = caption;
  const body = document.createElement("tbody");
  for (const [k, v] of rows.slice(0, 80)) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = k;
    const td = document.createElement("td");
    td.textContent = v;
    tr.append(th, td);
    body.append(tr);
  }
  table.append(cap, body);
  p.nums.append(table);
  return table;
}

function addNumbers(p, caption, obj) {
  return addTable(p, caption, flatten(obj), "numbers-table");
}

/** Server-Timing (`name;dur=1.2;desc="..."`) of each call, with the round trip seen here. */
function addTiming(p, ...calls) {
  for (const { res, ms, path } of calls) {
    const rows = [];
    for (const part of (res.headers.get("server-timing") ?? "").split(",")) {
      const [name, ...params] = part.trim().split(";").map((x) => x.trim());
      if (!name) continue;
      const dur = params.find((x) => x.startsWith("dur="));
      const desc = params.find((x) => x.startsWith("desc="));
      rows.push([
        desc ? desc.slice(5).replace(/^"|"$/g, "") : name,
        dur ? `${Number(dur.slice(4)).toFixed(1)} ms` : "—",
      ]);
    }
    rows.push(["round trip seen here", `${ms.toFixed(0)} ms`]);
    addTable(p, `Server-Timing: ${path}`, rows, "timing-table");
  }
}

function showError(err) {
  errorBox.replaceChildren();
  const h = document.createElement("h3");
  const p = document.createElement("p");
  if (err instanceof ProblemError) {
    const pr = err.problem;
    h.textContent = `${pr.title ?? "Error"}${pr.status ? ` (${pr.status})` : ""}`;
    p.textContent = pr.detail ?? err.message;
    const extra = Object.entries(pr).filter(([k]) =>
      !["title", "status", "detail", "type"].includes(k)
    );
    const dl = document.createElement("dl");
    for (const [k, v] of [["call", err.path], ...extra]) {
      if (v === undefined) continue;
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = typeof v === "object" ? JSON.stringify(v) : String(v);
      dl.append(dt, dd);
    }
    errorBox.append(h, p, dl);
  } else {
    h.textContent = err instanceof InputError ? "Check the form" : "Something failed on this page";
    p.textContent = err.message;
    errorBox.append(h, p);
    if (err.control) $(err.control)?.focus();
  }
  errorBox.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Overlays: a mask drawn in colour over its image.

async function bitmapOf(source) {
  return source instanceof ImageBitmap ? source : await createImageBitmap(source);
}

/** Canvas with `base` in grey and the non-zero pixels of `mask` in translucent red. */
async function overlay(base, mask) {
  const [b, m] = await Promise.all([bitmapOf(base), bitmapOf(mask)]);
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [b.width, b.height];
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(m, 0, 0);
  const mk = g.getImageData(0, 0, b.width, b.height).data;
  g.drawImage(b, 0, 0);
  const img = g.getImageData(0, 0, b.width, b.height);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    if (mk[i] > 0) [d[i], d[i + 1], d[i + 2]] = [(d[i] + 255) >> 1, d[i + 1] >> 1, d[i + 2] >> 1];
  }
  g.putImageData(img, 0, 0);
  return canvas;
}

// ---------------------------------------------------------------------------------------------
// The functions.

function oneFile(kinds, what) {
  const f = state.files.find((e) => kinds.includes(e.kind)) ?? state.files[0];
  if (!f) throw new InputError(`Drop or choose ${what} first.`, "#file");
  return f;
}

const images = ["dicom", "png", "jpeg", "tiff", "gif", "unknown"];

/** Typed arrays by the X-Image-Dtype of raw answers. */
const TYPED = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

const RUNNERS = {
  async rle() {
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
  },

  async dicom() {
    const f = oneFile(["dicom", "unknown"], "a DICOM file");
    const frame = $("#dicom-frame").value || "0";
    const win = $("#dicom-window").value;
    const q = new URLSearchParams({ frame });
    if (win === "custom") {
      q.set("center", $("#dicom-center").value);
      q.set("width", $("#dicom-width").value);
    } else q.set("window", win);
    const type = MEDIA.dicom;
    // The true values (Modality LUT applied: HU for CT) for the view, and the window the route
    // applies for the option chosen, which the view opens with.
    const raw = new URLSearchParams({ frame, window: "minmax", format: "raw" });
    const [values, info, applied] = await Promise.all([
      call(`${ROUTES.dicom}?${raw}`, { body: f.file, type, accept: "application/octet-stream" }),
      call("/dicom/info", { body: f.file, type, accept: "application/json" }),
      call(`${ROUTES.dicom}?${q}&format=json`, { body: f.file, type, accept: "application/json" })
        .catch((err) => err),
    ]);
    // A dataset window the route cannot use (3D-IRCADb's width 0) is not the end: the view opens
    // on the frame's min-max and says why.
    let note = "";
    if (applied instanceof Error) {
      if (
        !(applied instanceof ProblemError && applied.problem.status === 422 && win === "dataset")
      ) {
        throw applied;
      }
      note = `the dataset's window is unusable (${applied.problem.detail}): min-max shown`;
    }
    const render = applied instanceof Error ? null : await applied.res.json();
    const meta = await info.res.json();
    const p = panel(`DICOM: ${f.file.name}`);
    const h = (k) => values.res.headers.get(`x-image-${k}`);
    const [width, height, channels] = ["width", "height", "channels"].map((k) => Number(h(k)));
    const bytes = await values.res.arrayBuffer();
    const stem = `${stemOf(f.file.name)}_frame${frame}`;
    const downloads = addDownloads(p.nums, objectUrl, [
      {
        blob: new Blob([bytes], { type: "application/octet-stream" }),
        name: `${stem}_${width}x${height}x${channels}_${h("dtype")}le.raw`,
        label: `values (raw little-endian ${h("dtype")})`,
      },
      { blob: jsonBlob(meta), name: `${stemOf(f.file.name)}_info.json`, label: "metadata (JSON)" },
    ]);
    const Typed = TYPED[h("dtype")];
    if (channels !== 1 || !Typed) {
      // Colour frames have no window: the route's PNG is the picture.
      const png = await call(`${ROUTES.dicom}?${q}`, { body: f.file, type, accept: "image/png" });
      const blob = await png.res.blob();
      await addPicture(p, blob, `Frame ${frame} of ${f.file.name}`, `frame ${frame}`);
      setDownload(downloads, objectUrl, { blob, name: `${stem}.png`, label: "frame (PNG)" });
      addNumbers(p, "Metadata", meta);
      addTiming(p, values, info, png);
      return;
    }
    const data = new Typed(bytes);
    let [min, max] = [Infinity, -Infinity];
    for (const v of data) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const unit = meta.modality === "CT" ? "HU" : "";
    const given = render?.applied?.window;
    const initial = given && given.width >= 1
      ? { center: given.center, width: given.width }
      : fullWindow(min, max);
    const invert = render?.applied?.inverted === true;
    // Named as the route applied it: the route may itself replace an unusable dataset window.
    const initialName = note
      ? "min-max (the dataset's is unusable)"
      : given
      ? `as rendered (W ${given.width}, L ${given.center})`
      : "min-max";
    let viewDownload;
    const v = viewer(p.pics, {
      id: "dicom",
      width,
      height,
      unit,
      integer: Number.isInteger(min) && Number.isInteger(max) && !(data instanceof Float32Array),
      range: [min, max],
      initial,
      initialName,
      valueAt: (x, y) => data[y * width + x],
      paint(rgba, toByte) {
        for (let i = 0, o = 0; i < data.length; i++, o += 4) {
          const b = invert ? 255 - toByte(data[i]) : toByte(data[i]);
          rgba[o] = rgba[o + 1] = rgba[o + 2] = b;
          rgba[o + 3] = 255;
        }
      },
      // The picture as shown, saved at the window of the moment.
      onWindow: () => saveView(),
    });
    v.setCaption(`Frame ${frame} of ${f.file.name}${note ? `; ${note}` : ""}`);
    let pending = 0;
    const saveView = () => {
      const ticket = ++pending;
      clearTimeout(viewDownload);
      viewDownload = setTimeout(() =>
        v.canvas.toBlob((blob) => {
          if (!blob || ticket !== pending) return;
          const { center, width: ww } = v.window;
          setDownload(downloads, objectUrl, {
            blob,
            name: `${stem}_W${Math.round(ww)}_L${Math.round(center)}.png`,
            label: "view as shown (PNG)",
            key: "view",
          });
        }, "image/png"), 150);
    };
    saveView();
    addNumbers(p, "Metadata", meta);
    addTiming(p, values, info, ...(render ? [applied] : []));
  },

  async mammo() {
    const f = oneFile(images, "a mammogram (DICOM, PNG or JPEG)");
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
  },

  async slice() {
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
  },

  async cxr() {
    const f = oneFile(images, "a chest X-ray (DICOM, PNG or JPEG)");
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
  },

  async volume() {
    const niftis = state.files.filter((e) => e.kind === "nifti");
    if (!niftis.length) throw new InputError("Drop NIfTI files (.nii or .nii.gz) first.", "#file");
    const byRole = Object.fromEntries(niftis.map((e) => [e.role || e.file.name, e]));
    const p = panel(`Volume: ${niftis.map((e) => e.file.name).join(", ")}`);
    const overlays = [];
    let job = null;
    if (state.available.has("volume") && ["flair", "t1", "t1ce", "t2"].every((r) => byRole[r])) {
      job = await volumeJob(byRole);
      overlays.push({ name: "predicted labels", volume: job.volume });
    }
    const baseEntry = byRole.flair ?? niftis.find((e) => e.role !== "seg") ?? niftis[0];
    statusLine.textContent = "Reading the NIfTI files…";
    const base = await readNifti(baseEntry.file);
    if (byRole.seg) {
      overlays.push({ name: byRole.seg.file.name, volume: await readNifti(byRole.seg.file) });
    }
    for (const o of overlays) {
      if (o.volume.dims.join() !== base.dims.join()) {
        throw new InputError(
          `${o.name} is ${o.volume.dims.join("×")} but ${baseEntry.file.name} is ${
            base.dims.join("×")
          }.`,
          "#file",
        );
      }
    }
    volumeViewer(p, base, baseEntry.file.name, overlays);
    if (job) {
      const stem = `${stemOf(byRole.flair.file.name).replace(/[_-]?(flair|t2f)$/i, "")}_${
        job.summary.model?.name ?? job.model ?? "volume"
      }`;
      addDownloads(p.nums, objectUrl, [
        {
          blob: new Blob([job.bytes], { type: "application/gzip" }),
          name: `${stem}_labels.nii.gz`,
          label: "label volume (NIfTI)",
        },
        { blob: jsonBlob(job.summary), name: `${stem}.json`, label: "numbers (JSON)" },
      ]);
      // The job's stage timings come back as the result's Server-Timing.
      const { links: _l, timings_ms: _t, ...numbers } = job.summary;
      addNumbers(p, "Numbers", numbers);
      addTiming(p, ...job.calls);
    }
  },
};

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

// ---------------------------------------------------------------------------------------------
// Volume jobs: four files up, progress over server-sent events, the label volume back as NIfTI.

async function volumeJob(byRole) {
  const fd = new FormData();
  for (const r of ["flair", "t1", "t1ce", "t2", "seg"]) {
    if (byRole[r]) fd.append(r, byRole[r].file, byRole[r].file.name);
  }
  statusLine.textContent = "Uploading the volumes…";
  const model = $("#volume-model").value;
  const path = model ? `${ROUTES.volume}?${new URLSearchParams({ model })}` : ROUTES.volume;
  const start = await call(path, { body: fd, accept: "application/json" });
  const job = await start.res.json();
  const events = job.links?.events ?? `${ROUTES.volume}/jobs/${job.id}`;
  const result = job.links?.result ?? `${events}/result`;
  progressBar.hidden = false;
  progressBar.removeAttribute("value");
  const summary = await new Promise((resolve, reject) => {
    const es = new EventSource(events);
    const data = (e) => JSON.parse(e.data || "{}");
    es.addEventListener("state", (e) => {
      statusLine.textContent = `Volume job ${job.id}: ${data(e).state}…`;
    });
    es.addEventListener("progress", (e) => {
      const d = data(e);
      if (d.total) [progressBar.max, progressBar.value] = [d.total, d.done ?? 0];
      statusLine.textContent = `Volume job: ${d.stage}${
        d.total ? ` ${d.done} of ${d.total}` : ""
      }…`;
    });
    es.addEventListener("result", (e) => {
      es.close();
      resolve(data(e));
    });
    es.addEventListener("error", (e) => {
      if (e.data) {
        // The job failed: the event carries the problem the route would have answered.
        es.close();
        const err = data(e).error ?? {};
        reject(
          new ProblemError({
            title: "The volume job failed",
            status: err.status,
            detail: err.message,
            code: err.code,
            ...err.facts,
          }, events),
        );
      } else if (es.readyState === EventSource.CLOSED) {
        reject(
          new ProblemError({
            title: "Progress lost",
            detail: `the event stream ${events} could not be read`,
          }, events),
        );
      } // else the browser reconnects and the server replays from Last-Event-ID
    });
  });
  progressBar.value = progressBar.max;
  statusLine.textContent = "Fetching the label volume…";
  const nii = await call(result, { method: "GET", accept: "application/gzip" });
  const bytes = new Uint8Array(await nii.res.arrayBuffer());
  const volume = await niftiFromBytes(bytes, "the label volume");
  return { volume, bytes, summary, model: model || job.model, calls: [start, nii] };
}

// ---------------------------------------------------------------------------------------------
// NIfTI-1/2 reader (either byte order, gzip or not), first volume of 4D files, scaled by scl_slope.

const DTYPES = {
  2: ["Uint8", 1],
  4: ["Int16", 2],
  8: ["Int32", 4],
  16: ["Float32", 4],
  64: ["Float64", 8],
  256: ["Int8", 1],
  512: ["Uint16", 2],
  768: ["Uint32", 4],
};

async function readNifti(file) {
  return await niftiFromBytes(new Uint8Array(await file.arrayBuffer()), file.name);
}

async function niftiFromBytes(bytes, name) {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return parseNifti(bytes, name);
}

function parseNifti(bytes, name) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why) => {
    throw new InputError(`${name} is not a NIfTI volume this page reads: ${why}.`, "#file");
  };
  if (bytes.length < 348) fail("it is shorter than a header");
  let le = true;
  let size = v.getInt32(0, true);
  if (size !== 348 && size !== 540) [le, size] = [false, v.getInt32(0, false)];
  if (size !== 348 && size !== 540) fail("sizeof_hdr is neither 348 nor 540");
  const two = size === 540;
  const dim = [], pixdim = [];
  for (let i = 0; i < 8; i++) {
    dim.push(two ? Number(v.getBigInt64(16 + 8 * i, le)) : v.getInt16(40 + 2 * i, le));
    pixdim.push(two ? v.getFloat64(104 + 8 * i, le) : v.getFloat32(76 + 4 * i, le));
  }
  const datatype = v.getInt16(two ? 12 : 70, le);
  const offset = two ? Number(v.getBigInt64(168, le)) : Math.floor(v.getFloat32(108, le));
  const slope = two ? v.getFloat64(176, le) : v.getFloat32(112, le);
  const inter = two ? v.getFloat64(184, le) : v.getFloat32(116, le);
  if (!(offset >= (two ? 544 : 352))) fail(`vox_offset ${offset} is inside the header`);
  const dt = DTYPES[datatype];
  if (!dt) fail(`datatype ${datatype} is not a scalar type`);
  const [nx, ny, nz] = [1, 2, 3].map((i) => (i <= dim[0] ? Math.max(1, dim[i]) : 1));
  const n = nx * ny * nz;
  if (offset + n * dt[1] > bytes.length) {
    fail(`its ${nx}×${ny}×${nz} voxels run past the end of the file`);
  }
  const data = new Float32Array(n);
  const get = DataView.prototype[`get${dt[0]}`];
  const scale = slope !== 0 && Number.isFinite(slope) && !(slope === 1 && inter === 0);
  for (let i = 0, o = offset; i < n; i++, o += dt[1]) {
    const x = get.call(v, o, le);
    data[i] = scale ? x * slope + inter : x;
  }
  return {
    dims: [nx, ny, nz],
    spacing: [1, 2, 3].map((i) => Math.abs(pixdim[i]) || 1),
    datatype: dt[0].toLowerCase(),
    version: two ? 2 : 1,
    endian: le ? "little" : "big",
    data,
    integer: !scale && !dt[0].startsWith("Float"),
  };
}

// ---------------------------------------------------------------------------------------------
// The viewer: one axial slice of the image with the labels over it, a slider through the slices.

const LABEL_COLOURS = { 1: [255, 40, 40], 2: [40, 220, 40], 3: [60, 120, 255], 4: [255, 220, 0] };
const LABEL_NAMES = { 1: "necrotic core", 2: "oedema", 3: "label 3", 4: "enhancing tumour" };

function windowOf(data) {
  const step = Math.max(1, Math.floor(data.length / 200000));
  const sample = [];
  for (let i = 0; i < data.length; i += step) {
    if (data[i] !== 0 && Number.isFinite(data[i])) sample.push(data[i]);
  }
  if (!sample.length) return [0, 1];
  sample.sort((a, b) => a - b);
  const lo = sample[Math.floor(sample.length * 0.005)],
    hi = sample[Math.floor(sample.length * 0.995)];
  return [lo, hi > lo ? hi : lo + 1];
}

/** Voxels per label of a label volume, and the slice that holds most of them. */
function labelStats(lab, sliceSize) {
  const counts = new Map();
  const perSlice = new Uint32Array(lab.data.length / sliceSize);
  for (let i = 0; i < lab.data.length; i++) {
    const l = Math.round(lab.data[i]);
    if (l > 0) {
      counts.set(l, (counts.get(l) ?? 0) + 1);
      perSlice[Math.floor(i / sliceSize)]++;
    }
  }
  const best = perSlice.reduce((bz, n, z) => (n > perSlice[bz] ? z : bz), 0);
  return { counts, best: perSlice[best] > 0 ? best : Math.floor(perSlice.length / 2) };
}

function volumeViewer(p, base, baseName, overlays) {
  const [nx, ny, nz] = base.dims;
  const [lo, hi] = windowOf(base.data);
  const stats = overlays.map((o) => labelStats(o.volume, nx * ny));
  let [min, max] = [Infinity, -Infinity];
  for (const v of base.data) {
    if (Number.isFinite(v)) [min, max] = [Math.min(min, v), Math.max(max, v)];
  }
  const control = (tag, props, text) => {
    const el = Object.assign(document.createElement(tag), props);
    const label = Object.assign(document.createElement("label"), {
      htmlFor: props.id,
      textContent: text,
    });
    return [label, el];
  };
  const [sliceLabel, slider] = control("input", {
    type: "range",
    id: "volume-slice",
    min: 0,
    max: nz - 1,
    value: stats[0]?.best ?? Math.floor(nz / 2),
  });
  const [alphaLabel, alpha] = control("input", {
    type: "range",
    id: "volume-alpha",
    min: 0,
    max: 100,
    value: 50,
  }, "Label opacity");
  const [whichLabel, which] = control("select", { id: "volume-overlay" }, "Labels shown");
  which.append(...overlays.map((o, i) => new Option(o.name, String(i))));
  const controls = document.createElement("div");
  controls.className = "slider";
  controls.append(sliceLabel, slider);
  if (overlays.length) controls.append(alphaLabel, alpha);
  if (overlays.length > 1) controls.append(whichLabel, which);

  // Rows from the top of the picture are the highest y: anterior up for RAS-stored volumes.
  const voxel = (x, y, z) => x + nx * (ny - 1 - y + ny * z);
  const view = viewer(p.pics, {
    id: "volume",
    width: nx,
    height: ny,
    integer: base.integer,
    range: [min, max],
    // The 0.5-99.5 percentiles of the non-zero voxels: MR has no standard window.
    initial: { center: (lo + hi) / 2, width: hi - lo },
    initialName: "0.5-99.5 percentile",
    valueAt: (x, y) => base.data[voxel(x, y, Number(slider.value))],
    paint(d, toByte) {
      const z = Number(slider.value), a = Number(alpha.value) / 100;
      const lab = overlays[Number(which.value)]?.volume;
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const i = voxel(x, y, z), o = (y * nx + x) * 4;
          const grey = toByte(base.data[i]);
          let [r, gg, b] = [grey, grey, grey];
          const l = lab ? Math.round(lab.data[i]) : 0;
          const c = l > 0 && (LABEL_COLOURS[l] ?? [255, 0, 255]);
          if (c) [r, gg, b] = [r + (c[0] - r) * a, gg + (c[1] - gg) * a, b + (c[2] - b) * a];
          [d[o], d[o + 1], d[o + 2], d[o + 3]] = [r, gg, b, 255];
        }
      }
    },
  });
  const canvas = view.canvas;
  const draw = () => {
    const z = Number(slider.value);
    view.redraw();
    sliceLabel.textContent = `Axial slice ${z + 1} of ${nz}`;
    slider.setAttribute("aria-valuetext", `slice ${z + 1} of ${nz}`);
    canvas.dataset.slice = String(z);
    const shown = overlays[Number(which.value)]?.name;
    const text = shown ? `${baseName} with ${shown} over it` : baseName;
    view.setCaption(text);
    canvas.setAttribute("aria-label", `${text}, axial slice ${z + 1} of ${nz}`);
  };
  canvas.closest("figure").after(controls);
  for (const el of [slider, alpha, which]) el.addEventListener("input", draw);
  draw();

  addNumbers(p, "Image", {
    file: baseName,
    size: base.dims.join(" × "),
    spacing_mm: base.spacing.map((s) => Number(s.toFixed(3))),
    datatype: `${base.datatype} (NIfTI-${base.version}, ${base.endian} endian)`,
    display_window: [lo, hi],
  });
  const voxelMl = base.spacing.reduce((x, y) => x * y, 1) / 1000;
  overlays.forEach((o, k) => {
    const labels = [...stats[k].counts.keys()].sort((x, y) => x - y);
    const rows = labels.map((l) => {
      const n = stats[k].counts.get(l);
      return [`${l} ${LABEL_NAMES[l] ?? ""}`.trim(), `${n} voxels, ${(n * voxelMl).toFixed(2)} mL`];
    });
    const t = addTable(
      p,
      `Labels (${o.name})`,
      rows.length ? rows : [["none", "no labelled voxel"]],
      "labels-table",
    );
    labels.forEach((l, i) => {
      const c = LABEL_COLOURS[l];
      if (c) t.tBodies[0].rows[i].cells[0].style.setProperty("--swatch", `rgb(${c.join(",")})`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring.

form.addEventListener("change", (e) => {
  if (e.target.name === "fn") showOptions();
  if (e.target.id === "dicom-window") $("#dicom-custom").hidden = e.target.value !== "custom";
});
fileInput.addEventListener("change", () => setFiles(fileInput.files));
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
  if (e.dataTransfer?.files?.length) setFiles(e.dataTransfer.files);
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
