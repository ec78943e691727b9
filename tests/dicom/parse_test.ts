import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { BadInputError, InvalidInputError, LimitExceededError } from "../../lib/errors.ts";
import { parseAge, parseDataSet, readMeta } from "../../lib/dicom/parse.ts";
import {
  applyBitsStored,
  applyRescale,
  applyWindow,
  decodeDicom,
  ybrFullToRgb,
} from "../../lib/dicom/pixels.ts";
import { dataFile } from "../_data.ts";

Deno.test("parseAge: AS forms and bare numbers to years", () => {
  assertEquals(parseAge("058Y"), 58);
  assertEquals(parseAge("006M"), 0.5);
  assertAlmostEquals(parseAge("003W")!, 21 / 365.25);
  assertAlmostEquals(parseAge("010D")!, 10 / 365.25);
  assertEquals(parseAge("38"), 38);
  assertEquals(parseAge(" 62 "), 62);
  assertEquals(parseAge("abc"), null);
  assertEquals(parseAge(""), null);
  assertEquals(parseAge(null), null);
});

Deno.test("applyBitsStored masks high bits and sign-extends per PixelRepresentation", () => {
  // 12 stored bits in 16: an overlay bit above bit 11 is dropped; 0x800 is -2048 when signed.
  assertEquals(Array.from(applyBitsStored(Uint16Array.of(0xf001, 0x0800, 0x07ff), 12, false)), [
    1,
    2048,
    2047,
  ]);
  assertEquals(Array.from(applyBitsStored(Uint16Array.of(0xf001, 0x0800, 0x0fff), 12, true)), [
    1,
    -2048,
    -1,
  ]);
  const same = Int16Array.of(-5, 7);
  assert(applyBitsStored(same, 16, true) === same, "nothing to do: the same array");
});

Deno.test("applyRescale keeps integers in Int16 when they fit, else Float32", () => {
  const hu = applyRescale(Uint16Array.of(0, 1024, 4095), 1, -1024);
  assert(hu instanceof Int16Array);
  assertEquals(Array.from(hu), [-1024, 0, 3071]);
  const dose = applyRescale(Uint32Array.of(0, 100), 0.5, 0);
  assert(dose instanceof Float32Array);
  assertEquals(Array.from(dose), [0, 50]);
  assert(
    applyRescale(Uint16Array.of(0, 40000), 1, -1024) instanceof Float32Array,
    "past Int16: Float32",
  );
});

Deno.test("applyWindow is the PS3.3 C.11.2.1.2 linear function", () => {
  // centre 40, width 400: below -160 -> 0, above 239 -> 255, centre -> 128.
  assertEquals(
    Array.from(
      applyWindow(Int16Array.of(-1000, -160, 40, 239, 240, 3000), { center: 40, width: 400 }),
    ),
    [0, 0, 128, 255, 255, 255],
  );
  assertThrows(
    () => applyWindow(Int16Array.of(1), { center: 0, width: 0 }),
    InvalidInputError,
    "window width must be at least 1",
  );
});

Deno.test("ybrFullToRgb: grey stays grey, pure chroma maps as PS3.3 C.7.6.3.1.2", () => {
  assertEquals(Array.from(ybrFullToRgb(Uint8Array.of(100, 128, 128))), [100, 100, 100]);
  assertEquals(Array.from(ybrFullToRgb(Uint8Array.of(76, 85, 255))), [254, 0, 0]);
});

const dir = "dicom-conformance/";
const has = dataFile(dir + "MR_small.dcm");
const read = (f: string) => Deno.readFileSync(dataFile(dir + f)!);

Deno.test({
  name: "datasets without preamble or File Meta are read, little and big endian",
  ignore: !has,
  fn() {
    const le = readMeta(parseDataSet(read("ExplVR_LitEndNoMeta.dcm")));
    const be = readMeta(parseDataSet(read("ExplVR_BigEndNoMeta.dcm")));
    assertEquals([le.transferSyntaxUID, be.transferSyntaxUID], [
      "1.2.840.10008.1.2.1",
      "1.2.840.10008.1.2.2",
    ]);
    assert(
      le.sopInstanceUID && le.sopInstanceUID === be.sopInstanceUID,
      "the same dataset in both byte orders",
    );
  },
});

Deno.test({
  name:
    "the same image decodes identically from explicit LE, implicit LE and both big endian files",
  ignore: !has,
  async fn() {
    const ref = (await decodeDicom(read("MR_small.dcm"))).image.data;
    assert(ref instanceof Int16Array && ref.length === 64 * 64);
    for (
      const f of [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_padded.dcm",
      ]
    ) {
      assertEquals((await decodeDicom(read(f))).image.data, ref, f);
    }
  },
});

Deno.test({
  name: "CT: stored values become Hounsfield units through RescaleIntercept",
  ignore: !has,
  async fn() {
    const stored = await decodeDicom(read("CT_small.dcm"), { rescale: false });
    const hu = await decodeDicom(read("CT_small.dcm"));
    assertEquals(hu.applied.rescale, { slope: 1, intercept: -1024 });
    assert(hu.image.data instanceof Int16Array);
    for (let i = 0; i < 100; i++) assertEquals(hu.image.data[i], stored.image.data[i] - 1024);
    assertEquals(hu.image.spacing, [0.661468, 0.661468]);
  },
});

Deno.test({
  name: "bad input: truncated datasets, missing frames, oversize declarations give typed errors",
  ignore: !has,
  async fn() {
    assertThrows(
      () => parseDataSet(read("MR_truncated.dcm")),
      BadInputError,
      "DICOM could not be parsed",
    );
    assertThrows(() => parseDataSet(new Uint8Array(4)), BadInputError, "too short");
    assertThrows(
      () => parseDataSet(new TextEncoder().encode("this is not a DICOM file at all, just text")),
      BadInputError,
      "not DICOM: no 'DICM' prefix at byte 128",
    );
    await assertRejects(
      () => decodeDicom(read("MR_small.dcm"), { frame: 1 }),
      InvalidInputError,
      "frame 1 does not exist: the image has 1 frame(s)",
    );
    await assertRejects(
      () => decodeDicom(read("MR_small.dcm"), { pixelLimit: 8000 }),
      LimitExceededError,
      "64x64x1 frames x 1 samples x 16 bits = 8192 bytes is over the limit of 8000",
    );
    await assertRejects(
      () => decodeDicom(read("ExplVR_LitEndNoMeta.dcm")),
      InvalidInputError,
      "no image",
    );
    // Cut inside the pixel data: the element claims more bytes than the file holds.
    const bytes = read("MR_small.dcm");
    await assertRejects(() => decodeDicom(bytes.slice(0, bytes.length - 100)), BadInputError);
  },
});
