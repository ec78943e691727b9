/**
 * The held-out split by patient of both recipes (training/_shared/recipe.py split_patients): the
 * last 15% of 3Dircadb1.1-20 in natural order are the seed's test patients 18-20 (not 7-9, as a
 * plain string sort would give), named patients win, one patient holds nothing out, a name that is
 * not in the data stops the run. Skipped, saying why, without /usr/bin/python3 with torch.
 */
import { assertEquals } from "@std/assert";
import { python, withoutTorch } from "./_recipe.ts";

const noTorch = await withoutTorch();
if (noTorch) console.log(`skipping the split test: ${noTorch}`);

Deno.test({
  name: "recipes: held-out split by patient, natural order, named, single patient",
  ignore: noTorch !== undefined,
  async fn() {
    const r = JSON.parse(
      await python(
        `
import json, recipe
ircadb = [f"3Dircadb1.{i}" for i in range(20, 0, -1)]
out = {
  "seed": recipe.split_patients(ircadb, "", 0.15)[1],
  "named": recipe.split_patients(ircadb, "3Dircadb1.2, 3Dircadb1.5", 0.15)[1],
  "two": recipe.split_patients(["b", "a"], "", 0.1),
  "one": recipe.split_patients(["3Dircadb1.1"], "", 0.15),
}
try:
    recipe.split_patients(ircadb, "3Dircadb1.21", 0.15)
except SystemExit as e:
    out["missing"] = str(e)
print(json.dumps(out))
`,
        "training/ct_liver",
      ),
    );
    assertEquals(r.seed, ["3Dircadb1.18", "3Dircadb1.19", "3Dircadb1.20"]);
    assertEquals(r.named, ["3Dircadb1.2", "3Dircadb1.5"]);
    assertEquals(r.two, [["a"], ["b"]]);
    assertEquals(r.one, [["3Dircadb1.1"], []]);
    assertEquals(
      r.missing,
      "--held-out names patients that are not in the data: ['3Dircadb1.21']",
    );
  },
});
