/**
 * The cxr-pneumonia card's `baselines` (lib/models/card_baselines.ts): the shipped card parses with
 * its seed-002 baseline, whose re-measure of the shipped model agrees with the card's own metrics;
 * malformed entries are refused with a ModelCardError naming the field; and the baseline script's
 * network (training/cxr-pneumonia/baseline_seed002.py summary) has seed 002's layer list, output
 * shapes and parameter count (526,217 trainable, the seed's model summary), checked when Debian's
 * /usr/bin/python3 with torch is here.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { ModelCardError, parseCard } from "../../lib/models/card.ts";
import { pythonMissing } from "../dicom/_series_fixtures.ts";

const cardUrl = new URL("../../models/cxr-pneumonia/card.json", import.meta.url);
const rawCard = () => JSON.parse(Deno.readTextFileSync(cardUrl)) as Record<string, unknown>;

Deno.test("cxr-pneumonia card: the seed-002 baseline parses and its shipped re-measure equals the card's AUC", () => {
  const card = parseCard(rawCard());
  const base = card.baselines?.find((b) => b.name === "seed002");
  assert(base, "no seed002 baseline on the cxr-pneumonia card");
  assert(base.command.includes("training/cxr-pneumonia/baseline_seed002.py"), base.command);
  const auc = base.metrics.auc as number;
  assert(auc >= 0 && auc <= 1);
  const [lo, hi] = base.metrics.auc_95ci as [number, number];
  assert(lo <= auc && auc <= hi, `${lo} <= ${auc} <= ${hi}`);
  const shipped = base.shipped_remeasured as { auc: number; auc_95ci: number[] };
  assertEquals(shipped.auc, (card.metrics as { auc: number }).auc);
  assertEquals(shipped.auc_95ci, (card.metrics as { auc_95ci: number[] }).auc_95ci);
});

Deno.test("card baselines: malformed entries are refused, naming the field", () => {
  const good = (rawCard().baselines as Record<string, unknown>[])[0];
  const cases: [unknown, string][] = [
    [{}, "must be a list"],
    [[{ ...good, command: "" }], "[0].command must be a non-empty string"],
    [[{ ...good, metrics: { auc: 1.5 } }], "[0].metrics.auc must be a number in [0, 1]"],
    [[{ ...good, metrics: { auc: 0.7, auc_95ci: [0.8, 0.6] } }], "[0].metrics.auc_95ci must be"],
    [[{ ...good, metrics: {} }], "[0].metrics must name at least one figure"],
    [[good, "x"], "[1] must be an object"],
  ];
  for (const [baselines, why] of cases) {
    const err = assertThrows(() => parseCard({ ...rawCard(), baselines }), ModelCardError);
    assert(err.message.startsWith(`card baselines: ${why}`), err.message);
  }
});

const noTorch = await pythonMissing(["torch"]);
const python = noTorch === null;
if (!python) console.log(`skipping the seed-002 layer check: ${noTorch}`);

/** Seed 002's build_model() (shared/seeds/002, "Model summary": 526,217 trainable parameters). */
const SEED002: [string, (number | null)[], number][] = [
  ["Conv2D", [null, 217, 217, 128], 8320], // 128 filters, kernel 8, valid, SELU
  ["BatchNormalization", [null, 217, 217, 128], 512],
  ["Conv2D", [null, 210, 210, 32], 262176],
  ["MaxPooling2D", [null, 105, 105, 32], 0],
  ["Conv2D", [null, 98, 98, 8], 16392],
  ["MaxPooling2D", [null, 49, 49, 8], 0],
  ["Dropout", [null, 49, 49, 8], 0],
  ["Conv2D", [null, 42, 42, 4], 2052],
  ["MaxPooling2D", [null, 21, 21, 4], 0],
  ["Dropout", [null, 21, 21, 4], 0],
  ["Flatten", [null, 1764], 0],
  ["Dense", [null, 128], 225920],
  ["Dense", [null, 64], 8256],
  ["Dense", [null, 32], 2080],
  ["Dense", [null, 4], 28], // the metadata branch: 6 features -> 4
  ["Concatenate", [null, 36], 0],
  ["Dense", [null, 16], 592],
  ["Dense", [null, 8], 136],
  ["Dense", [null, 1], 9],
];

Deno.test({
  name:
    "baseline_seed002.py: the network is seed 002's layer for layer (types, shapes, parameters)",
  ignore: !python,
  async fn() {
    const script = new URL("../../training/cxr-pneumonia/baseline_seed002.py", import.meta.url);
    const run = await new Deno.Command("/usr/bin/python3", {
      args: [script.pathname, "summary"],
      env: { OMP_NUM_THREADS: "1" },
    }).output();
    assert(run.success, new TextDecoder().decode(run.stderr));
    const s = JSON.parse(new TextDecoder().decode(run.stdout)) as {
      layers: { type: string; output_shape: (number | null)[]; params: number }[];
      total_params: number;
      trainable_params: number;
    };
    assertEquals(s.layers.map((l) => [l.type, l.output_shape, l.params]), SEED002);
    assertEquals(s.trainable_params, 526217);
    assertEquals(s.total_params, 526217 + 256); // + BatchNorm's moving mean and variance
  },
});
