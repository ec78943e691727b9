/**
 * lib/dicom/dicomweb.ts against a real Orthanc (Debian `orthanc` + `orthanc-dicomweb`), started
 * here as a plain process from a config in a temporary folder, with HTTP basic auth so the
 * MEDIMG_DICOMWEB_AUTH header is exercised: six 3D-IRCADb slices stored by STOW-RS are found by
 * QIDO-RS, come back by WADO-RS with the same SOP UIDs and pixel data, and assemble to the same
 * volume; a closed port is an UpstreamError (502), an unknown series a NotFoundError (404), a
 * malformed UID or a URL given as a UID and a base outside the allow-list BadInputError (400).
 * Skipped, saying why, where Orthanc, its DICOMweb plugin or the data is absent.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  BadInputError,
  LimitExceededError,
  type MedimgError,
  NotFoundError,
  UpstreamError,
} from "../../lib/errors.ts";
import { statusFor } from "../../lib/http/problem.ts";
import { parseDataSet } from "../../lib/dicom/parse.ts";
import { assembleSeries } from "../../lib/dicom/series.ts";
import {
  checkUid,
  configFromEnv,
  DicomWebClient,
  parseMultipart,
} from "../../lib/dicom/dicomweb.ts";
import { AUTH, freePort, orthancMissing, startOrthanc } from "./_orthanc.ts";
import { ircadbFolder } from "./_series_fixtures.ts";

/** The HTTP status lib/http gives a library error. */
const status = (err: Error) => statusFor(err as MedimgError);

if (orthancMissing) console.log(`skipping the Orthanc DICOMweb tests: ${orthancMissing}`);
const ircadb = await ircadbFolder();

Deno.test("checkUid: DICOM UIDs pass; URLs, paths and over-long strings are 400s", () => {
  assertEquals(checkUid("1.2.840.10008.1.2.1"), "1.2.840.10008.1.2.1");
  for (
    const bad of [
      "",
      "1..2",
      ".1",
      "1.2.",
      "1.2a",
      "http://evil.example/x",
      "1.2/../../x",
      "1.2?x=1",
      "1".repeat(65),
    ]
  ) {
    const err = assertThrows(() => checkUid(bad), BadInputError);
    assertEquals(status(err), 400);
  }
});

Deno.test("configFromEnv: a comma list of bases, the first the default, and the auth header", () => {
  const env = new Map([
    ["MEDIMG_DICOMWEB_URL", " http://a:8042/dicom-web , https://b/dw "],
    ["MEDIMG_DICOMWEB_AUTH", "Bearer t"],
  ]);
  assertEquals(configFromEnv(env), {
    bases: ["http://a:8042/dicom-web", "https://b/dw"],
    auth: "Bearer t",
  });
  assertEquals(configFromEnv(new Map()), undefined);
});

Deno.test("parseMultipart: parts split on the boundary, bodies byte-exact", () => {
  const body = new TextEncoder().encode(
    "preamble\r\n--b1\r\nContent-Type: application/dicom\r\n\r\nAB\r\n--C\r\n--b1\r\n" +
      "Content-Type: application/dicom\r\n\r\n\r\nXY\r\n--b1--\r\n",
  );
  const parts = parseMultipart(body, 'multipart/related; type="application/dicom"; boundary=b1')
    .map((p) => new TextDecoder().decode(p));
  assertEquals(parts, ["AB\r\n--C", "\r\nXY"]);
  assertThrows(() => parseMultipart(body, "application/json"), UpstreamError);
});

Deno.test("a base URL outside the allow-list is refused before any request (400)", async () => {
  const client = new DicomWebClient({ bases: ["http://127.0.0.1:1/dicom-web"] });
  for (const base of ["http://evil.example/dicom-web", "not a url"]) {
    const err = await assertRejects(
      () => client.retrieveSeries("1.2.3", "1.2.3.4", { base }),
      BadInputError,
    );
    assertEquals(status(err), 400);
  }
});

Deno.test("a PACS that is down (a closed port) is an UpstreamError (502)", async () => {
  const client = new DicomWebClient({ bases: [`http://127.0.0.1:${freePort()}/dicom-web`] });
  const err = await assertRejects(() => client.retrieveSeries("1.2.3", "1.2.3.4"), UpstreamError);
  assertEquals(status(err), 502);
  await assertRejects(() => client.searchSeries(undefined, {}), UpstreamError);
  await assertRejects(() => client.storeInstances([new Uint8Array(4)]), UpstreamError);
});

Deno.test("a PACS slower than the caller's budget is an UpstreamError (502)", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await new Promise((r) => setTimeout(r, 1000));
    return new Response("[]");
  });
  try {
    const client = new DicomWebClient({ bases: [`http://127.0.0.1:${server.addr.port}/dw`] });
    const t0 = performance.now();
    const err = await assertRejects(
      () => client.searchSeries(undefined, {}, { signal: AbortSignal.timeout(200) }),
      UpstreamError,
    );
    assert(performance.now() - t0 < 900, "the timeout bounded the wait");
    assertEquals((err as MedimgError).facts.upstream, "timeout");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a redirect is not followed (502), an answer over maxBytes is refused (422)", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (req.url.includes("/studies/")) {
      return new Response(null, { status: 302, headers: { location: "http://evil.example/" } });
    }
    return new Response(JSON.stringify(Array(1000).fill({})));
  });
  try {
    const client = new DicomWebClient({ bases: [`http://127.0.0.1:${server.addr.port}/dw`] });
    const err = await assertRejects(() => client.retrieveSeries("1.2", "1.2.3"), UpstreamError);
    assertEquals((err as MedimgError).facts.upstream_status, 302);
    const big = await assertRejects(
      () => client.searchSeries(undefined, {}, { maxBytes: 100 }),
      LimitExceededError,
    );
    assertEquals(status(big), 422);
    assertEquals((await client.searchSeries(undefined, {})).length, 1000);
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "Orthanc: STOW -> QIDO -> WADO-RS round trip of 3D-IRCADb slices; 404 and 400 refusals",
  ignore: orthancMissing !== null || !ircadb,
  sanitizeResources: false,
  async fn() {
    const files = [60, 61, 62, 63, 64, 65].map((i) => `${ircadb}/PATIENT_DICOM/image_${i}`);
    const originals = files.map((f) => Deno.readFileSync(f));
    const metas = originals.map((b) => {
      const ds = parseDataSet(b);
      return {
        study: ds.string("x0020000d")!,
        series: ds.string("x0020000e")!,
        sop: ds.string("x00080018")!,
      };
    });
    const { study, series } = metas[0];
    const orthanc = await startOrthanc();
    try {
      // Without the auth header Orthanc refuses: a 401 is not a PACS outage we hide as 404.
      const noAuth = new DicomWebClient({ bases: [orthanc.base] });
      await assertRejects(() => noAuth.searchSeries(undefined, {}), UpstreamError);

      const client = new DicomWebClient(
        configFromEnv(
          new Map([["MEDIMG_DICOMWEB_URL", orthanc.base], [
            "MEDIMG_DICOMWEB_AUTH",
            AUTH,
          ]]),
        )!,
      );
      let t0 = performance.now();
      const stored = await client.storeInstances(originals);
      const stowMs = performance.now() - t0;
      assertEquals(stored.map((s) => s.sopInstanceUID).sort(), metas.map((m) => m.sop).sort());

      const found = await client.searchSeries(study, { SeriesInstanceUID: series });
      assertEquals(found.length, 1);
      assertEquals(found[0]["0020000E"]?.Value?.[0], series);
      assertEquals(found[0]["00201209"]?.Value?.[0], originals.length);
      const all = await client.searchSeries(undefined, {});
      assert(all.some((s) => s["0020000E"]?.Value?.[0] === series));

      t0 = performance.now();
      const retrieved = await client.retrieveSeries(study, series);
      const wadoMs = performance.now() - t0;
      assertEquals(retrieved.length, originals.length);
      const bySop = new Map(originals.map((b, i) => [metas[i].sop, b]));
      for (const bytes of retrieved) {
        const ds = parseDataSet(bytes);
        const sop = ds.string("x00080018")!;
        const orig = bySop.get(sop);
        assert(orig, `retrieved an instance we did not store: ${sop}`);
        const o = parseDataSet(orig).elements.x7fe00010, r = ds.elements.x7fe00010;
        assertEquals(
          bytes.subarray(r.dataOffset, r.dataOffset + r.length),
          orig.subarray(o.dataOffset, o.dataOffset + o.length),
          `pixel data of ${sop}`,
        );
      }
      const a = await assembleSeries(originals), b = await assembleSeries(retrieved);
      assertEquals(b.volume.dims, a.volume.dims);
      assertEquals(b.volume.affine, a.volume.affine);
      assertEquals(b.volume.data, a.volume.data);
      console.log(
        `  Orthanc: STOW ${originals.length} instances ${stowMs.toFixed(0)} ms, WADO-RS ${
          wadoMs.toFixed(0)
        } ms, volume ${a.volume.dims.join("x")}`,
      );

      const nf = await assertRejects(
        () => client.retrieveSeries(study, "1.2.3.999999"),
        NotFoundError,
      );
      assertEquals(status(nf), 404);
      await assertRejects(() => client.retrieveSeries("1.2.3.999999", series), NotFoundError);

      for (const bad of ["http://127.0.0.1:1/x", "../../system", "1.2.x"]) {
        const err = await assertRejects(() => client.retrieveSeries(study, bad), BadInputError);
        assertEquals(status(err), 400);
        await assertRejects(() => client.retrieveSeries(bad, series), BadInputError);
        await assertRejects(() => client.searchSeries(bad, {}), BadInputError);
      }
      await assertRejects(
        () => client.searchSeries(undefined, { "a&b": "1" }),
        BadInputError,
      );
    } finally {
      await orthanc.stop();
    }
  },
});
