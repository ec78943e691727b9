/** `deno bench`: lib/image resize and equalizeHist on a 1024x1024 image (bench/compare/resize_compare.ts puts OpenCV beside). */
import { resize } from "../../lib/image/resize.ts";
import { equalizeHist } from "../../lib/image/histogram.ts";

const N = 1024;
const data = new Uint8Array(N * N), data16 = new Uint16Array(N * N);
for (let y = 0; y < N; y++) {
  for (let x = 0; x < N; x++) {
    const v = ((x * 7 + y * 13 + (x * y) % 251) * 257) & 0xffff;
    data[y * N + x] = v & 0xff;
    data16[y * N + x] = v;
  }
}
const img = { width: N, height: N, channels: 1 as const, data };
const img16 = { width: N, height: N, channels: 1 as const, data: data16 };
const mask = { width: 256, height: 256, channels: 1 as const, data: data.slice(0, 256 * 256) };

Deno.bench("1024² 8-bit -> 224² bicubic", { group: "resize", baseline: true }, () => {
  resize(img, 224, 224, "bicubic");
});
Deno.bench("1024² 8-bit -> 256² bilinear", { group: "resize" }, () => {
  resize(img, 256, 256, "bilinear");
});
Deno.bench("1024² 8-bit -> 512² bilinear (2:1 area path)", { group: "resize" }, () => {
  resize(img, 512, 512, "bilinear");
});
Deno.bench("1024² 16-bit -> 224² bicubic", { group: "resize" }, () => {
  resize(img16, 224, 224, "bicubic");
});
Deno.bench("256² mask -> 1024² nearest", { group: "resize" }, () => {
  resize(mask, N, N, "nearest");
});
Deno.bench("equalizeHist 1024² 8-bit", () => {
  equalizeHist(img);
});
