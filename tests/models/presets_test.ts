/** Presets by name (lib/pipelines/presets.ts) and the cxr-pneumothorax preset. */
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ModelCardError } from "../../lib/models/card.ts";
import { getPreset, PRESETS, scalePreset } from "../../lib/pipelines/presets.ts";
import { cxrPneumothorax } from "../../lib/pipelines/cxr_pneumothorax.ts";
import { fundusVessels } from "../../lib/pipelines/fundus.ts";
import { ctLiver } from "../../lib/pipelines/ct.ts";

Deno.test("getPreset: every name resolves to its pipeline; an unknown one is a card error", async () => {
  assertEquals(Object.keys(PRESETS), ["scale", "ct-liver", "fundus-vessels", "cxr-pneumothorax"]);
  assertEquals(await getPreset("scale"), scalePreset);
  assertEquals(await getPreset("ct-liver"), ctLiver);
  assertEquals(await getPreset("fundus-vessels"), fundusVessels);
  assertEquals(await getPreset("cxr-pneumothorax"), cxrPneumothorax);
  await assertRejects(() => getPreset("toString"), ModelCardError, "unknown");
});

Deno.test("scalePreset: full scale of the sample type, or divide_by", () => {
  const img = (data: Uint8Array | Uint16Array | Float32Array) => ({
    width: 2,
    height: 1,
    channels: 1 as const,
    data,
  });
  assertEquals([...scalePreset(img(Uint8Array.of(0, 255)), {}, {}).tensor], [0, 1]);
  assertEquals([...scalePreset(img(Uint16Array.of(0, 65535)), {}, {}).tensor], [0, 1]);
  assertEquals([...scalePreset(img(Float32Array.of(-3, 2)), {}, {}).tensor], [-3, 2]);
  assertEquals([...scalePreset(img(Uint8Array.of(10, 20)), {}, { divide_by: 10 }).tensor], [1, 2]);
  assertThrows(
    () => scalePreset(img(Uint8Array.of(1, 2)), {}, { divide_by: 0 }),
    Error,
    "divide_by",
  );
  const rgb = { width: 1, height: 1, channels: 3 as const, data: Uint8Array.of(0, 51, 255) };
  assertEquals([...scalePreset(rgb, {}, { channels: "green" }).tensor], [Math.fround(51 / 255)]);
});

Deno.test("cxr-pneumothorax: samples as stored (the seed does not scale), grey only", () => {
  const grey = { width: 3, height: 1, channels: 1 as const, data: Uint8Array.of(0, 128, 255) };
  const out = cxrPneumothorax(grey, {}, {});
  assertEquals([...out.tensor], [0, 128, 255]);
  assertEquals([out.width, out.height, out.channels], [3, 1, 1]);
  const scaled = cxrPneumothorax(grey, {}, { divide_by: 255 }).tensor;
  assertEquals([...scaled], [0, Math.fround(128 / 255), 1]);
  const rgb = { width: 1, height: 1, channels: 3 as const, data: Uint8Array.of(1, 2, 3) };
  assertThrows(() => cxrPneumothorax(rgb, {}, {}), Error, "grey radiograph");
});
