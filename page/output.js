/**
 * The results: a panel per result with pictures on one side and the numbers beside them (tables,
 * the Server-Timing of each call), the object URLs its pictures and downloads use (revoked with the
 * result), and masks drawn in colour over their image on a canvas.
 */
import { clearError, ProblemError } from "./api.js";
import { progressBar, results } from "./state.js";

/** The object URLs of the result shown, revoked when the next run starts. */
const urls = [];

/** A JSON answer as a file to save, indented as people read it. */
export function jsonBlob(value) {
  return new Blob([JSON.stringify(value, null, 2) + "\n"], { type: "application/json" });
}

/** An object URL for `blob`, revoked with the result. */
export function objectUrl(blob) {
  const url = URL.createObjectURL(blob);
  urls.push(url);
  return url;
}

/** Clears the last result: its panels, URLs, alert and progress. */
export function resetOutput() {
  for (const url of urls.splice(0)) URL.revokeObjectURL(url);
  results.replaceChildren();
  clearError();
  progressBar.hidden = true;
}

/** A result's panel: {section, pics, nums}, appended to the results. */
export function panel(title) {
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

/**
 * A figure in the panel's pictures: a Blob answer decoded as an image (a ProblemError when it is
 * not one; small ones shown larger, pixels kept), or a canvas as it is. Answers the element.
 */
export async function addPicture(p, source, alt, caption) {
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

/** A captioned two-column table (key, value) in the panel's numbers, at most 80 rows. */
export function addTable(p, caption, rows, className = "") {
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

/** A JSON answer's fields as a table, nested keys dotted (`input.width`), long lists cut. */
export function addNumbers(p, caption, obj) {
  return addTable(p, caption, flatten(obj), "numbers-table");
}

/** Server-Timing (`name;dur=1.2;desc="..."`) of each call, with the round trip seen here. */
export function addTiming(p, ...calls) {
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

// Overlays: a mask drawn in colour over its image.

async function bitmapOf(source) {
  return source instanceof ImageBitmap ? source : await createImageBitmap(source);
}

/** Canvas with `base` in grey and the non-zero pixels of `mask` in translucent red. */
export async function overlay(base, mask) {
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
