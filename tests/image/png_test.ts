import { assert, assertEquals, assertThrows } from "@std/assert";
import { decode } from "fast-png";
import { zlibSync } from "fflate";
import { BadInputError, LimitExceededError } from "../../lib/errors.ts";
import {
  decodeNative,
  decodePng,
  encodeImagePng,
  encodeMaskPng,
  maskFromPng,
} from "../../lib/image/png.ts";
import { dataFile } from "../_data.ts";

Deno.test("encodeMaskPng: 8-bit 0/255 and 1-bit 0/1, odd widths padded per row, CRCs valid", async () => {
  const w = 11, h = 3;
  const mask = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
  for (const bits of [8, 1] as const) {
    const png = await encodeMaskPng(mask, w, h, bits);
    const d = decode(png, { checkCrc: true });
    assertEquals([d.width, d.height, d.depth, d.channels], [w, h, bits, 1]);
    assertEquals(
      Array.from(decodePng(png).data),
      Array.from(mask, (v) => (bits === 8 ? v * 255 : v)),
    );
  }
});

Deno.test("encodeMaskPng: blocks of scanlines joined into one valid zlib stream (Adler-32 checked by zlib)", async () => {
  // 997 x 613 spans several 256 KB blocks, odd row lengths, zero words and scattered bytes
  const w = 997, h = 613;
  const mask = Uint8Array.from({ length: w * h }, (_, i) => (i % 3001 < 40 || i % 7 === 0 ? 1 : 0));
  for (const bits of [8, 1] as const) {
    const png = await encodeMaskPng(mask, w, h, bits);
    // the native path inflates with zlib, which refuses a wrong Adler-32 (fast-png does not check)
    const raw = decodeNative(png);
    assert(raw, `${bits}-bit: zlib refused the stream`);
    assertEquals(
      decodePng(png).data,
      Uint8Array.from(mask, (v) => (bits === 8 ? v * 255 : v)),
    );
  }
});

Deno.test("encodeImagePng: 16-bit samples big-endian, 8-bit as given", async () => {
  const d16 = Uint16Array.of(0, 1, 256, 65535, 4660, 43981);
  const png16 = decode(await encodeImagePng(d16, 3, 2), { checkCrc: true });
  assertEquals([png16.depth, Array.from(png16.data)], [16, Array.from(d16)]);
  const d8 = Uint8Array.of(0, 17, 255, 128);
  assertEquals(
    Array.from(decode(await encodeImagePng(d8, 2, 2), { checkCrc: true }).data),
    Array.from(d8),
  );
});

Deno.test("encodeImagePng: RGB 8-bit interleaved", async () => {
  const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9);
  const d = decode(await encodeImagePng(rgb, 2, 2, 3), { checkCrc: true });
  assertEquals([d.channels, Array.from(d.data)], [3, Array.from(rgb)]);
});

Deno.test("decodePng refuses what is not a PNG, and a huge declared size before allocating", async () => {
  assertThrows(
    () => decodePng(new TextEncoder().encode("GIF89a........................")),
    BadInputError,
    "no PNG signature",
  );
  const png = await encodeMaskPng(new Uint8Array(4), 2, 2, 8);
  assertThrows(() => decodePng(png.slice(0, 20)), BadInputError, "truncated before its header");
  assertThrows(
    () => decodePng(png, 3),
    LimitExceededError,
    "2x2 = 4 pixels is over the limit of 3",
  );
});

Deno.test("maskFromPng: any non-zero colour sample is mask; alpha ignored", () => {
  const rgba = {
    width: 2,
    height: 1,
    channels: 4,
    depth: 8,
    data: Uint8Array.of(0, 0, 0, 255, 0, 0, 3, 0),
  };
  assertEquals(Array.from(maskFromPng(rgba)), [0, 1]);
  const ga = { width: 2, height: 1, channels: 2, depth: 8, data: Uint8Array.of(0, 255, 9, 0) };
  assertEquals(Array.from(maskFromPng(ga)), [0, 1]);
});

// ---- decoder parity: the native-inflate decoder against fast-png, bit for bit ----

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  let c = 0xffffffff;
  for (let i = 4; i < 8 + data.length; i++) c = CRC[(c ^ out[i]) & 0xff] ^ (c >>> 8);
  v.setUint32(8 + data.length, (c ^ 0xffffffff) >>> 0);
  return out;
}

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A PNG written here with every row filter in turn (row y uses filter y % 5), the zlib stream split
 * over several IDAT chunks, and optional PLTE/tRNS/tEXt chunks: what real encoders may write.
 */
function filteredPng(
  width: number,
  height: number,
  colourType: number,
  depth: number,
  seed: number,
  opts: {
    plte?: number;
    trns?: Uint8Array;
    interlace?: number;
    idatParts?: number;
    filter?: number;
  } = {},
): Uint8Array {
  const rowBytes = Math.ceil((width * SAMPLES[colourType] * depth) / 8);
  const bpp = Math.max(1, (SAMPLES[colourType] * depth) >> 3);
  let state = seed;
  const rand = () => (state = (state * 1103515245 + 12345) >>> 0) >>> 16;
  // Runs of equal bytes and random ones, so that every filter sees both.
  const rows = Array.from(
    { length: height },
    (_, y) =>
      Uint8Array.from({ length: rowBytes }, (_, i) => ((i >> 2) + y) % 3 === 0 ? 0 : rand() & 0xff),
  );
  const filtered = new Uint8Array(height * (rowBytes + 1));
  rows.forEach((row, y) => {
    const prev = y > 0 ? rows[y - 1] : new Uint8Array(rowBytes);
    const f = y % 5, o = y * (rowBytes + 1);
    filtered[o] = y === 1 && opts.filter !== undefined ? opts.filter : f;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      filtered[o + 1 + i] = (row[i] - pred) & 0xff;
    }
  });
  const z = zlibSync(filtered);
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, colourType, 0, 0, opts.interlace ?? 0], 8);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), pngChunk("IHDR", ihdr)];
  parts.push(pngChunk("tEXt", new TextEncoder().encode("Comment\0parity")));
  if (opts.plte) {
    parts.push(pngChunk("PLTE", Uint8Array.from({ length: 3 * opts.plte }, () => rand() & 0xff)));
  }
  if (opts.trns) parts.push(pngChunk("tRNS", opts.trns));
  const n = opts.idatParts ?? 3, size = Math.ceil(z.length / n);
  for (let k = 0; k < z.length; k += size) parts.push(pngChunk("IDAT", z.subarray(k, k + size)));
  parts.push(pngChunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** fast-png's answer as decodePng gave it before this decoder (sub-byte depths unpacked). */
function fastPngReference(bytes: Uint8Array) {
  const d = decode(bytes);
  let data: ArrayLike<number> = d.data;
  if (d.depth < 8) {
    const per = d.width * d.channels, rowBytes = Math.ceil((per * d.depth) / 8);
    const packed = d.data;
    data = Array.from({ length: per * d.height }, (_, k) => {
      const y = Math.floor(k / per), x = k % per;
      const bit = x * d.depth;
      return (packed[y * rowBytes + (bit >> 3)] >> (8 - d.depth - (bit & 7))) &
        ((1 << d.depth) - 1);
    });
  }
  return { d, data };
}

function assertSameAsFastPng(bytes: Uint8Array, what: string, native = true): void {
  const { d, data } = fastPngReference(bytes);
  const raw = decodeNative(bytes);
  if (native) {
    assert(raw, `${what}: the native decoder declined it`);
    // the packed answer as fast-png gives it, type and all
    assertEquals(raw.data.constructor, d.data.constructor, `${what}: sample type`);
    assertEquals(raw.data.length, d.data.length, `${what}: sample count`);
    assert(raw.data.every((v, i) => v === d.data[i]), `${what}: packed samples differ`);
  } else assertEquals(raw, undefined, `${what}: should go to fast-png`);
  const ours = decodePng(bytes);
  assertEquals(
    [ours.width, ours.height, ours.channels, ours.depth],
    [d.width, d.height, d.channels, d.depth],
    what,
  );
  assertEquals(ours.palette, d.palette, `${what}: palette`);
  assertEquals(ours.data.length, data.length, `${what}: sample count`);
  let diff = -1;
  for (let i = 0; i < data.length && diff < 0; i++) if (ours.data[i] !== data[i]) diff = i;
  assertEquals(diff, -1, `${what}: first differing sample`);
}

Deno.test("decodePng (native inflate) equals fast-png on every colour type, depth and row filter", () => {
  const kinds: [number, number[]][] = [[0, [1, 2, 4, 8, 16]], [2, [8, 16]], [3, [1, 2, 4, 8]], [
    4,
    [8, 16],
  ], [6, [8, 16]]];
  let cases = 0;
  for (const [colourType, depths] of kinds) {
    for (const depth of depths) {
      for (const width of [1, 3, 7, 13, 64]) {
        const plte = colourType === 3 ? 1 << depth : undefined;
        const what = `colour type ${colourType}, ${depth}-bit, ${width} wide`;
        assertSameAsFastPng(filteredPng(width, 11, colourType, depth, cases + 1, { plte }), what);
        cases++;
      }
    }
  }
  // transparency: palette alpha (shorter than the palette: the rest is 255), grey and RGB keys
  assertSameAsFastPng(
    filteredPng(9, 6, 3, 4, 7, { plte: 16, trns: Uint8Array.of(0, 128, 255, 3) }),
    "palette with tRNS",
  );
  assertSameAsFastPng(filteredPng(9, 6, 0, 16, 8, { trns: Uint8Array.of(1, 2) }), "grey tRNS");
  assertSameAsFastPng(
    filteredPng(9, 6, 2, 8, 9, { trns: Uint8Array.of(0, 1, 0, 2, 0, 3) }),
    "RGB tRNS",
  );
  assertSameAsFastPng(filteredPng(40, 7, 2, 16, 10, { idatParts: 1 }), "one IDAT");
  assertSameAsFastPng(filteredPng(40, 7, 6, 8, 11, { idatParts: 9 }), "nine IDATs");
  // Adam7: a 1x1 image's one pass is the whole image, so this stream is valid; fast-png reads it
  assertSameAsFastPng(filteredPng(1, 1, 0, 8, 12, { interlace: 1 }), "interlaced", false);
  assertEquals(cases, 75);
});

Deno.test("decodePng (native inflate): damaged streams still answer fast-png's 400", () => {
  const good = filteredPng(20, 10, 0, 8, 3, { idatParts: 1 });
  const at = good.length - 12 - 4 - 10; // inside the IDAT data
  const cut = Uint8Array.from([...good.subarray(0, at), ...good.subarray(good.length - 12)]);
  assertThrows(() => decodePng(cut), BadInputError, "PNG could not be decoded");
  assertEquals(decodeNative(cut), undefined);
  const badFilter = filteredPng(20, 10, 0, 8, 3, { filter: 7 });
  assertEquals(decodeNative(badFilter), undefined);
  assertThrows(() => decodePng(badFilter), BadInputError, "Unsupported filter: 7");
});

Deno.test("decodePng equals fast-png on real PNGs in ../shared/data (8/16-bit grey, RGB, RGBA)", async () => {
  const root = dataFile("");
  if (!root) return;
  const dirs: [string, number][] = [
    ["cbis-ddsm", 0], // below: a 16-bit RGB ROI and the 8-bit grey mammogram of one case
    ["cxr-lung-masks/images", 3],
    ["cxr-lung-masks/imlab-demo", 4], // RGBA among them
    ["cxr-lung-masks/masks-lungVAE", 4],
    ["cxr-lung-masks/masks-v7labs", 3],
    ["cxr-pneumonia/images/kermany/test", 3],
    ["cxr-pneumonia/images/rsna", 3],
    ["ddsm-tissue-seg/images", 2],
    ["ddsm-tissue-seg/labels", 2],
    ["drive/png/test/images", 2], // RGB fundus photographs
    ["drive/png/test/1st_manual", 2],
    ["drive/png/training/mask", 2],
  ];
  const kinds = new Set<string>();
  let files = 0;
  for (const f of ["LEFT_CC.full.png", "LEFT_CC_1.roi-box.png"]) {
    const bytes = await Deno.readFile(`${root}cbis-ddsm/Mass-Test_P_00016_${f}`);
    assertSameAsFastPng(bytes, f);
    const d = decodePng(bytes);
    kinds.add(`${d.channels}x${d.depth}`);
    files++;
  }
  for (const [dir, n] of dirs) {
    const names: string[] = [];
    try {
      for (const e of Deno.readDirSync(root + dir)) if (e.name.endsWith(".png")) names.push(e.name);
    } catch {
      continue;
    }
    // smallest files first: the 16-bit ROIs cost fast-png seconds each
    const sized = names.map((f) => [f, Deno.statSync(`${root}${dir}/${f}`).size] as const);
    for (const [name] of sized.sort((a, b) => a[1] - b[1]).slice(0, n)) {
      const bytes = await Deno.readFile(`${root}${dir}/${name}`);
      assertSameAsFastPng(bytes, `${dir}/${name}`);
      const d = decodePng(bytes);
      kinds.add(`${d.channels}x${d.depth}`);
      files++;
    }
  }
  // the set covered what it claims: grey 8-bit, RGB 8- and 16-bit, RGBA 8-bit
  for (const k of ["1x8", "3x8", "3x16", "4x8"]) assert(kinds.has(k), `no ${k} PNG among ${files}`);
});
