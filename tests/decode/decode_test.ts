/**
 * lib/decode: formats recognised by their bytes, DRIVE's GIF masks decoded to the same pixels as
 * their lossless PNG conversions (Pillow-verified, drive/SOURCES.md), RGB masks as masks, and
 * problems that name the accepted formats.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  bodyFormat,
  decodeImage,
  decodeLightImage,
  maskFromBytes,
  maskFromImage,
  sniffImage,
} from "../../lib/decode/mod.ts";
import { BadInputError, UnsupportedError } from "../../lib/errors.ts";
import { encodeImagePng } from "../../lib/image/png.ts";
import { dataFile } from "../_data.ts";

const drive = (
  rel: string,
) => [dataFile(`drive/original/${rel}.gif`), dataFile(`drive/png/${rel}.png`)];

/** A GIF89a written by omggif's own writer: 2x2, palette black, red, grey, white. */
async function smallGif(): Promise<Uint8Array> {
  const { GifWriter } = (await import("omggif")) as unknown as {
    GifWriter: new (
      buf: Uint8Array,
      w: number,
      h: number,
      opts: { palette: number[] },
    ) => {
      addFrame(x: number, y: number, w: number, h: number, px: number[]): void;
      end(): number;
    };
  };
  const buf = new Uint8Array(1024);
  const gw = new GifWriter(buf, 2, 2, { palette: [0x000000, 0xff0000, 0x808080, 0xffffff] });
  gw.addFrame(0, 0, 2, 2, [0, 1, 2, 3]);
  return buf.slice(0, gw.end());
}

Deno.test("sniffImage: each format by its magic number, never by a name", () => {
  const at128 = new Uint8Array(132);
  at128.set([0x44, 0x49, 0x43, 0x4d], 128);
  // dicom-conformance/CT1_UNC's preamble is a TIFF header: "DICM" at 128 wins.
  const dualTiff = at128.slice();
  dualTiff.set([0x49, 0x49, 42, 0]);
  const cases: [number[] | Uint8Array, string | null][] = [
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "png"],
    [[0xff, 0xd8, 0xff, 0xe0], "jpeg"],
    [[0x49, 0x49, 42, 0], "tiff"],
    [[0x4d, 0x4d, 0, 42], "tiff"],
    [[...new TextEncoder().encode("GIF89a")], "gif"],
    [[...new TextEncoder().encode("GIF87a")], "gif"],
    [at128, "dicom"],
    [dualTiff, "dicom"],
    [[0x08, 0x00, 0x05, 0x00], "dicom"],
    [[...new TextEncoder().encode("hello")], null],
    [[0x89, 0x50, 0x4e], null],
  ];
  for (const [bytes, want] of cases) assertEquals(sniffImage(Uint8Array.from(bytes)), want);
});

Deno.test("a GIF: palette colours as RGB, a grey palette as one channel", async () => {
  const gif = await smallGif();
  const { image, format } = await decodeImage(gif);
  assertEquals(format, "gif");
  assertEquals([image.width, image.height, image.channels], [2, 2, 3]);
  assertEquals(Array.from(image.data), [0, 0, 0, 255, 0, 0, 128, 128, 128, 255, 255, 255]);
  assertEquals(Array.from(maskFromImage(image)), [0, 1, 1, 1]);
});

for (
  const rel of [
    "test/mask/01_test_mask",
    "test/1st_manual/01_manual1",
    "training/1st_manual/21_manual1",
  ]
) {
  const [gif, png] = drive(rel);
  Deno.test({
    name: `DRIVE ${rel}.gif decodes to the pixels of its PNG conversion`,
    ignore: !gif || !png,
    async fn() {
      const g = await decodeImage(await Deno.readFile(gif!));
      const p = await decodeImage(await Deno.readFile(png!));
      assertEquals([g.format, g.image.width, g.image.height, g.image.channels], [
        "gif",
        565,
        584,
        1,
      ]);
      assertEquals(g.image.data, p.image.data);
      const m = await maskFromBytes(await Deno.readFile(gif!));
      assertEquals(m.mask, maskFromImage(p.image));
      assert(m.mask.some((v) => v === 1) && m.mask.some((v) => v === 0));
    },
  });
}

Deno.test("maskFromBytes: an RGB mask is a mask wherever any channel is non-zero", async () => {
  const rgb = Uint8Array.of(0, 0, 0, 0, 9, 0, 0, 0, 200, 0, 0, 0);
  const m = await maskFromBytes(await encodeImagePng(rgb, 4, 1, 3));
  assertEquals([m.format, Array.from(m.mask)], ["png", [0, 1, 1, 0]]);
});

Deno.test("problems name the formats: a known other format is 415, no signature is 400", async () => {
  const png = await encodeImagePng(new Uint8Array(4), 2, 2);
  const e = assertThrows(() => bodyFormat(png, ["dicom"]), UnsupportedError);
  assertEquals(e.message, "the body is a PNG (by its bytes); this route takes DICOM");
  const u = await assertRejects(
    () => decodeImage(new TextEncoder().encode("no image at all")),
    BadInputError,
  );
  assert(u.message.startsWith("the body is not a PNG, JPEG, TIFF or GIF, and not DICOM either: "));
  await assertRejects(
    () => decodeLightImage(new TextEncoder().encode("no image")),
    BadInputError,
    "the body is not a PNG, TIFF or GIF (its first bytes match no signature)",
  );
  const dicom = new Uint8Array(200);
  dicom.set(new TextEncoder().encode("DICM"), 128);
  await assertRejects(
    () => decodeLightImage(dicom),
    UnsupportedError,
    "the body is a DICOM (by its bytes); this route takes PNG, TIFF or GIF",
  );
  await assertRejects(() => decodeImage(new Uint8Array(0)), BadInputError, "empty");
  const cut = (await smallGif()).slice(0, 20);
  await assertRejects(() => decodeImage(cut), BadInputError, "GIF");
});
