/**
 * Writes the seed-002 baseline (the JSON printed by training/cxr-pneumonia/baseline_seed002.py all)
 * into models/cxr-pneumonia/card.json as its `baselines` entry named `seed002` (replacing an older
 * one), after `metrics`; the card is parsed again before it is written.
 *
 *   deno run -A training/cxr-pneumonia/baseline_card.ts /tmp/cxr/seed002.json [models/cxr-pneumonia]
 */
import { parseCard } from "../../lib/models/card.ts";
import type { CardBaseline } from "../../lib/models/card_baselines.ts";

interface Scored {
  val_auc: number;
  test_auc: number;
  test_auc_95ci: [number, number];
  threshold: number;
  test_at_threshold: { sensitivity: number; specificity: number };
}
interface Result {
  training: Record<string, unknown> & { films_seen: number; epochs_seen: number; seconds: number };
  metrics: {
    seed002: Scored;
    shipped: Scored;
    shipped_minus_seed002_auc: { mean: number; "95ci": [number, number] };
  };
}

const [resultPath, dir = "models/cxr-pneumonia"] = Deno.args;
if (!resultPath) throw new Error("usage: baseline_card.ts <seed002.json> [model folder]");
const r = JSON.parse(await Deno.readTextFile(resultPath)) as Result;
const figures = (s: Scored) => ({
  auc: s.test_auc,
  auc_95ci: s.test_auc_95ci,
  sensitivity: s.test_at_threshold.sensitivity,
  specificity: s.test_at_threshold.specificity,
  threshold: s.threshold,
  val_auc: s.val_auc,
});
const t = r.training;
interface RunArgs {
  max_minutes?: number;
  eval_every?: number;
  tag?: string;
}
/** The run's flags, so the card's command replays it. */
function runFlags(a: RunArgs): string {
  return `--max-minutes ${a.max_minutes ?? 45} --eval-every ${a.eval_every ?? 500} --tag ${
    a.tag ?? "seed002"
  }`;
}
const base: CardBaseline = {
  name: "seed002",
  description:
    "Seed 002's own two-input classifier as the seed builds it (conv 128/32/8/4, kernel 8, valid, SELU; BatchNorm after the first conv; max-pool 2 after the last three, dropout 0.2 after the last two; Flatten -> Dense 128-64-32 SELU; the 6 features -> Dense 4 SELU; concat -> Dense 16-8 SELU -> 1 sigmoid; 526,217 trainable parameters, 12 G multiply-adds per film), Keras defaults (Glorot init, Adam 1e-3, batch 32, no augmentation), trained on this card's split (training/cxr-pneumonia/split.csv) and films (prepare.py's cache), the epoch point with the best validation AUC kept, threshold chosen on val (max Youden J). Departures from the seed: BCE on the logit (the seed passes the sigmoid output to BinaryCrossentropy(from_logits=True)), the preset's CLAHE applied (the seed resamples the un-equalised pixels), BatchNorm's moving statistics recomputed over the training films before each validation pass (momentum 0.99 leaves them near their initial values after a short run), and a wall-time cap (see training).",
  command:
    `/usr/bin/python3 training/cxr-pneumonia/prepare.py && /usr/bin/python3 training/cxr-pneumonia/baseline_seed002.py all ${
      runFlags(r.training.args as RunArgs)
    } > /tmp/cxr/seed002.json && deno run -A training/cxr-pneumonia/baseline_card.ts /tmp/cxr/seed002.json`,
  test_set: "this card's 300 held-out RSNA films (75 positive), scored by evaluate.py's functions",
  metrics: figures(r.metrics.seed002) as CardBaseline["metrics"],
  shipped_remeasured: figures(r.metrics.shipped),
  shipped_minus_baseline_auc: r.metrics.shipped_minus_seed002_auc,
  ...(t.stopped_by_time_cap
    ? {
      note:
        `stopped by the time cap after ${t.films_seen} films (${t.epochs_seen} epochs of the seed's ${t.epochs_planned}): a lower bound on what the seed's recipe reaches on this split, not its result`,
    }
    : {}),
  training: {
    films_seen: t.films_seen,
    epochs_seen: t.epochs_seen,
    epochs_planned: t.epochs_planned,
    stopped_by_time_cap: t.stopped_by_time_cap,
    chosen: t.chosen,
    // every validation pass (films seen, val AUC), where the run printed them
    ...(t.validation ? { validation: t.validation } : {}),
    seconds: t.seconds,
    hardware:
      "one CPU thread (torch.set_num_threads(1)) on the 2-core build machine, shared with another training run",
  },
};
const cardPath = `${dir}/card.json`;
const card = JSON.parse(await Deno.readTextFile(cardPath)) as Record<string, unknown>;
const baselines = ((card.baselines ?? []) as CardBaseline[]).filter((b) => b.name !== "seed002");
baselines.push(base);
const out: Record<string, unknown> = {};
for (const [k, v] of Object.entries(card)) {
  if (k === "baselines") continue;
  out[k] = v;
  if (k === "metrics") out.baselines = baselines;
}
if (!("baselines" in out)) out.baselines = baselines;
parseCard(out);
await Deno.writeTextFile(cardPath, JSON.stringify(out, null, 2) + "\n");
console.log(
  `${cardPath}: seed002 test AUC ${base.metrics.auc}, shipped ${r.metrics.shipped.test_auc}`,
);
