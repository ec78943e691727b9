import { assert, assertEquals, assertRejects } from "@std/assert";
import { MedimgError, UnsupportedError } from "../../lib/errors.ts";
import { decoderFor, sniffCodec } from "../../lib/dicom/codecs/mod.ts";
import { parseDataSet, readMeta } from "../../lib/dicom/parse.ts";
import { decodeDicom, readStoredFrame } from "../../lib/dicom/pixels.ts";
import { dataFile } from "../_data.ts";

const has = dataFile("dicom-conformance/liver.dcm");
const read = (f: string) => Deno.readFileSync(dataFile(`dicom-conformance/${f}`)!);

async function frames(f: string) {
  const ds = parseDataSet(read(f));
  const meta = readMeta(ds);
  return await Promise.all(
    Array.from({ length: meta.frames }, async (_, i) => (await readStoredFrame(ds, meta, i)).data),
  );
}

Deno.test({
  name:
    "1-bit SEG: RLE and deflated-frame encodings decode to the same frames as the native file (pydicom decodes neither)",
  ignore: !has,
  async fn() {
    const native = await frames("liver.dcm");
    assertEquals(native.length, 3);
    assertEquals(await frames("liver_rle.dcm"), native);
    assertEquals(await frames("liver_deflate.dcm"), native);
  },
});

Deno.test({
  name: "corrupt codestreams give typed errors, never a crash, and the next decode still works",
  ignore: !has,
  async fn() {
    for (
      const f of [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "JPEG-LL.dcm",
        "JPEGBaseline_1s_1f_u_08_08.dcm",
      ]
    ) {
      const bytes = read(f);
      const ds = parseDataSet(bytes);
      const el = ds.elements.x7fe00010;
      const frag = el.fragments![el.fragments!.length - 1];
      // Garble the middle of the last fragment, then cut it short.
      const garbled = bytes.slice();
      for (let i = frag.position + 8; i < frag.position + Math.min(frag.length, 200); i += 3) {
        garbled[i] ^= 0x5a;
      }
      for (
        const variant of [garbled, bytes.slice(0, frag.position + Math.floor(frag.length / 2))]
      ) {
        try {
          await decodeDicom(variant);
        } catch (err) {
          assert(err instanceof MedimgError, `${f}: ${err}`);
        }
      }
      // A garbled stream may decode to wrong pixels (lossy codecs have no checksum), but the
      // module must still work for the next file.
      assertEquals((await decodeDicom(bytes)).image.width, readMeta(ds).columns);
    }
  },
});

Deno.test("decoderFor names what it supports when it cannot decode", async () => {
  await assertRejects(
    async () => await decoderFor("1.2.840.10008.1.2.4.100"),
    UnsupportedError,
    "1.2.840.10008.1.2.4.100 is not supported",
  );
  await assertRejects(
    async () => await decoderFor("1.2.840.10008.1.2.4.100"),
    UnsupportedError,
    "JPEG-LS Lossless",
  );
});

Deno.test("sniffCodec reads the codestream's markers", () => {
  assertEquals(
    sniffCodec(Uint8Array.of(0xff, 0x4f, 0xff, 0x51, 0, 0, 0, 0)),
    "1.2.840.10008.1.2.4.90",
  );
  assertEquals(
    sniffCodec(Uint8Array.of(0xff, 0xd8, 0xff, 0xf7, 0, 4, 0, 0, 0, 0)),
    "1.2.840.10008.1.2.4.80",
  );
  assertEquals(
    sniffCodec(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc3, 0, 2, 0, 0)),
    "1.2.840.10008.1.2.4.70",
  );
  assertEquals(sniffCodec(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)), undefined);
});

Deno.test({
  name: "8-bit JPEG frames come back as plain Uint8Array (not the codec's Uint8ClampedArray)",
  ignore: !dataFile("rsna-pneumonia/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm"),
  async fn() {
    const file = dataFile("rsna-pneumonia/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm")!;
    const { image } = await decodeDicom(await Deno.readFile(file));
    assertEquals(image.data.constructor, Uint8Array);
  },
});
