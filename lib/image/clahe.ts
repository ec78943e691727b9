/**
 * CLAHE with OpenCV 4.x `createCLAHE(clipLimit, tileGridSize).apply` semantics, 8- and 16-bit:
 * images that the grid does not divide are padded by BORDER_REFLECT_101 (both sides, as OpenCV
 * does, even when one divides); clip = max(1, int(clipLimit * tileArea / histSize)); the clipped
 * excess is spread evenly and its remainder one count every histSize/remainder bins from bin 0;
 * LUT = round(cumsum * (histSize - 1) / tileArea); pixels interpolate bilinearly between the four
 * nearest tile LUTs. Arithmetic is float32 and rounding half-to-even, as OpenCV's
 * saturate_cast<float>, so results match it exactly. Hand-written: no edge-ready library has CLAHE.
 */

/** A grey image CLAHE can take. */
export interface GreyImage<T extends Uint8Array | Uint16Array> {
  width: number;
  height: number;
  data: T;
}

const f = Math.fround;

/** cvRound: nearest, ties to even. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Contrast-limited adaptive histogram equalisation.
 * @example clahe({ width, height, data }, 2.0, 8) // the seed's mammogram step 5
 */
export function clahe<T extends Uint8Array | Uint16Array>(
  img: GreyImage<T>,
  clipLimit = 40,
  tilesX = 8,
  tilesY = tilesX,
): GreyImage<T> {
  const { width: w, height: h, data } = img;
  const histSize = data instanceof Uint8Array ? 256 : 65536;
  const maxVal = histSize - 1;
  const divisible = w % tilesX === 0 && h % tilesY === 0;
  const extW = divisible ? w : w + tilesX - (w % tilesX);
  const extH = divisible ? h : h + tilesY - (h % tilesY);
  const tileW = extW / tilesX, tileH = extH / tilesY;
  const tileArea = tileW * tileH;
  const reflect = (i: number, n: number) => (i < n ? i : 2 * (n - 1) - i); // BORDER_REFLECT_101
  const clip = clipLimit > 0 ? Math.max(1, Math.trunc((clipLimit * tileArea) / histSize)) : 0;
  const lutScale = f(maxVal / tileArea);

  const luts = new (data.constructor as new (n: number) => T)(tilesX * tilesY * histSize);
  const hist = new Int32Array(histSize);
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      hist.fill(0);
      for (let y = ty * tileH; y < (ty + 1) * tileH; y++) {
        const row = reflect(y, h) * w;
        for (let x = tx * tileW; x < (tx + 1) * tileW; x++) hist[data[row + reflect(x, w)]]++;
      }
      if (clip > 0) {
        let clipped = 0;
        for (let i = 0; i < histSize; i++) {
          if (hist[i] > clip) {
            clipped += hist[i] - clip;
            hist[i] = clip;
          }
        }
        const batch = Math.trunc(clipped / histSize);
        let residual = clipped - batch * histSize;
        for (let i = 0; i < histSize; i++) hist[i] += batch;
        if (residual !== 0) {
          const step = Math.max(Math.trunc(histSize / residual), 1);
          for (let i = 0; i < histSize && residual > 0; i += step, residual--) hist[i]++;
        }
      }
      const base = (ty * tilesX + tx) * histSize;
      let sum = 0;
      for (let i = 0; i < histSize; i++) {
        sum += hist[i];
        luts[base + i] = Math.min(maxVal, roundEven(f(sum * lutScale)));
      }
    }
  }

  // Per column: the two tile columns and their weights, as OpenCV precomputes them.
  const invTw = f(1 / tileW), invTh = f(1 / tileH);
  const ind1 = new Int32Array(w), ind2 = new Int32Array(w);
  const xa = new Float32Array(w), xa1 = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const txf = f(f(x * invTw) - 0.5);
    const t1 = Math.floor(txf);
    xa[x] = f(txf - t1);
    xa1[x] = f(1 - xa[x]);
    ind1[x] = Math.max(t1, 0) * histSize;
    ind2[x] = Math.min(t1 + 1, tilesX - 1) * histSize;
  }
  const out = new (data.constructor as new (n: number) => T)(w * h);
  for (let y = 0; y < h; y++) {
    const tyf = f(f(y * invTh) - 0.5);
    const t1 = Math.floor(tyf);
    const ya = f(tyf - t1), ya1 = f(1 - ya);
    const plane1 = Math.max(t1, 0) * tilesX * histSize;
    const plane2 = Math.min(t1 + 1, tilesY - 1) * tilesX * histSize;
    for (let x = 0, p = y * w; x < w; x++, p++) {
      const v = data[p];
      const top = f(f(luts[plane1 + ind1[x] + v] * xa1[x]) + f(luts[plane1 + ind2[x] + v] * xa[x]));
      const bottom = f(
        f(luts[plane2 + ind1[x] + v] * xa1[x]) + f(luts[plane2 + ind2[x] + v] * xa[x]),
      );
      const res = f(f(top * ya1) + f(bottom * ya));
      out[p] = Math.min(maxVal, Math.max(0, roundEven(res)));
    }
  }
  return { width: w, height: h, data: out };
}
