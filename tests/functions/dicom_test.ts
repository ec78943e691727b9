import { assert, assertEquals } from "@std/assert";
import { app } from "../../functions/dicom.ts";
import { decodeDicom } from "../../lib/dicom/pixels.ts";
import { decodePng, encodeImagePng } from "../../lib/image/png.ts";
import { dataFile } from "../_data.ts";

const rsna = dataFile("rsna-pneumonia/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm");
const ct = dataFile("dicom-conformance/CT1_UNC.explicit_little_endian.dcm");
const rgb2 = dataFile("dicom-conformance/SC_rgb_rle_16bit_2frame.dcm");
// 3D-IRCADb ships WindowCenter 0, WindowWidth 0 in every slice.
const windowed = dataFile("dicom-conformance/693_J2KI.dcm"); // WindowCenter 40, WindowWidth 100
const ircadb = dataFile("ircadb-liver/subset/3Dircadb1.1/PATIENT_DICOM/image_60");

const post = async (path: string, body: BodyInit, type = "application/dicom") =>
  await app.request(path, { method: "POST", headers: { "content-type": type }, body });

async function problem(res: Response, status: number, detail: string) {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assert(String(body.detail).includes(detail), `${body.detail} lacks ${detail}`);
}

Deno.test({
  name: "POST /dicom/info: typed metadata, no patient name/id unless ?phi=1",
  ignore: !rsna,
  async fn() {
    const bytes = await Deno.readFile(rsna!);
    const res = await post("/dicom/info", bytes);
    assertEquals(res.status, 200);
    const text = await res.text();
    // The RSNA files use the patientId as PatientName and PatientID.
    assert(!text.includes("0004cfab-14fd-4e49-80ba-63a80b6bddd6"), "PHI leaked without ?phi=1");
    const meta = JSON.parse(text);
    assertEquals(meta.phi, undefined);
    assertEquals(
      [meta.modality, meta.rows, meta.columns, meta.patientAge, meta.patientSex, meta.viewPosition],
      ["CR", 1024, 1024, 51, "F", "PA"],
    );
    assertEquals(meta.transferSyntaxUID, "1.2.840.10008.1.2.4.50");
    assertEquals(meta.pixelSpacing, [0.14300000000000002, 0.14300000000000002]);
    const withPhi = await (await post("/dicom/info?phi=1", bytes)).json();
    assertEquals(withPhi.phi.patientId, "0004cfab-14fd-4e49-80ba-63a80b6bddd6");
  },
});

Deno.test({
  name: "POST /dicom/render: the frame through its window as PNG, a given window, JSON, raw",
  ignore: !ct,
  async fn() {
    const bytes = await Deno.readFile(ct!);
    const lib = await decodeDicom(bytes, { window: { center: 40, width: 400 } });
    const res = await post("/dicom/render?center=40&width=400", bytes);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "image/png");
    const png = decodePng(new Uint8Array(await res.arrayBuffer()));
    assertEquals([png.width, png.height, png.depth], [512, 512, 8]);
    assertEquals(png.data, lib.image.data);
    // Spot values by the PS3.3 C.11.2.1.2 formula from the stored value and the rescale.
    const hu = await decodeDicom(bytes);
    for (const i of [0, 1000, 131_328, 200_000]) {
      const x = hu.image.data[i];
      const y = x <= 40 - 0.5 - 199.5
        ? 0
        : x > 40 - 0.5 + 199.5
        ? 255
        : Math.round(((x - 39.5) / 399 + 0.5) * 255);
      assert(Math.abs(png.data[i] - y) <= 1, `pixel ${i}: ${png.data[i]} vs ${y} for HU ${x}`);
    }
    const json = await (await post("/dicom/render?format=json", bytes)).json();
    assertEquals([json.width, json.height, json.channels, json.frame, json.frames], [
      512,
      512,
      1,
      0,
      1,
    ]);
    const raw = await post("/dicom/render?format=raw&window=minmax", bytes);
    assertEquals(raw.headers.get("x-image-dtype"), "int16");
    const values = new Int16Array(await raw.arrayBuffer());
    assertEquals(values, hu.image.data);
  },
});

Deno.test({
  name: "POST /dicom/render: ?frame picks a frame of a multi-frame RGB file; past the end is 422",
  ignore: !rgb2,
  async fn() {
    const bytes = await Deno.readFile(rgb2!);
    const second = await decodeDicom(bytes, { frame: 1 });
    const res = await post("/dicom/render?frame=1&format=raw", bytes);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("x-image-channels"), "3");
    const raw = new Uint8Array(await res.arrayBuffer());
    const want = second.image.data;
    assertEquals(raw, new Uint8Array(want.buffer, want.byteOffset, want.byteLength));
    await problem(await post("/dicom/render?frame=2", bytes), 422, "frame");
  },
});

Deno.test("POST /dicom/*: bad bodies give problem+json with a reason", async () => {
  await problem(await post("/dicom/info", "hello", "text/plain"), 415, "application/dicom");
  await problem(await post("/dicom/info", new Uint8Array(300)), 400, "DICM");
  await problem(await post("/dicom/info", new Uint8Array(200)), 400, "holds no data elements");
  await problem(await post("/dicom/render", new Uint8Array(0)), 400, "");
  if (ct) {
    const bytes = await Deno.readFile(ct);
    await problem(await post("/dicom/render", bytes.subarray(0, 5000)), 400, "");
    await problem(await post("/dicom/render?center=40", bytes), 422, "center and width");
    // Outside the documented enum: 400 (issue 15: the declaration validates, lib/http/query.ts).
    await problem(
      await post("/dicom/render?window=auto", bytes),
      400,
      'window must be "dataset" or "minmax"',
    );
  }
});

Deno.test({
  name:
    "POST /dicom/info?deidentify=1: PS3.15 basic profile on the answer, age/sex kept only if asked",
  ignore: !rsna,
  async fn() {
    const bytes = await Deno.readFile(rsna!);
    const plain = await (await post("/dicom/info", bytes)).json();
    const res = await post("/dicom/info?deidentify=1", bytes);
    assertEquals(res.status, 200);
    const safe = await res.json();
    assertEquals(safe.patientIdentityRemoved, "YES");
    assert(safe.deidentificationMethod.startsWith("DICOM PS3.15 E.1 Basic"));
    assert(/^2\.25\.\d{1,39}$/.test(safe.sopInstanceUID), safe.sopInstanceUID);
    assert(safe.sopInstanceUID !== plain.sopInstanceUID);
    assertEquals([safe.patientAge, safe.patientSex, safe.phi], [null, null, undefined]);
    // Everything that is not identifying is as before.
    assertEquals([safe.rows, safe.viewPosition, safe.pixelSpacing], [
      plain.rows,
      plain.viewPosition,
      plain.pixelSpacing,
    ]);
    // Consistent: the same UID maps to the same replacement; another key gives another one.
    const again = await (await post("/dicom/info?deidentify=1&retain=characteristics", bytes))
      .json();
    assertEquals(again.sopInstanceUID, safe.sopInstanceUID);
    assertEquals([again.patientAge, again.patientSex], [51, "F"]);
    Deno.env.set("MEDIMG_DEID_KEY", "another site");
    try {
      const keyed = await (await post("/dicom/info?deidentify=1", bytes)).json();
      assert(keyed.sopInstanceUID !== safe.sopInstanceUID);
    } finally {
      Deno.env.delete("MEDIMG_DEID_KEY");
    }
    await problem(await post("/dicom/info?deidentify=1&phi=1", bytes), 422, "opposite");
  },
});

Deno.test({
  name:
    "POST /dicom/render: an unusable dataset window (3D-IRCADb, width 0) falls back to min-max, and says so",
  ignore: !ircadb,
  async fn() {
    const bytes = await Deno.readFile(ircadb!);
    const res = await post("/dicom/render", bytes);
    assertEquals(res.status, 200, await res.clone().text());
    // pydicom: pixel_array * 1 + 0 spans -1024..1023 HU on this slice.
    assertEquals(res.headers.get("x-window-source"), "minmax (dataset window width 0 unusable)");
    assertEquals(res.headers.get("x-window-center"), "-0.5");
    assertEquals(res.headers.get("x-window-width"), "2047");
    const png = decodePng(new Uint8Array(await res.arrayBuffer()));
    const hu = (await decodeDicom(bytes)).image.data;
    const want = Uint8Array.from(hu, (v) => Math.round((v + 1024) * 255 / 2047));
    assertEquals(png.data, want);
    const minmax = await post("/dicom/render?window=minmax", bytes);
    assertEquals(decodePng(new Uint8Array(await minmax.arrayBuffer())).data, want);
    assertEquals(minmax.headers.get("x-window-source"), "minmax (requested)");
    const json = await (await post("/dicom/render?format=json", bytes)).json();
    assertEquals(json.window, {
      center: -0.5,
      width: 2047,
      source: "minmax (dataset window width 0 unusable)",
    });
    // A window the caller sends is used as sent and named as theirs.
    const asked = await post("/dicom/render?center=40&width=400", bytes);
    assertEquals(asked.headers.get("x-window-source"), "request");
    assertEquals(asked.headers.get("x-window-width"), "400");
    // Only the caller's own unusable window is refused (a 400: outside the documented range, by
    // the query's one declaration), and it names the caller's field.
    const bad = await post("/dicom/render?center=40&width=0", bytes);
    const body = await bad.json();
    assertEquals([bad.status, body.field], [400, "width"]);
    assert(String(body.detail).includes("width"), body.detail);
  },
});

Deno.test({
  name: "POST /dicom/render: a usable dataset window is applied and reported as the dataset's",
  ignore: !windowed,
  async fn() {
    const bytes = await Deno.readFile(windowed!);
    const res = await post("/dicom/render", bytes);
    assertEquals(res.status, 200);
    const lib = await decodeDicom(bytes, { window: "dataset" });
    assertEquals(lib.applied.window, { center: 40, width: 100 });
    assertEquals(res.headers.get("x-window-source"), "dataset");
    assertEquals(res.headers.get("x-window-center"), "40");
    assertEquals(res.headers.get("x-window-width"), "100");
    assertEquals(decodePng(new Uint8Array(await res.arrayBuffer())).data, lib.image.data);
  },
});

Deno.test("POST /dicom/*: an image of another format is named by its bytes (415), not parsed", async () => {
  const png = await encodeImagePng(new Uint8Array(4), 2, 2);
  for (const path of ["/dicom/info", "/dicom/render"]) {
    const res = await post(path, png, "application/octet-stream");
    await problem(res, 415, "the body is a PNG (by its bytes); this route takes DICOM");
  }
  const gif = new TextEncoder().encode("GIF89a\x01\x00\x01\x00");
  await problem(await post("/dicom/render", gif), 415, "the body is a GIF");
});
