/**
 * The series view's arithmetic, no DOM: which key steps to which slice, each label's colour (the
 * model card's `segments` colour, sRGB or CIE L*a*b* as DICOM SEG carries it, else a palette),
 * which instance (and frame) shows slice z of the label volume the service answered, and one
 * slice's pixels painted with the labels over them.
 */

/** Labels without a colour on the card, in turn: red, green, blue, yellow, magenta, cyan. */
export const PALETTE = [
  [255, 40, 40],
  [40, 220, 40],
  [60, 120, 255],
  [255, 220, 0],
  [255, 0, 255],
  [0, 220, 220],
];

/**
 * The slice a key steps to from `z` in a series of `depth` slices, or null for a key that does not
 * step: ArrowRight / ArrowUp the next, ArrowLeft / ArrowDown the previous, PageUp / PageDown ten,
 * Home / End the first and last; never past the ends.
 * @example stepSlice(0, "ArrowRight", 3) // 1
 */
export function stepSlice(z, key, depth) {
  const last = Math.max(0, depth - 1);
  const to = {
    ArrowRight: z + 1,
    ArrowUp: z + 1,
    ArrowLeft: z - 1,
    ArrowDown: z - 1,
    PageUp: z + 10,
    PageDown: z - 10,
    Home: 0,
    End: last,
  }[key];
  return to === undefined ? null : Math.min(last, Math.max(0, to));
}

/**
 * sRGB (0..255) of a CIE L*a*b* colour (D65), the inverse of lib/dicom/seg.ts rgbToCielab.
 * @example labToRgb([100, 0, 0]) // [255, 255, 255]
 */
export function labToRgb([l, a, b]) {
  const fy = (l + 16) / 116, fx = fy + a / 500, fz = fy - b / 200;
  const inv = (t) => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));
  const [x, y, z] = [inv(fx) * 0.95047, inv(fy), inv(fz) * 1.08883];
  const lin = [
    3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
    -0.969266 * x + 1.8760108 * y + 0.041556 * z,
    0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
  ];
  return lin.map((c) => {
    const s = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
    return Math.round(Math.min(1, Math.max(0, s)) * 255);
  });
}

/**
 * Each label's colour and name: the card's segment for it when it has one (`rgb`, else `color` as
 * L*a*b*, else the palette), else the palette by label.
 * @example labelStyles({ segments: [{ label: 1, name: "liver", rgb: [0, 200, 255] }] }, [1, 2])
 * // Map {1 => {rgb: [0, 200, 255], name: "liver"}, 2 => {rgb: [40, 220, 40], name: "label 2"}}
 */
export function labelStyles(card, labels) {
  const segments = new Map((card?.segments ?? []).map((s) => [s.label, s]));
  return new Map(labels.map((l) => {
    const s = segments.get(l);
    const rgb = s?.rgb ?? (s?.color ? labToRgb(s.color) : PALETTE[(l - 1) % PALETTE.length]);
    return [l, { rgb: [...rgb], name: s?.name ?? `label ${l}` }];
  }));
}

/**
 * Which instance shows each slice of the label volume: [{instance, frame}] by z.
 * `instances` are what /dicom/info answered for each candidate ({frames, imagePositionPatient,
 * instanceNumber}, null for one that is no DICOM); `srow` the label volume's sform rows (RAS, as
 * lib/dicom/series.ts wrote them from the series' LPS geometry); `ordering` the answer's.
 * By position: slice z is the instance whose ImagePositionPatient is nearest the affine's origin of
 * slice z (RAS x and y negated back to LPS), so the page follows the order the service chose
 * without repeating its rule. By instance number: ascending InstanceNumber. One multi-frame
 * instance: its frames in stored order. A slice no instance matches is {instance: -1}.
 */
export function slicePlan(instances, srow, ordering, depth) {
  const present = instances.map((m, i) => ({ m, i })).filter(({ m }) => m);
  if (present.length === 1 && (present[0].m.frames ?? 1) > 1) {
    return Array.from({ length: depth }, (_, z) => ({ instance: present[0].i, frame: z }));
  }
  if (ordering === "position" && srow) {
    const withPos = present.filter(({ m }) => m.imagePositionPatient);
    return Array.from({ length: depth }, (_, z) => {
      const ras = srow.map((r) => r[2] * z + r[3]);
      const lps = [-ras[0], -ras[1], ras[2]];
      let best = { instance: -1, frame: 0 }, bestD = Infinity;
      for (const { m, i } of withPos) {
        const p = m.imagePositionPatient;
        const d = (p[0] - lps[0]) ** 2 + (p[1] - lps[1]) ** 2 + (p[2] - lps[2]) ** 2;
        if (d < bestD) [best, bestD] = [{ instance: i, frame: 0 }, d];
      }
      return best;
    });
  }
  const sorted = present
    .filter(({ m }) => m.instanceNumber !== null && m.instanceNumber !== undefined)
    .sort((a, b) => a.m.instanceNumber - b.m.instanceNumber);
  return Array.from({ length: depth }, (_, z) => ({ instance: sorted[z]?.i ?? -1, frame: 0 }));
}

/**
 * One slice into RGBA pixels: the grey of each value (`toByte(value)`, black where `values` is
 * null: pixels not fetched yet), and where `labels` (the label volume's data) holds a label at
 * `offset + i`, its colour blended over the grey at `alpha` (0..1); a label without a style is
 * magenta.
 */
export function paintSlice(rgba, values, toByte, labels, offset, styles, alpha) {
  const n = rgba.length / 4;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const grey = values ? toByte(values[i]) : 0;
    let [r, g, b] = [grey, grey, grey];
    const l = Math.round(labels[offset + i]);
    if (l > 0) {
      const c = styles.get(l)?.rgb ?? [255, 0, 255];
      [r, g, b] = [r + (c[0] - r) * alpha, g + (c[1] - g) * alpha, b + (c[2] - b) * alpha];
    }
    [rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]] = [r, g, b, 255];
  }
}
