import { assert, assertEquals } from "@std/assert";
import { clahe } from "../../lib/image/clahe.ts";
import { bytes, reference, u16 } from "./_reference.ts";

Deno.test("clahe equals OpenCV 4.6 createCLAHE on 8- and 16-bit images, divisible or not by the grid", () => {
  for (const c of reference.clahe) {
    const data = c.depth === 8 ? bytes(c.input) : u16(c.input);
    const expected = c.depth === 8 ? bytes(c.output) : u16(c.output);
    const got = clahe({ width: c.width, height: c.height, data }, c.clip, c.tiles).data;
    let worst = 0, same = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - expected[i]);
      worst = Math.max(worst, d);
      if (d === 0) same++;
    }
    const name = `${c.width}x${c.height} ${c.depth}-bit clip ${c.clip} grid ${c.tiles}`;
    assertEquals([worst, same], [0, got.length], name);
  }
});

Deno.test("clahe of a flat image stays flat, and keeps the input's type", () => {
  const flat = clahe({ width: 16, height: 16, data: new Uint8Array(256).fill(100) }, 2, 4);
  assert(flat.data instanceof Uint8Array);
  assertEquals(new Set(flat.data).size, 1);
  assert(
    clahe({ width: 8, height: 8, data: new Uint16Array(64).fill(7) }, 2, 2).data instanceof
      Uint16Array,
  );
});
