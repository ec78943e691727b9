/**
 * The one command of a bring-your-own-data recipe (training/ct_liver, training/cxr_pneumothorax):
 * runs the recipe's train.py (Debian's PyTorch) on the user's data into a work folder, then exports
 * its dump (training/_shared/recipe.py) as a model folder /segment/slice serves: the standard tfjs
 * artifact (model.json + weights.bin, float32), card.json (preset, input size, threshold, the split
 * by patient and the metrics measured on the held-out patients) and the replay pair, recomputed
 * from the written files after loading them back.
 *
 *   deno run -A training/ct_liver/run.ts --data <folder> --out <models dir>/ct-liver [train.py options]
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { setupBackend } from "../../lib/models/backend.ts";
import { decodeFloat32, encodeFloat32, parseCard } from "../../lib/models/card.ts";
import { fileHandler } from "../../lib/models/io.ts";
import { maxAbsDiff, setWeights, type Stored, toTensor } from "./export.ts";

/** What a recipe's train.py writes to <work>/dump.json. */
export interface RecipeDump {
  model: string;
  architecture: Record<string, unknown>;
  size: number;
  preprocess: { preset: string; params: Record<string, unknown> };
  threshold: number;
  weights: Record<string, Stored[]>;
  samples: { replay: { input: Stored; torch: Stored } };
  metrics: Record<string, unknown>;
  training: Record<string, unknown>;
}

/** One recipe: its train.py, the tfjs twin of its net and the hand-written part of its card. */
export interface Recipe {
  /** The preset's (and default model's) name. */
  name: string;
  /** `deno task` that runs this recipe, for the card and the usage line. */
  task: string;
  trainPy: URL;
  build(dump: RecipeDump): tfl.LayersModel;
  card: Record<string, unknown>;
}

/** Options of the command itself; the rest go to train.py as they are. */
interface Parsed {
  data: string;
  out: string;
  work?: string;
  python: string;
  rest: string[];
}

function parseArgs(args: string[], recipe: Recipe): Parsed {
  const rest: string[] = [];
  const own: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--(data|out|work|python)(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      own[m[1]] = v;
    } else rest.push(a);
  }
  if (!own.data || !own.out) {
    console.error(
      `usage: deno task ${recipe.task} --data <folder> --out <models dir>/${recipe.name} ` +
        `[--work <dir>] [train.py options: /usr/bin/python3 ${recipe.trainPy.pathname} --help]`,
    );
    Deno.exit(2);
  }
  return {
    data: own.data,
    out: own.out.replace(/\/+$/, ""),
    work: own.work,
    python: own.python ?? Deno.env.get("MEDIMG_PYTHON") ?? "/usr/bin/python3",
    rest,
  };
}

function predict(model: tfl.LayersModel, s: Stored): Float32Array {
  return tf.tidy(() => (model.predict(toTensor(s)) as tf.Tensor).dataSync() as Float32Array);
}

/**
 * Writes the model folder from a dump: builds the net, sets the weights, checks tfjs against
 * PyTorch on the replay sample, saves, loads the written files back and stores their answer as the
 * replay pair. Returns the card written.
 */
export async function exportDump(
  recipe: Recipe,
  dump: RecipeDump,
  out: string,
  command: string,
): Promise<Record<string, unknown>> {
  const backend = await setupBackend("wasm");
  const model = recipe.build(dump);
  setWeights(model, dump.weights);
  const sample = dump.samples.replay;
  const vsTorch = maxAbsDiff(predict(model, sample.input), decodeFloat32(sample.torch.data));
  if (!(vsTorch < 1e-3)) {
    throw new Error(`tfjs and PyTorch differ by ${vsTorch} on the replay sample: not exported`);
  }
  await Deno.mkdir(out, { recursive: true });
  await model.save(fileHandler(out));
  const shipped = await tfl.loadLayersModel(fileHandler(out));
  const replayOut = predict(shipped, sample.input);
  model.dispose();
  shipped.dispose();
  const name = out.split("/").at(-1)!;
  const S = dump.size;
  const card = {
    ...recipe.card,
    name,
    format: "layers",
    inputs: [{ name: "image", shape: [null, S, S, 1], layout: "NHWC", channels: "grey" }],
    preprocess: dump.preprocess,
    threshold: dump.threshold,
    architecture: dump.architecture,
    training: {
      ...(recipe.card.training as Record<string, unknown> ?? {}),
      ...dump.training,
      command,
    },
    metrics: dump.metrics,
    export: { backend: backend.name, max_abs_diff_vs_torch: vsTorch },
    replay: {
      inputs: [sample.input],
      output: { shape: sample.input.shape, data: encodeFloat32(replayOut) },
      tolerance: 1e-4,
    },
  };
  parseCard(card);
  await Deno.writeTextFile(`${out}/card.json`, JSON.stringify(card, null, 2) + "\n");
  return card;
}

/** The command: train.py into the work folder, then {@link exportDump} into --out. */
export async function runRecipe(recipe: Recipe, args: string[]): Promise<void> {
  const p = parseArgs(args, recipe);
  const work = p.work ??
    new URL(`../runs/${recipe.name}`, import.meta.url).pathname;
  await Deno.mkdir(work, { recursive: true });
  const trainArgs = [recipe.trainPy.pathname, "--data", p.data, "--work", work, ...p.rest];
  console.error(`${p.python} ${trainArgs.join(" ")}`);
  const t0 = performance.now();
  const status = await new Deno.Command(p.python, {
    args: trainArgs,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    console.error(`train.py failed (exit ${status.code}); nothing written to ${p.out}`);
    Deno.exit(1);
  }
  const dump = JSON.parse(await Deno.readTextFile(`${work}/dump.json`)) as RecipeDump;
  const command = `deno task ${recipe.task} ${args.join(" ")}`;
  const card = await exportDump(recipe, dump, p.out, command);
  console.log(JSON.stringify({
    out: p.out,
    model: card.name,
    metrics: card.metrics,
    seconds: Math.round((performance.now() - t0) / 1000),
  }));
}
