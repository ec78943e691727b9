/**
 * DICOM info and render: the frame's true values (Modality LUT applied: HU for CT) in the windowed
 * view (viewer.js), opened at the window the route applies for the option chosen; the metadata and
 * the view as shown to download. Colour frames have no window: the route's PNG is the picture.
 */
import { call, MEDIA, ProblemError, ROUTES, TYPED } from "../api.js";
import { addDownloads, setDownload, stemOf } from "../downloads.js";
import { oneFile } from "../files.js";
import { addNumbers, addPicture, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { $ } from "../state.js";
import { fullWindow, viewer } from "../viewer.js";

/** Runs DICOM info and render on the first DICOM file and shows its frame in the windowed view. */
export async function run() {
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
}
