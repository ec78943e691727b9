/**
 * Every row of the full SIIM train-rle.csv against the seed's rle2mask (numpy), pixel for pixel:
 * tests/fixtures/make_siim_rle.py stored each image's area, bounding box and a digest of its
 * non-zero pixel indices.
 */
import { assert, assertEquals } from "@std/assert";
import {
  maskToRuns,
  parseRle,
  parseRleUnion,
  runsToMask,
  summarizeRuns,
} from "../../lib/rle/mod.ts";
import { formatSiim } from "../../lib/rle/siim.ts";
import { dataFile, readGzipText } from "../_data.ts";

const csv = dataFile("siim-pneumothorax/siim-pneumothorax-train-rle.csv.gz");

async function digest(mask: Uint8Array): Promise<string> {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(i);
  const bytes = new Uint8Array(Uint32Array.from(idx).buffer); // little-endian, as the fixture
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function load() {
  const rows = (await readGzipText(csv!)).split("\n").slice(1).filter((l) => l).map((l) =>
    l.split(",")
  );
  const groups = new Map<string, string[]>();
  for (const [id, rle] of rows) groups.set(id, [...(groups.get(id) ?? []), rle]);
  const ref = new Map<string, string[]>();
  const fixture = await readGzipText(
    new URL("../fixtures/siim_rle_reference.csv.gz", import.meta.url).pathname,
  );
  for (const line of fixture.trim().split("\n").slice(1)) {
    const f = line.split(",");
    ref.set(f[0], f);
  }
  return { rows, groups, ref };
}

Deno.test({
  name: "siim: every image of the full CSV decodes to the seed's rle2mask, pixel for pixel",
  ignore: !csv,
  async fn() {
    const { groups, ref } = await load();
    assertEquals(groups.size, 12047);
    assertEquals(ref.size, groups.size);
    let positive = 0;
    for (const [id, rles] of groups) {
      const [, rows, area, rmin, rmax, cmin, cmax, hash] = ref.get(id)!;
      assertEquals(rles.length, Number(rows), id);
      const runs = parseRleUnion(rles, "siim", 1024, 1024);
      const s = summarizeRuns(runs, 1024, 1024, "column");
      assertEquals(s.area, Number(area), id);
      if (s.area === 0) {
        assertEquals(s.bbox, null);
        continue;
      }
      positive++;
      assertEquals(s.bbox, { rmin: +rmin, rmax: +rmax, cmin: +cmin, cmax: +cmax }, id);
      const mask = runsToMask([runs], 1024, 1024, "column");
      assertEquals(await digest(mask), hash, id);
      // decode(encode(m)) == m: the mask's own runs are the merged runs.
      assertEquals(maskToRuns(mask, 1024, 1024, "column"), runs, id);
    }
    assertEquals(positive, 2669);
  },
});

Deno.test({
  name: "siim: encode(decode(s)) == s for every row of the full CSV",
  ignore: !csv,
  async fn() {
    const { rows } = await load();
    assertEquals(rows.length, 12954);
    for (const [id, rle] of rows) {
      const canonical = rle.trim();
      assert(
        formatSiim(parseRle(rle, "siim", 1024, 1024)) === canonical,
        `${id}: ${canonical.slice(0, 40)}`,
      );
    }
  },
});
