/**
 * The volume view: one axial slice of the image with the labels over it, a slider through the
 * slices, the window from viewer.js; the image's numbers and the voxels and millilitres per label.
 */
import { addNumbers, addTable } from "../output.js";
import { viewer } from "../viewer.js";

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

/**
 * The slice view of `base` ({dims, spacing, data, ...} from nifti.js) with `overlays`
 * ([{name, volume}], label volumes of the same grid) in panel `p`, and its tables.
 */
export function volumeViewer(p, base, baseName, overlays) {
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
