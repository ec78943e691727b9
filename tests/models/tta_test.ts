/**
 * lib/models/tta.ts: flips of C-order arrays by hand, and the mean over flips of a 3D sliding
 * window with a forward that is not flip-equivariant, equal to the mean computed here by hand
 * (each flipped run flipped back, summed in float64 in order, divided, stored as float32); the
 * cards' postprocess and tta fields checked by parseCard.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { ModelCardError, parseCard } from "../../lib/models/card.ts";
import { flipAxes, flipMean } from "../../lib/models/tta.ts";
import { slidingWindow3d } from "../../lib/models/sliding3d.ts";
import { lcg } from "./_fixtures.ts";

Deno.test("flipAxes mirrors the axes named, any rank", () => {
  const a = Float32Array.of(1, 2, 3, 4, 5, 6); // 2 x 3
  assertEquals([...flipAxes(a, [2, 3], [1])], [3, 2, 1, 6, 5, 4]);
  assertEquals([...flipAxes(a, [2, 3], [0])], [4, 5, 6, 1, 2, 3]);
  assertEquals([...flipAxes(a, [2, 3], [0, 1])], [6, 5, 4, 3, 2, 1]);
  assertEquals([...flipAxes(a, [2, 3], [])], [...a]);
  const b = Float32Array.from({ length: 24 }, (_, i) => i); // 2 x 3 x 4
  const f = flipAxes(b, [2, 3, 4], [0, 2]);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 4; k++) {
        assertEquals(f[(i * 3 + j) * 4 + k], b[((1 - i) * 3 + j) * 4 + 3 - k]);
      }
    }
  }
});

Deno.test("flipMean over a 3D sliding window equals the flipped runs averaged by hand", async () => {
  const [C, D, H, W] = [2, 5, 7, 9];
  const vol = { data: lcg(C * D * H * W, 3), channels: C, depth: D, height: H, width: W };
  // a forward that depends on position within the window: not flip-equivariant
  const forward = (batch: Float32Array, n: number, patch: [number, number, number]) => {
    const pv = patch[0] * patch[1] * patch[2], out = new Float32Array(n * pv);
    for (let b = 0; b < n; b++) {
      for (let v = 0; v < pv; v++) {
        const x0 = batch[(b * pv + v) * C], x1 = batch[(b * pv + v) * C + 1];
        out[b * pv + v] = 1 / (1 + Math.exp(-(x0 * (1 + v % 3) - x1 * 0.5)));
      }
    }
    return out;
  };
  const opts = { patch: [4, 4, 4] as [number, number, number], overlap: 0.5, outChannels: 1 };
  const run = async (data: Float32Array) =>
    (await slidingWindow3d({ ...vol, data }, forward, opts)).data;
  const flips = [[2], [0, 1], [0, 1, 2]];
  const got = await flipMean(vol.data, [C, D, H, W], 0, flips, run);
  const runs = [await run(vol.data)];
  for (const f of flips) {
    const axes = f.map((a) => a + 1);
    runs.push(flipAxes(await run(flipAxes(vol.data, [C, D, H, W], axes)), [1, D, H, W], axes));
  }
  const want = new Float32Array(D * H * W);
  for (let i = 0; i < want.length; i++) {
    want[i] = (runs[0][i] + runs[1][i] + runs[2][i] + runs[3][i]) / 4;
  }
  assertEquals(got, want);
  assert(runs[1].some((v, i) => v !== runs[0][i]), "the flipped run differs");
});

Deno.test("card: postprocess, tta and postprocess_measured are checked, naming the field", () => {
  const ok = {
    name: "x",
    version: "1",
    task: "segmentation",
    format: "layers",
    inputs: [{ name: "image", shape: [null, 8, 8, 1] }],
    output: { activation: "sigmoid" },
  };
  const volume = { ...ok, inputs: [{ name: "v", shape: [null, 8, 8, 8, 4] }] };
  const bad: [Record<string, unknown>, string][] = [
    [{ ...ok, postprocess: { largest: 0 } }, "postprocess.largest"],
    [{ ...ok, postprocess: { largest: 1.5 } }, "postprocess.largest"],
    [{ ...ok, postprocess: { fill_holes: 1 } }, "postprocess.fill_holes"],
    [{ ...ok, postprocess: { min_size: -1 } }, "postprocess.min_size"],
    [{ ...ok, postprocess: { keep: 2 } }, "postprocess.keep"],
    [{ ...ok, postprocess: [1] }, "postprocess"],
    [{ ...ok, tta: { flips: [] } }, "tta.flips"],
    [{ ...ok, tta: { flips: [[2]] } }, "tta.flips[0]"], // an image has axes 0 and 1 only
    [{ ...ok, tta: { flips: [[1], [1]] } }, "tta.flips[1]"],
    [{ ...ok, tta: { flips: [[0, 0]] } }, "tta.flips[0]"],
    [{ ...volume, tta: { flips: [[3]] } }, "tta.flips[0]"],
    [{ ...ok, postprocess_measured: "better" }, "postprocess_measured"],
  ];
  for (const [card, field] of bad) assertThrows(() => parseCard(card), ModelCardError, field);
  const good = parseCard({
    ...volume,
    postprocess: { largest: 2, fill_holes: true, min_size: 0.5 },
    tta: { flips: [[2], [0, 1, 2]] },
    postprocess_measured: { dice: 0.9 },
  });
  assertEquals(good.tta, { flips: [[2], [0, 1, 2]] });
});
