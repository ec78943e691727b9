/**
 * An image view as radiology viewers have it: drag on the picture to set the window (horizontal
 * changes the width, vertical the level, as in OsiriX, Horos or 3D Slicer), CT presets, the value
 * under the cursor (HU where the values are HU) and zoom by wheel or buttons. The caller owns the
 * values; this module owns the canvas, the controls and the VOI mapping, which is the DICOM linear
 * window (PS3.3 C.11.2.1.2) exactly as lib/dicom/pixels.ts applyWindow computes it on the server,
 * so a view at centre c and width w shows the pixels /dicom/render?center=c&width=w answers.
 */

/**
 * CT windows, width and level in HU, as Radiopaedia's "Windowing (CT)" lists them
 * (https://radiopaedia.org/articles/windowing-ct): brain W80 L40, lungs W1500 L-600, abdomen soft
 * tissues W400 L50, bone W1800 L400.
 */
export const PRESETS = {
  brain: { label: "brain", width: 80, center: 40 },
  lung: { label: "lung", width: 1500, center: -600 },
  abdomen: { label: "abdomen", width: 400, center: 50 },
  bone: { label: "bone", width: 1800, center: 400 },
};

const ZOOMS = [0.25, 0.33, 0.5, 0.67, 1, 1.5, 2, 3, 4, 6, 8];

/**
 * The 8-bit grey of value `x` under the window (DICOM PS3.3 C.11.2.1.2.1, as applyWindow).
 * @example windowByte(40, 40, 400) // 128
 */
export function windowByte(x, center, width) {
  const c = center - 0.5, half = (width - 1) / 2;
  if (x <= c - half) return 0;
  if (x > c + half) return 255;
  return width > 1 ? Math.round((x - c) * (255 / (width - 1)) + 127.5) : 255;
}

/** The window that maps `min` to black and `max` to white. */
export function fullWindow(min, max) {
  return { center: (min + max + 1) / 2, width: Math.max(1, max - min + 1) };
}

function round(v, integer) {
  return integer ? Math.round(v) : Number(v.toPrecision(4));
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/**
 * A windowed view of `width` x `height` values appended to `host`.
 * Options: `id` (prefix of the elements' ids), `caption`, `unit` ("HU" or ""), `initial` window
 * {center, width} and `initialName` (what it is, e.g. "the dataset's"), `range` [min, max] of the
 * values, `integer` (whole values: the window moves in whole steps), `valueAt(x, y)` (the value at
 * a picture pixel), `paint(rgba, toByte)` (fills the RGBA pixels with `toByte(value)` greys and
 * whatever it overlays), `onWindow(window)` (after each change).
 * Answers {canvas, window, redraw(), setWindow(w), setCaption(text)}.
 * @example viewer(p.pics, { id: "dicom", unit: "HU", valueAt, paint, ... })
 */
export function viewer(host, opts) {
  const { id, unit = "", integer = false } = opts;
  const [min, max] = opts.range;
  const canvas = el("canvas", { id: `${id}-canvas`, width: opts.width, height: opts.height });
  canvas.className = "viewer-canvas";
  canvas.setAttribute("role", "img");
  canvas.tabIndex = 0;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const img = g.createImageData(opts.width, opts.height);
  const cap = el("figcaption");
  const viewport = el("div", { className: "viewport" }, canvas);
  const figure = el("figure", { className: "viewer" }, viewport, cap);

  const wl = el("output", { id: `${id}-wl` });
  const value = el("output", { id: `${id}-value` });
  value.textContent = `${unit ? "HU" : "Value"} under the cursor: move over the picture`;
  const zoomText = el("output", { id: `${id}-zoom` });
  const preset = el("select", { id: `${id}-preset` });
  preset.append(
    new Option(opts.initialName ?? "initial", "initial"),
    new Option("full range (min-max)", "full"),
    Object.assign(new Option("custom (dragged)", "custom"), { disabled: true }),
    ...Object.entries(PRESETS).map(([k, p]) =>
      new Option(`${p.label} (W ${p.width}, L ${p.center})`, k)
    ),
  );
  preset.title = unit === "HU"
    ? "CT windows in HU"
    : "CT windows: meaningful only where the values are HU";
  const presetLabel = el("label", { htmlFor: preset.id, textContent: "Window " });
  presetLabel.append(preset);
  const button = (suffix, text, title) =>
    el("button", { type: "button", id: `${id}-${suffix}`, textContent: text, title });
  const zoomOut = button("zoom-out", "−", "Zoom out");
  const zoomIn = button("zoom-in", "+", "Zoom in");
  const zoomFit = button("zoom-fit", "1:1", "One screen pixel per image pixel");
  for (const b of [zoomOut, zoomIn, zoomFit]) b.setAttribute("aria-label", b.title);
  const tools = el(
    "div",
    { className: "viewer-tools" },
    presetLabel,
    wl,
    el("span", { className: "zoom-buttons" }, zoomOut, zoomIn, zoomFit, zoomText),
    value,
  );
  const help = el("p", {
    className: "hint",
    textContent: "Drag on the picture (or use the arrow keys on it): left-right sets the window " +
      "width, up-down the level. Wheel, + and - or the buttons zoom.",
  });
  host.append(figure, tools, help);

  const state = {
    window: { ...opts.initial },
    zoom: 1,
  };

  const redraw = () => {
    const { center, width } = state.window;
    opts.paint(img.data, (x) => windowByte(x, center, width));
    g.putImageData(img, 0, 0);
    wl.textContent = `W ${round(width, integer)} L ${round(center, integer)}${unit ? " HU" : ""}`;
    canvas.dataset.center = String(center);
    canvas.dataset.width = String(width);
  };
  const setWindow = (w, source = "drag") => {
    state.window = { center: w.center, width: Math.max(1, w.width) };
    if (source !== "preset") preset.value = "custom";
    redraw();
    opts.onWindow?.(state.window);
  };
  const setZoom = (z) => {
    state.zoom = Math.min(ZOOMS.at(-1), Math.max(ZOOMS[0], z));
    canvas.style.width = `${Math.round(opts.width * state.zoom)}px`;
    canvas.style.height = `${Math.round(opts.height * state.zoom)}px`;
    canvas.dataset.zoom = String(state.zoom);
    zoomText.textContent = `${Math.round(state.zoom * 100)}%`;
  };
  const step = (dir) => {
    const i = ZOOMS.findIndex((z) => z >= state.zoom - 1e-9);
    setZoom(ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, (i < 0 ? ZOOMS.length : i) + dir))]);
  };

  preset.addEventListener("change", () => {
    const k = preset.value;
    const w = k === "initial" ? opts.initial : k === "full" ? fullWindow(min, max) : PRESETS[k];
    if (w) setWindow({ center: w.center, width: w.width }, "preset");
  });
  zoomIn.addEventListener("click", () => step(1));
  zoomOut.addEventListener("click", () => step(-1));
  zoomFit.addEventListener("click", () => setZoom(1));
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    step(e.deltaY < 0 ? 1 : -1);
  }, { passive: false });

  const pixelAt = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * opts.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * opts.height);
    return x >= 0 && y >= 0 && x < opts.width && y < opts.height ? [x, y] : null;
  };
  const showValue = (e) => {
    const at = pixelAt(e);
    if (!at) return;
    const v = opts.valueAt(at[0], at[1]);
    const shown = Number.isInteger(v) ? String(v) : Number(v.toPrecision(5)).toString();
    value.textContent = `x ${at[0]}, y ${at[1]}: ${shown}${unit ? ` ${unit}` : ""}`;
    Object.assign(value.dataset, { x: at[0], y: at[1], value: v });
  };
  // Sensitivity: the whole range of the values over about 500 screen pixels of drag.
  const perPixel = Math.max(integer ? 1 : 0, (max - min) / 512) || 1;
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    canvas.setPointerCapture?.(e.pointerId);
    drag = { x: e.clientX, y: e.clientY, from: { ...state.window } };
    canvas.classList.add("dragging");
  });
  canvas.addEventListener("pointermove", (e) => {
    showValue(e);
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    setWindow({
      width: round(drag.from.width + dx * perPixel, integer),
      center: round(drag.from.center + dy * perPixel, integer),
    });
  });
  const stop = () => {
    drag = null;
    canvas.classList.remove("dragging");
  };
  // The same from the keyboard on the focused picture: arrows move the window by 10 drag pixels
  // (left/right the width, up/down the level), + and - zoom.
  canvas.addEventListener("keydown", (e) => {
    const d = { ArrowLeft: [-10, 0], ArrowRight: [10, 0], ArrowUp: [0, -10], ArrowDown: [0, 10] }[
      e.key
    ];
    if (d) {
      e.preventDefault();
      const { center, width } = state.window;
      setWindow({
        width: round(width + d[0] * perPixel, integer),
        center: round(center + d[1] * perPixel, integer),
      });
    } else if (e.key === "+" || e.key === "=") step(1);
    else if (e.key === "-") step(-1);
  });
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  setZoom(opts.width <= 320 && opts.height <= 320 ? 2 : 1);
  preset.value = "initial";
  redraw();
  return {
    canvas,
    get window() {
      return { ...state.window };
    },
    redraw,
    setWindow,
    setCaption(text) {
      cap.textContent = text;
      canvas.setAttribute("aria-label", text);
    },
  };
}
