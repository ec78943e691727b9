/**
 * Stand-in for lib/image/resize.ts until it lands: float HWC resize with OpenCV cv2.resize
 * semantics for INTER_LINEAR (half-pixel centres, edge clamped, no antialias) and INTER_NEAREST
 * (src = floor(dst * scale)).
 */
import type { Image } from "../image/image.ts";

/** Resizes `img` to `width` x `height`; float32 out. */
export function resize(
  img: Image,
  width: number,
  height: number,
  mode: "nearest" | "bilinear" = "bilinear",
): Image<Float32Array> {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(width * height * c);
  const sx = w / width, sy = h / height;
  if (mode === "nearest") {
    for (let y = 0; y < height; y++) {
      const row = Math.min(h - 1, Math.floor(y * sy)) * w;
      for (let x = 0; x < width; x++) {
        const s = (row + Math.min(w - 1, Math.floor(x * sx))) * c, d = (y * width + x) * c;
        for (let k = 0; k < c; k++) out[d + k] = data[s + k];
      }
    }
    return { width, height, channels: c, data: out };
  }
  const x0 = new Int32Array(width), x1 = new Int32Array(width), fx = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const f = (x + 0.5) * sx - 0.5;
    const i = Math.floor(f);
    fx[x] = f < 0 ? 0 : i >= w - 1 ? 0 : f - i;
    x0[x] = Math.max(0, Math.min(w - 1, i));
    x1[x] = Math.max(0, Math.min(w - 1, i + 1));
  }
  for (let y = 0; y < height; y++) {
    const f = (y + 0.5) * sy - 0.5;
    const i = Math.floor(f);
    const fy = f < 0 ? 0 : i >= h - 1 ? 0 : f - i;
    const r0 = Math.max(0, Math.min(h - 1, i)) * w, r1 = Math.max(0, Math.min(h - 1, i + 1)) * w;
    for (let x = 0; x < width; x++) {
      const a = (r0 + x0[x]) * c, b = (r0 + x1[x]) * c, p = (r1 + x0[x]) * c, q = (r1 + x1[x]) * c;
      const d = (y * width + x) * c;
      for (let k = 0; k < c; k++) {
        const top = data[a + k] + (data[b + k] - data[a + k]) * fx[x];
        const bottom = data[p + k] + (data[q + k] - data[p + k]) * fx[x];
        out[d + k] = top + (bottom - top) * fy;
      }
    }
  }
  return { width, height, channels: c, data: out };
}
