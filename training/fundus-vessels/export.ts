/**
 * Exports a U-Net trained in PyTorch as a standard tfjs LayersModel: reads the dump of
 * training/fundus-vessels/dump.py (BatchNorm-folded weights in tfjs layout, PyTorch outputs on sample
 * inputs), builds the same net with lib/models/unet.ts, sets the weights, checks that tfjs
 * reproduces PyTorch (max abs difference, float32 and float16 weights), writes model.json + one
 * float16 shard (tfjs `quantization: {dtype: "float16"}`) and card.json into the model folder, loads
 * the written artifact back and stores its answer on the 64x64 sample as the card's replay pair.
 *
 *   deno run -A training/fundus-vessels/export.ts training/runs/fundus/dump.json models/fundus-vessels \
 *     training/fundus-vessels/card.json
 *
 * The third argument is the card's hand-written part (description, license, ...); the exporter
 * fills architecture-dependent fields, the threshold chosen on validation and the replay pair.
 * Metrics are added by training/fundus-vessels/evaluate.ts, which measures the written artifact.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { setupBackend } from "../../lib/models/backend.ts";
import { decodeFloat32, encodeFloat32, parseCard } from "../../lib/models/card.ts";
import { fileHandler } from "../../lib/models/io.ts";
import { buildUnet } from "../../lib/models/unet.ts";
import { maxAbsDiff, setWeights, type Stored, toTensor } from "../_shared/export.ts";

interface Sample {
  input: Stored;
  torch_f32: Stored;
  torch_f16: Stored;
  fold_max_abs_diff: number;
}
interface Dump {
  architecture: { inputChannels: number; levels: number; filters: number };
  preprocess: { preset: string; params: Record<string, unknown> };
  threshold: number;
  validation: Record<string, unknown>;
  args: Record<string, number | string>;
  log: { step: number; seconds: number }[];
  weights: Record<string, Stored[]>;
  samples: Record<string, Sample>;
}

function predict(model: tfl.LayersModel, s: Stored): Float32Array {
  return tf.tidy(() => (model.predict(toTensor(s)) as tf.Tensor).dataSync() as Float32Array);
}

/** Writes model.json + weights.bin with every float32 weight stored as float16. */
async function saveFloat16(model: tfl.LayersModel, dir: string): Promise<number> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) });
  }));
  const a = artifacts!;
  const f32 = new Float32Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
  const specs = a.weightSpecs!.map((s) => {
    if (s.dtype !== "float32") throw new Error(`${s.name} is ${s.dtype}, not float32`);
    return { ...s, quantization: { dtype: "float16" as const } };
  });
  const half = new Float16Array(f32); // round to nearest even, as numpy's astype(float16)
  await Deno.mkdir(dir, { recursive: true });
  const bytes = new Uint8Array(half.buffer);
  await Deno.writeFile(`${dir}/weights.bin`, bytes);
  const json: tf.io.ModelJSON = {
    modelTopology: a.modelTopology!,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: "medimg-edge training/fundus-vessels/export.ts (float16 weights)",
    weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
  };
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(json));
  return bytes.length;
}

if (import.meta.main) {
  const [dumpPath, outDir, cardPath] = Deno.args;
  if (!dumpPath || !outDir || !cardPath) {
    console.error("usage: export.ts <dump.json> <models/name> <card template.json>");
    Deno.exit(2);
  }
  const backend = await setupBackend("wasm");
  const dump = JSON.parse(await Deno.readTextFile(dumpPath)) as Dump;
  const arch = dump.architecture;
  const model = buildUnet({ ...arch, name: "fundus_vessels" });
  const report: Record<string, number> = {};
  for (const f16 of [false, true]) {
    setWeights(model, dump.weights, f16);
    for (const [name, s] of Object.entries(dump.samples)) {
      const want = decodeFloat32((f16 ? s.torch_f16 : s.torch_f32).data);
      report[`${name}_${f16 ? "f16" : "f32"}_vs_torch`] = maxAbsDiff(predict(model, s.input), want);
    }
  }
  const bytes = await saveFloat16(model, outDir);
  const shipped = await tfl.loadLayersModel(fileHandler(outDir));
  const replayIn = dump.samples.replay.input;
  const replayOut = predict(shipped, replayIn);
  const wholeOut = predict(shipped, dump.samples.whole.input);
  report.shipped_vs_torch_f16 = maxAbsDiff(
    wholeOut,
    decodeFloat32(dump.samples.whole.torch_f16.data),
  );
  report.shipped_vs_torch_f32 = maxAbsDiff(
    wholeOut,
    decodeFloat32(dump.samples.whole.torch_f32.data),
  );
  report.bn_fold_vs_torch_bn = Math.max(
    ...Object.values(dump.samples).map((s) => s.fold_max_abs_diff),
  );
  const stride = 2 ** arch.levels;
  const template = JSON.parse(await Deno.readTextFile(cardPath));
  const card = {
    ...template,
    format: "layers",
    inputs: [{
      name: "image",
      shape: [null, null, null, arch.inputChannels],
      layout: "NHWC",
      channels: template.inputs?.[0]?.channels ?? (arch.inputChannels === 3 ? "rgb" : "grey"),
    }],
    fully_convolutional: true,
    stride,
    preprocess: dump.preprocess,
    output: template.output,
    threshold: dump.threshold,
    architecture: {
      ...arch,
      parameters: model.countParams(),
      weights_bytes: bytes,
      weights_dtype: "float16",
    },
    training: {
      ...template.training,
      steps: dump.args.steps,
      // Patch pixels seen / pixels of the training images: passes over the data, in effect.
      epochs: Math.round(
        (Number(dump.args.steps) * Number(dump.args.batch) * Number(dump.args.patch) ** 2) /
          ((20 - String(dump.args.val).split(",").length) * 565 * 584),
      ),
      seconds: dump.log.at(-1)?.seconds,
      validation: dump.validation,
      args: dump.args,
    },
    export: { backend: backend.name, max_abs_diff: report },
    metrics: {}, // measured on the written artifact by training/fundus-vessels/evaluate.ts
    replay: {
      inputs: [replayIn],
      output: { shape: replayIn.shape, data: encodeFloat32(replayOut) },
      tolerance: 1e-4,
    },
  };
  parseCard(card);
  await Deno.writeTextFile(`${outDir}/card.json`, JSON.stringify(card, null, 2) + "\n");
  // The repository's `deno fmt --check` covers models/: write the JSON as deno fmt would.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `${outDir}/model.json`, `${outDir}/card.json`],
  }).output();
  console.log(JSON.stringify({ out: outDir, weights_bytes: bytes, max_abs_diff: report }, null, 2));
}
