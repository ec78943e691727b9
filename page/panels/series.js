/**
 * DICOM series segmentation: the dropped DICOM files (a folder's, read recursively), zipped here,
 * and any dropped zips go to /segment/series as one series, as a job (per-slice progress over
 * server-sent events); the label volume comes back as NIfTI and the numbers with the result
 * event. The slices are shown as the service renders them (/dicom/render's raw values of each
 * instance, fetched when the slice is first shown), each matched to its z in the label volume by
 * /dicom/info's ImagePositionPatient against the NIfTI's affine (series.js slicePlan), with the
 * labels over them in the card's colours; slider, slice number and arrow keys step through them.
 * The SEG is made on request (a second job: a job answers the one format it was asked for).
 */
import { call, InputError, MEDIA, ROUTES, showError, TYPED } from "../api.js";
import { addDownloads, setDownload, stemOf } from "../downloads.js";
import { formatBytes, sniff } from "../files.js";
import { followJob } from "../jobs.js";
import { modelsByKind } from "../models.js";
import { niftiFromBytes } from "../nifti.js";
import { addNumbers, addTable, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { labelStyles, paintSlice, slicePlan, stepSlice } from "../series.js";
import { $, progressBar, state, statusLine } from "../state.js";
import { fullWindow, PRESETS, viewer } from "../viewer.js";
import { unzip, zip } from "../zip.js";

/** The view on the page now: its step(z) for the arrow keys. */
let current = null;

// Arrow keys, Page Up/Down, Home and End step through the slices when no control that uses them
// (a slider, a field, the picture, which uses arrows for the window) has the focus.
document.addEventListener("keydown", (e) => {
  if (!current?.canvas.isConnected || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.target.closest?.("input, select, textarea, canvas")) return;
  const z = stepSlice(current.z(), e.key, current.depth);
  if (z === null) return;
  e.preventDefault();
  current.show(z);
});

/** Runs the model over the dropped series and shows its slices with the labels over them. */
export async function run() {
  const parts = state.files.filter((e) => e.kind === "dicom" || e.kind === "zip");
  if (!parts.length) {
    throw new InputError("Drop a folder of DICOM files (or a zip of one) first.", "#folder");
  }
  const model = $("#series-model").value;
  if (!model) {
    throw new InputError("No 2D segmentation model is installed on this server.", "#series-model");
  }
  // The DICOM files go up as one zip made here (deflated: fewer bytes, and 3D-IRCADb's 129 slices
  // are over the 64 MiB body limit as they are), each dropped zip as it is.
  const files = parts.filter((e) => e.kind !== "zip");
  statusLine.textContent = `Packing ${files.length} DICOM file(s) into a zip…`;
  // Files of the same name (dropped from two folders) stay two entries.
  const names = new Set();
  const unique = (name, i) => (names.has(name) ? `${name}~${i}` : (names.add(name), name));
  const packed = files.length
    ? await zip(
      await Promise.all(files.map(async (e, i) => ({
        name: unique(e.path ?? e.file.name, i),
        bytes: new Uint8Array(await e.file.arrayBuffer()),
      }))),
    )
    : null;
  const upload = (packed?.size ?? 0) +
    parts.reduce((n, e) => n + (e.kind === "zip" ? e.file.size : 0), 0);
  const form = () => {
    const fd = new FormData();
    if (packed) fd.append("instance", packed, "series.zip");
    for (const e of parts) if (e.kind === "zip") fd.append("instance", e.file, e.file.name);
    return fd;
  };
  const job = async (format) => {
    const q = new URLSearchParams({ model, format, job: "1" });
    const start = await call(`${ROUTES.series}?${q}`, { body: form(), accept: "application/json" });
    const j = await start.res.json();
    const events = j.links?.events ?? `${ROUTES.series}/jobs/${j.id}`;
    const summary = await followJob(events, `Series job (${format})`);
    const result = j.links?.result ?? `${events}/result`;
    const file = await call(result, { method: "GET", accept: MEDIA_OF[format] });
    const bytes = new Uint8Array(await file.res.arrayBuffer());
    // A finished job holds its place in the service's queue (4 series jobs by default) until it
    // expires: the page has what it needs, so it lets it go.
    await fetch(j.links?.self ?? `${ROUTES.series}/jobs/${j.id}`, { method: "DELETE" })
      .then((r) => r.body?.cancel()).catch(() => {});
    return { start, summary, file, bytes };
  };

  statusLine.textContent = `Uploading the series (${formatBytes(upload)} zipped)…`;
  const nifti = await job("nifti");
  const labels = await niftiFromBytes(nifti.bytes, "the label volume");
  const { summary } = nifti;
  statusLine.textContent = "Reading the instances for the pictures…";
  const candidates = await instancesOf(parts);
  const infos = await mapLimit(
    candidates,
    4,
    (c) =>
      call("/dicom/info", { body: c.blob, type: MEDIA.dicom, accept: "application/json" })
        .then((r) => r.res.json()).catch(() => null),
  );
  const [nx, ny, nz] = labels.dims;
  const plan = slicePlan(infos, labels.srow, summary.series.ordering, nz);

  const name = seriesName(parts);
  const p = panel(`Series: ${name}, ${nz} slices, ${model}`);
  const present = Object.keys(summary.volumes).map(Number).sort((a, b) => a - b);
  const styles = labelStyles(await cardOf(model), present);
  const view = await seriesView(p, {
    labels,
    nx,
    ny,
    nz,
    plan,
    candidates,
    infos,
    styles,
    summary,
  });
  current = view;

  const stem = `${stemOf(name)}_${summary.model?.name ?? model}`;
  const { links: _l, job: _j, timings_ms: _t, volumes, slices, ...rest } = summary;
  const downloads = addDownloads(p.nums, objectUrl, [
    {
      blob: new Blob([nifti.bytes], { type: "application/gzip" }),
      name: `${stem}_labels.nii.gz`,
      label: "label volume (NIfTI)",
    },
    { blob: jsonBlob(summary), name: `${stem}.json`, label: "numbers (JSON)" },
  ]);
  const segButton = Object.assign(document.createElement("button"), {
    type: "button",
    id: "series-seg",
    textContent: "Download the SEG (.dcm)",
  });
  segButton.addEventListener("click", async () => {
    segButton.disabled = true;
    try {
      const seg = await job("seg");
      const a = setDownload(downloads, objectUrl, {
        blob: new Blob([seg.bytes], { type: "application/dicom" }),
        name: `${stem}_seg.dcm`,
        label: "segmentation (DICOM SEG)",
      });
      statusLine.textContent = "The SEG is made: saving it.";
      a.click();
    } catch (err) {
      showError(err);
    } finally {
      segButton.disabled = false;
      progressBar.hidden = true;
    }
  });
  downloads.parentElement.append(segButton);

  const volumeRows = present.map((l) => [
    `${l} ${styles.get(l).name}`,
    `${volumes[l].voxels} voxels, ${volumes[l].ml.toFixed(2)} mL`,
  ]);
  const t = addTable(
    p,
    "Volume per label",
    volumeRows.length ? volumeRows : [["none", "no labelled voxel"]],
    "labels-table",
  );
  present.forEach((l, i) => {
    t.tBodies[0].rows[i].cells[0].style.setProperty("--swatch", `rgb(${styles.get(l).rgb})`);
  });
  // The slices with labels (the slider shows every slice's); a table holds 80 rows.
  const labelled = slices.filter((s) => s.pixels > 0);
  addTable(
    p,
    labelled.length > 80
      ? `Area per slice (the first 80 of ${labelled.length} labelled slices)`
      : `Area per slice (${labelled.length} labelled slices)`,
    labelled.map((s) => [`slice ${s.z + 1}`, `${s.pixels} px, ${s.mm2.toFixed(1)} mm²`]),
    "numbers-table",
  );
  addNumbers(p, "Numbers", rest);
  addTiming(p, nifti.start, nifti.file);
  view.show(view.z());
}

/** The media type of each answer format. */
const MEDIA_OF = { nifti: "application/gzip", seg: "application/dicom" };

/** What to call the series: the folder of its first file, else that file's name (no .zip). */
function seriesName(parts) {
  const path = parts[0].path ?? parts[0].file.name;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  return dir.split("/").filter(Boolean).join("_") ||
    parts[0].file.name.replace(/\.zip$/i, "") || "series";
}

/** The installed model's card (from GET /models), or null. */
async function cardOf(name) {
  return (await modelsByKind()).slice.find((m) => m.name === name)?.card ?? null;
}

/** The DICOM files a preview can come from: the parts, and the DICOM entries of the zips. */
async function instancesOf(parts) {
  const out = [];
  for (const e of parts) {
    if (e.kind !== "zip") {
      out.push({ name: e.path ?? e.file.name, blob: e.file });
      continue;
    }
    try {
      for (const z of (await unzip(new Uint8Array(await e.file.arrayBuffer()))).entries) {
        const file = new File([z.bytes], z.name);
        if ((await sniff(file)) === "dicom") {
          out.push({ name: `${e.file.name}/${z.name}`, blob: file });
        }
      }
    } catch { /* unreadable here: the slices of this zip are shown without their pictures */ }
  }
  return out;
}

/** `fn` over `items`, at most `limit` at once, in order. */
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The slice view: the picture (viewer.js: window by drag or preset, value under the cursor), a
 * slider and a slice number, the opacity of the labels, and the labelled area of the slice shown.
 * Answers {canvas, depth, z(), show(z)}.
 */
async function seriesView(p, { labels, nx, ny, nz, plan, candidates, infos, styles, summary }) {
  const pixels = new Map();
  /** The raw values of slice z as /dicom/render answers them (once per slice), or null. */
  const valuesOf = (z) => {
    if (!pixels.has(z)) {
      const { instance, frame } = plan[z];
      const c = candidates[instance];
      const q = new URLSearchParams({ frame: String(frame), window: "minmax", format: "raw" });
      pixels.set(
        z,
        !c ? Promise.resolve(null) : call(`${ROUTES.dicom}?${q}`, {
          body: c.blob,
          type: MEDIA.dicom,
          accept: "application/octet-stream",
        }).then(async ({ res }) => {
          const Typed = TYPED[res.headers.get("x-image-dtype")];
          const [w, h, ch] = ["width", "height", "channels"].map((k) =>
            Number(res.headers.get(`x-image-${k}`))
          );
          return Typed && w === nx && h === ny && ch === 1
            ? new Typed(await res.arrayBuffer())
            : null;
        }).catch(() => null),
      );
    }
    return pixels.get(z);
  };
  const perSlice = new Map(summary.slices.map((s) => [s.z, s]));
  const best = summary.slices.reduce((b, s) => (s.pixels > (b?.pixels ?? 0) ? s : b), null);
  let z = best?.z ?? Math.floor(nz / 2);
  // The values drawn and the slice they are of, changed together when a slice has arrived.
  let values = await valuesOf(z), shown = z;
  let [min, max] = [Infinity, -Infinity];
  for (const v of values ?? [0, 1]) [min, max] = [Math.min(min, v), Math.max(max, v)];
  const info = infos[plan[z].instance];
  const ct = info?.modality === "CT";

  const el = (tag, props) => Object.assign(document.createElement(tag), props);
  const slider = el("input", { type: "range", id: "series-slice", min: 0, max: nz - 1, value: z });
  const number = el("input", { type: "number", id: "series-slice-number", min: 1, max: nz });
  const alpha = el("input", { type: "range", id: "series-alpha", min: 0, max: 100, value: 50 });
  const label = (control, text) => el("label", { htmlFor: control.id, textContent: text });
  const sliceLabel = label(slider, "");
  const area = el("output", { id: "series-slice-area" });
  const controls = el("div", { className: "slider" });
  controls.append(
    sliceLabel,
    slider,
    label(number, "Slice number"),
    number,
    label(alpha, "Label opacity"),
    alpha,
    area,
  );

  const view = viewer(p.pics, {
    id: "series",
    width: nx,
    height: ny,
    unit: ct ? "HU" : "",
    integer: !(values instanceof Float32Array || values instanceof Float64Array),
    range: [min, max],
    initial: ct ? PRESETS.abdomen : fullWindow(min, max),
    initialName: ct ? "abdomen (W400 L50)" : "min-max of the first slice shown",
    valueAt: (x, y) => (values ? values[y * nx + x] : NaN),
    paint(rgba, toByte) {
      const a = Number(alpha.value) / 100;
      paintSlice(rgba, values, toByte, labels.data, shown * nx * ny, styles, a);
    },
  });
  view.canvas.closest("figure").after(controls);

  let ticket = 0;
  const show = async (to) => {
    z = Math.min(nz - 1, Math.max(0, to));
    const mine = ++ticket;
    [slider.value, number.value] = [String(z), String(z + 1)];
    const c = candidates[plan[z].instance];
    sliceLabel.textContent = `Slice ${z + 1} of ${nz}`;
    slider.setAttribute("aria-valuetext", `slice ${z + 1} of ${nz}`);
    const s = perSlice.get(z);
    area.textContent = s ? `labelled: ${s.pixels} px, ${s.mm2.toFixed(1)} mm²` : "labelled: none";
    const caption = `${c?.name ?? "no picture for this slice"}, slice ${z + 1} of ${nz}`;
    const v = await valuesOf(z);
    if (mine !== ticket) return;
    [values, shown] = [v, z];
    view.redraw();
    view.setCaption(caption);
    // What the picture shows, for whoever reads the page (and its test).
    view.canvas.dataset.slice = String(z);
    view.canvas.dataset.instance = c?.name ?? "";
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  number.addEventListener("change", () => show(Number(number.value) - 1));
  alpha.addEventListener("input", () => view.redraw());
  return { canvas: view.canvas, depth: nz, z: () => z, show };
}
