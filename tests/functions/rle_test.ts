import { assert, assertEquals } from "@std/assert";
import { app, rleRoutes } from "../../functions/rle.ts";
import { createApp } from "../../lib/http/mod.ts";
import { decodePng, encodeMaskPng } from "../../lib/image/png.ts";
import { encode as encodePng } from "fast-png";
import { parseRle, runsToMask } from "../../lib/rle/mod.ts";
import { dataFile, readGzipText } from "../_data.ts";

const JSON_TYPE = { "content-type": "application/json" };

async function expectProblem(res: Response, status: number, detail: string) {
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  assertEquals(body.status, status);
  assert(
    String(body.detail).includes(detail),
    `detail ${JSON.stringify(body.detail)} lacks ${JSON.stringify(detail)}`,
  );
  assert(body.type && body.title && body.request_id, JSON.stringify(body));
  return body;
}

const post = async (
  path: string,
  body: unknown,
  headers: Record<string, string> = JSON_TYPE,
): Promise<Response> =>
  await app.request(path, {
    method: "POST",
    headers,
    body: typeof body === "string" || body instanceof Uint8Array
      ? body as BodyInit
      : JSON.stringify(body),
  });

// "1 2 3 4" on 4x4, column-major: pixels 1-2 (column 0, rows 1-2) and 6-9 (column 1 rows 2-3, column 2 rows 0-1).
const EXPECTED_4x4 = [
  0,
  0,
  255,
  0,
  255,
  0,
  255,
  0,
  255,
  255,
  0,
  0,
  0,
  255,
  0,
  0,
];

Deno.test("GET /rle/decode answers an 8-bit 0/255 PNG by default, pixels exact", async () => {
  const res = await app.request("/rle/decode?rle=1%202%203%204&width=4&height=4");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "image/png");
  const png = decodePng(new Uint8Array(await res.arrayBuffer()));
  assertEquals([png.width, png.height, png.depth, png.channels], [4, 4, 8, 1]);
  assertEquals(Array.from(png.data), EXPECTED_4x4);
  assert(res.headers.get("server-timing")?.includes("parse"), "Server-Timing names the stages");
});

Deno.test("bits=1 gives a 1-bit PNG with 0/1 pixels", async () => {
  const res = await app.request("/rle/decode?rle=1%202%203%204&width=4&height=4&bits=1");
  const png = decodePng(new Uint8Array(await res.arrayBuffer()));
  assertEquals(png.depth, 1);
  assertEquals(Array.from(png.data), EXPECTED_4x4.map((v) => v / 255));
});

Deno.test("JSON answer by Accept or ?format=json: area, seed bounding box, runs", async () => {
  const expected = {
    width: 4,
    height: 4,
    dialect: "siim",
    order: "column",
    area: 6,
    bbox: { rmin: 0, rmax: 3, cmin: 0, cmax: 2 },
    runs: 2,
  };
  const a = await app.request("/rle/decode?rle=1%202%203%204&width=4&height=4", {
    headers: { accept: "application/json" },
  });
  assertEquals(await a.json(), expected);
  const b = await app.request("/rle/decode?rle=1%202%203%204&width=4&height=4&format=json");
  assertEquals(await b.json(), expected);
  const empty = await app.request("/rle/decode?rle=-1&width=4&height=4&format=json");
  assertEquals((await empty.json()).bbox, null);
});

Deno.test("raw answer: row-major uint8 with the shape in headers", async () => {
  const res = await app.request("/rle/decode?rle=1%202%203%204&width=4&height=4", {
    headers: { accept: "application/octet-stream" },
  });
  assertEquals(res.headers.get("content-type"), "application/octet-stream");
  assertEquals([
    res.headers.get("x-image-width"),
    res.headers.get("x-image-height"),
    res.headers.get("x-image-dtype"),
  ], ["4", "4", "uint8"]);
  assertEquals(Array.from(new Uint8Array(await res.arrayBuffer())), EXPECTED_4x4);
});

Deno.test("POST /rle/decode merges a list by union; GET merges repeated rle parameters", async () => {
  const body = { rle: ["0 2", "1 2"], width: 2, height: 2, dialect: "siim" };
  const res = await post("/rle/decode?format=json", body);
  assertEquals((await res.json()).area, 3);
  const get = await app.request("/rle/decode?rle=0%202&rle=1%202&width=2&height=2&format=json");
  assertEquals((await get.json()).area, 3);
});

Deno.test("POST /rle/decode: kaggle, row order, and COCO object / counts forms", async () => {
  const kaggle = await post("/rle/decode?format=raw", {
    rle: "2 2",
    width: 2,
    height: 2,
    dialect: "kaggle",
    order: "row",
  });
  assertEquals(Array.from(new Uint8Array(await kaggle.arrayBuffer())), [0, 255, 255, 0]);
  // pycocotools: mask[0:5, 0:5] = 1 on 25x25 is "05d00000000d?"; width/height come from size.
  const coco = await post("/rle/decode?format=json", {
    rle: { size: [25, 25], counts: "05d00000000d?" },
    dialect: "coco",
  });
  assertEquals(await coco.json(), {
    width: 25,
    height: 25,
    dialect: "coco",
    order: "column",
    area: 25,
    bbox: { rmin: 0, rmax: 4, cmin: 0, cmax: 4 },
    runs: 5,
  });
  const counts = await post("/rle/decode?format=json", {
    rle: [2, 3, 1, 4],
    width: 5,
    height: 2,
    dialect: "coco",
  });
  assertEquals((await counts.json()).area, 7);
});

const sampleCsv = dataFile("siim-pneumothorax/train-rle-sample.csv");

Deno.test({
  name:
    "real SIIM sample rows: the PNG from the route equals the seed's mask and encodes back to the same RLE",
  ignore: !sampleCsv,
  async fn() {
    const text = (await Deno.readTextFile(sampleCsv!)).replace(/^\uFEFF/, "");
    let positives = 0;
    for (const line of text.trim().split(/\r?\n/)) {
      const [, rle] = line.split(",");
      if (rle.trim() === "-1") continue;
      positives++;
      const res = await post("/rle/decode", { rle, width: 1024, height: 1024 });
      const png = new Uint8Array(await res.arrayBuffer());
      const pixels = decodePng(png).data;
      const expected = runsToMask([parseRle(rle, "siim", 1024, 1024)], 1024, 1024, "column", 255);
      assertEquals(pixels, expected);
      const back = await post("/rle/encode", png, { "content-type": "image/png" });
      assertEquals((await back.json()).rle, rle.trim());
    }
    assertEquals(positives, 5);
  },
});

Deno.test("POST /rle/encode: mask PNG -> RLE in each dialect", async () => {
  // The 25x25 pycocotools square mask[5:10, 5:10].
  const mask = new Uint8Array(625);
  for (let y = 5; y < 10; y++) for (let x = 5; x < 10; x++) mask[y * 25 + x] = 1;
  const png = await encodeMaskPng(mask, 25, 25, 8);
  const enc = (q: string) =>
    post(`/rle/encode${q}`, png, { "content-type": "image/png" }).then((r) => r.json());
  assertEquals(await enc("?dialect=coco"), {
    rle: { size: [25, 25], counts: "R45d00000000b;" },
    dialect: "coco",
    order: "column",
    width: 25,
    height: 25,
    area: 25,
  });
  assertEquals((await enc("?dialect=kaggle")).rle, "131 5 156 5 181 5 206 5 231 5");
  assertEquals((await enc("")).rle, "130 5 20 5 20 5 20 5 20 5");
  assertEquals((await enc("?dialect=kaggle&order=row")).rle, "131 5 156 5 181 5 206 5 231 5");
  assertEquals((await enc("?dialect=coco&counts=array")).rle.counts, [
    130,
    5,
    20,
    5,
    20,
    5,
    20,
    5,
    20,
    5,
    390,
  ]);
  const empty = await encodeMaskPng(new Uint8Array(4), 2, 2, 1);
  assertEquals(
    (await post("/rle/encode", empty, { "content-type": "image/png" }).then((r) => r.json())).rle,
    "-1",
  );
});

Deno.test("POST /rle/encode reads 1-bit, 16-bit, RGBA and palette PNGs (any non-zero colour is mask)", async () => {
  const expectRle = async (png: Uint8Array, rle: string) =>
    assertEquals(
      (await post("/rle/encode?dialect=kaggle&order=row", png, { "content-type": "image/png" })
        .then((r) => r.json())).rle,
      rle,
    );
  await expectRle(await encodeMaskPng(Uint8Array.of(0, 1, 1, 0), 2, 2, 1), "2 2");
  await expectRle(
    encodePng({
      width: 2,
      height: 2,
      depth: 16,
      channels: 1,
      data: Uint16Array.of(0, 0, 1, 65535),
    }),
    "3 2",
  );
  // RGBA: alpha is ignored, so an opaque black pixel is background.
  await expectRle(
    encodePng({
      width: 2,
      height: 1,
      depth: 8,
      channels: 4,
      data: Uint8Array.of(0, 0, 0, 255, 0, 9, 0, 0),
    }),
    "2 1",
  );
  await expectRle(
    encodePng({
      width: 3,
      height: 1,
      depth: 8,
      channels: 1,
      palette: [[0, 0, 0], [255, 0, 0]],
      data: Uint8Array.of(1, 0, 1),
    }),
    "1 1 3 1",
  );
});

Deno.test("bad requests: status and detail name the problem", async () => {
  const cases: [string, number, string][] = [
    ["/rle/decode?rle=1%202%203&width=4&height=4", 400, "odd number of tokens (3)"],
    ["/rle/decode?rle=1%20x&width=4&height=4", 400, "token 2 ('x') is not a non-negative integer"],
    ["/rle/decode?rle=-5%202&width=4&height=4", 400, "token 1 ('-5')"],
    [
      "/rle/decode?rle=10%207&width=4&height=4",
      422,
      "run 1 (start 10, length 7) ends at pixel 17, past width*height = 16",
    ],
    ["/rle/decode?rle=1%202&height=4", 400, "width is required"],
    ["/rle/decode?rle=1%202&width=4", 400, "height is required"],
    // Under the documented minimum: 400 (issue 15: the declaration validates, lib/http/query.ts).
    ["/rle/decode?rle=1%202&width=0&height=4", 400, 'width must be an integer >= 1, got "0"'],
    ["/rle/decode?rle=1%202&width=abc&height=4", 400, 'width must be an integer, got "abc"'],
    ["/rle/decode?rle=1%202&width=20000&height=4", 422, "width 20000 is over the limit of 16384"],
    ["/rle/decode?width=4&height=4", 400, "rle is required"],
    ["/rle/decode?rle=1%202&width=4&height=4&bits=3", 400, "bits must be 1 or 8"],
    [
      "/rle/decode?rle=1%202&width=4&height=4&dialect=rle",
      400,
      "dialect must be one of siim, kaggle, coco",
    ],
    [
      "/rle/decode?rle=1%202&width=4&height=4&order=diagonal",
      400,
      'order must be "column" or "row"',
    ],
    [
      "/rle/decode?rle=1%202&width=4&height=4&format=gif",
      400,
      "format must be one of png, json, raw",
    ],
    ["/rle/decode?rle=0%201&width=16384&height=16384", 422, "over the limit of 67108864"],
    [
      "/rle/decode?rle=1%202&width=4&height=4&dialect=kaggle&rle=0%201",
      422,
      "rle[1]: run 1 starts at 0",
    ],
  ];
  for (const [path, status, detail] of cases) {
    await expectProblem(await app.request(path), status, detail);
  }
  // The same size as JSON needs no pixels, so it is allowed.
  assertEquals(
    (await app.request("/rle/decode?rle=0%201&width=16384&height=16384&format=json")).status,
    200,
  );
});

Deno.test("bad POST bodies: wrong media type 415, broken JSON 400, COCO size mismatch 422", async () => {
  await expectProblem(
    await post("/rle/decode", "rle=1", { "content-type": "text/plain" }),
    415,
    'Content-Type "text/plain" is not accepted here',
  );
  await expectProblem(
    await post("/rle/decode", "{nope", JSON_TYPE),
    400,
    "request body is not valid JSON",
  );
  await expectProblem(await post("/rle/decode", "[1,2]", JSON_TYPE), 400, "must be a JSON object");
  await expectProblem(
    await post("/rle/decode", { rle: [], width: 4, height: 4 }),
    400,
    "rle is an empty list",
  );
  await expectProblem(
    await post("/rle/decode", { rle: 5, width: 4, height: 4 }),
    400,
    "rle must be a string or a list of strings",
  );
  await expectProblem(
    await post("/rle/decode", { rle: "1 2", width: "4", height: 4.5 }),
    400,
    "height must be an integer, got 4.5",
  );
  await expectProblem(
    await post("/rle/decode", {
      rle: { size: [25, 25], counts: "0ac0" },
      width: 20,
      height: 25,
      dialect: "coco",
    }),
    422,
    "COCO size [25, 25] does not match height 25, width 20",
  );
  await expectProblem(
    await app.request("/rle/decode?rle=1%202&width=4&height=4", {
      headers: { accept: "image/jpeg" },
    }),
    406,
    "none of the accepted types",
  );
});

Deno.test("bad encode bodies: not a PNG 400, wrong type 415, empty 400, truncated 400, huge declared size 422", async () => {
  const png = { "content-type": "image/png" };
  await expectProblem(await post("/rle/encode", "hello", png), 400, "body is not a PNG");
  await expectProblem(
    await post("/rle/encode", "x", { "content-type": "image/jpeg" }),
    415,
    "send image/png",
  );
  await expectProblem(
    await app.request("/rle/encode", { method: "POST", headers: png }),
    400,
    "request body is empty",
  );
  const good = await encodeMaskPng(new Uint8Array(64).fill(1), 8, 8, 8);
  await expectProblem(
    await post("/rle/encode", good.slice(0, 40), png),
    400,
    "PNG could not be decoded",
  );
  const bomb = good.slice();
  new DataView(bomb.buffer).setUint32(16, 100000);
  new DataView(bomb.buffer).setUint32(20, 100000);
  await expectProblem(await post("/rle/encode", bomb, png), 422, "100000x100000");
  await expectProblem(
    await post("/rle/encode?dialect=coco&counts=packed", good, png),
    400,
    'counts must be "string" or "array"',
  );
});

function csvBody(text: string, type = "text/csv") {
  return { method: "POST", headers: { "content-type": type }, body: text };
}
async function ndjson(res: Response) {
  assertEquals(res.status, 200, await res.clone().text());
  assertEquals(res.headers.get("content-type"), "application/x-ndjson");
  return (await res.text()).trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test("POST /rle/batch: header with a stray space, CRLF, BOM, merged rows, errors per line", async () => {
  const csv =
    "\uFEFFImageId, EncodedPixels\r\na, -1\r\nb,1 2\r\nc,1 2 3\r\nb,5 1\r\nd,x 1\r\n\r\ne\r\n";
  const lines = await ndjson(await app.request("/rle/batch?width=4&height=4", csvBody(csv)));
  assertEquals(lines.map((l) => l.ImageId), ["a", "b", "c", "d", "e"]);
  assertEquals(lines[0], {
    ImageId: "a",
    rows: 1,
    has_mask: false,
    area: 0,
    bbox: null,
    errors: [],
  });
  // b: "1 2" is pixels 1-2 (column 0, rows 1-2); its second row "5 1" is pixel 5 (column 1, row 1).
  assertEquals(lines[1], {
    ImageId: "b",
    rows: 2,
    has_mask: true,
    area: 3,
    bbox: { rmin: 1, rmax: 2, cmin: 0, cmax: 1 },
    errors: [],
  });
  assertEquals(lines[2].errors, ["line 4: odd number of tokens (3); RLE needs start/length pairs"]);
  assertEquals(lines[3].errors, ["line 6: token 1 ('x') is not a non-negative integer"]);
  assertEquals(lines[4].errors, ["line 8: no EncodedPixels column"]);
});

Deno.test("POST /rle/batch without a header, and grouping=contiguous emitting repeats separately", async () => {
  const csv = "a,0 1\nb,-1\na,2 1\n";
  const all = await ndjson(await app.request("/rle/batch?width=2&height=2", csvBody(csv)));
  assertEquals(all.map((l) => [l.ImageId, l.rows, l.area]), [["a", 2, 2], ["b", 1, 0]]);
  const cont = await ndjson(
    await app.request("/rle/batch?width=2&height=2&grouping=contiguous", csvBody(csv)),
  );
  assertEquals(cont.map((l) => [l.ImageId, l.rows, l.area]), [["a", 1, 1], ["b", 1, 0], [
    "a",
    1,
    1,
  ]]);
});

Deno.test("POST /rle/batch bad requests", async () => {
  await expectProblem(
    await app.request("/rle/batch", csvBody("a,1", "image/png")),
    415,
    "is not accepted here",
  );
  await expectProblem(
    await app.request("/rle/batch", { method: "POST", headers: { "content-type": "text/csv" } }),
    400,
    "request body is empty",
  );
  await expectProblem(
    await app.request("/rle/batch?grouping=sorted", csvBody("a,1 2")),
    400,
    'grouping must be "all" or "contiguous"',
  );
  await expectProblem(
    await app.request("/rle/batch?width=0", csvBody("a,1 2")),
    400,
    "width must be an integer >= 1",
  );
  await expectProblem(
    await app.request("/rle/batch", {
      method: "POST",
      headers: { "content-type": "application/gzip" },
      body: "not gzip at all",
    }),
    400,
    "CSV could not be read",
  );
});

Deno.test("POST /rle/batch: the streamed body limit (413) and the merge-state limit (413)", async () => {
  const small = createApp({ bodyLimits: { "/rle/batch": 64 } }).route("/", rleRoutes);
  const chunked = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(`id${i},1 2\n`));
      c.close();
    },
  });
  const res = await small.request(
    "/rle/batch",
    {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: chunked,
      duplex: "half",
    } as RequestInit,
  );
  await expectProblem(res, 413, "over the limit of 64 bytes");
  Deno.env.set("MEDIMG_BATCH_STATE_LIMIT", "1000");
  try {
    const rows = Array.from({ length: 100 }, (_, i) => `id${i},1 2`).join("\n");
    await expectProblem(await app.request("/rle/batch", csvBody(rows)), 413, "grouping=contiguous");
  } finally {
    Deno.env.delete("MEDIMG_BATCH_STATE_LIMIT");
  }
});

const fullCsv = dataFile("siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz");

Deno.test({
  name:
    "POST /rle/batch on the full SIIM CSV (gzip): one line per ImageId, equal to the seed reference",
  ignore: !fullCsv,
  async fn() {
    const body = (await Deno.open(fullCsv!)).readable;
    const res = await app.request(
      "/rle/batch",
      {
        method: "POST",
        headers: { "content-type": "application/gzip" },
        body,
        duplex: "half",
      } as RequestInit,
    );
    const lines = await ndjson(res);
    const ref = (await readGzipText(
      new URL("../fixtures/siim_rle_reference.csv.gz", import.meta.url).pathname,
    ))
      .trim().split("\n").slice(1).map((l) => l.split(","));
    assertEquals(lines.length, ref.length);
    for (let i = 0; i < ref.length; i++) {
      const [id, rows, area, rmin, rmax, cmin, cmax] = ref[i];
      const l = lines[i];
      assertEquals([l.ImageId, l.rows, l.area, l.has_mask, l.errors], [
        id,
        +rows,
        +area,
        +area > 0,
        [],
      ]);
      assertEquals(
        l.bbox,
        +area > 0 ? { rmin: +rmin, rmax: +rmax, cmin: +cmin, cmax: +cmax } : null,
      );
    }
  },
});

Deno.test("grouping=contiguous streams: lines arrive while the rest of the CSV is still unsent", async () => {
  const enc = new TextEncoder();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      // csv-parse hands on the last complete line of a chunk only when the next chunk comes (it
      // looks ahead to confirm the line ending), so a chunk's last lines lag by one record.
      c.enqueue(enc.encode("a,1 1\nb,-1\nc,0 1\nd,-1\ne,"));
      await gate;
      c.enqueue(enc.encode("0 1\n"));
      c.close();
    },
  });
  // If the route buffered the body, neither the response nor its first line could exist before
  // the gate opens; a 10 s guard turns that into a failure instead of a hang.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("no line before the CSV ended: the body was buffered")),
      10_000,
    );
  });
  try {
    const res = await Promise.race([
      app.request(
        "/rle/batch?width=2&height=2&grouping=contiguous",
        {
          method: "POST",
          headers: { "content-type": "text/csv" },
          body,
          duplex: "half",
        } as RequestInit,
      ),
      guard,
    ]);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await Promise.race([reader.read(), guard]);
    assertEquals(JSON.parse(first.value!.split("\n")[0]).ImageId, "a");
    release();
    let rest = first.value!;
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
    assertEquals(rest.trim().split("\n").map((l) => JSON.parse(l).ImageId), [
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
  } finally {
    clearTimeout(timer);
    release();
  }
});

// Issue 15: DRIVE ships its masks as GIF; the bytes decide, whatever the Content-Type says.
const driveGif = dataFile("drive/original/test/1st_manual/01_manual1.gif");
const drivePng = dataFile("drive/png/test/1st_manual/01_manual1.png");

Deno.test({
  name: "POST /rle/encode: DRIVE's GIF vessel mask gives the RLE of its PNG version",
  ignore: !driveGif || !drivePng,
  async fn() {
    const fromPng = await post("/rle/encode?dialect=kaggle", await Deno.readFile(drivePng!), {
      "content-type": "image/png",
    });
    assertEquals(fromPng.status, 200, await fromPng.clone().text());
    const want = await fromPng.json();
    assertEquals([want.width, want.height], [565, 584]);
    assert(want.area > 0);
    const gif = await Deno.readFile(driveGif!);
    for (const type of ["image/gif", "image/png", "application/octet-stream"]) {
      const res = await post("/rle/encode?dialect=kaggle", gif, { "content-type": type });
      assertEquals(res.status, 200, await res.clone().text());
      assertEquals(await res.json(), want, type);
    }
    // A DICOM mask is named as such, with the formats this edge-light function takes.
    const dicomLike = new Uint8Array(200);
    dicomLike.set(new TextEncoder().encode("DICM"), 128);
    await expectProblem(
      await post("/rle/encode", dicomLike, { "content-type": "application/octet-stream" }),
      415,
      "the body is a DICOM (by its bytes); this route takes PNG, TIFF or GIF",
    );
  },
});
