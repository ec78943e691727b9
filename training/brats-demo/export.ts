/**
 * Exports the brats-demo 3D U-Net trained in PyTorch as a standard tfjs LayersModel: reads the dump
 * of training/brats-demo/dump.py (BatchNorm-folded weights in tfjs layout, PyTorch's output on
 * a synthetic replay input), builds the same net with lib/models/unet.ts (dims 3, any input size),
 * sets the weights, checks that tfjs reproduces PyTorch on the cpu and wasm backends, writes
 * model.json + weights.bin (float32) and card.json (from training/brats-demo/card.json, with the replay
 * pair recomputed from the written artifact). Held-out metrics are added by
 * training/brats-demo/evaluate.ts, which measures the written artifact through the volume pipeline.
 *
 *   deno run -A training/brats-demo/export.ts training/runs/brats/dump.json models/brats-demo
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { setupBackend } from "../../lib/models/backend.ts";
import { decodeFloat32, encodeFloat32, parseCard } from "../../lib/models/card.ts";
import { fileHandler } from "../../lib/models/io.ts";
import { fastConv3dOnWasm } from "../../lib/models/sliding3d.ts";
import { buildUnet } from "../../lib/models/unet.ts";
import { maxAbsDiff, setWeights, type Stored, toTensor } from "../_shared/export.ts";

interface Dump {
  architecture: { inputChannels: number; levels: number; filters: number; outputChannels: number };
  args: Record<string, unknown>;
  step: number;
  weights: Record<string, Stored[]>;
  replay: { input: Stored; torch: Stored; fold_max_abs_diff: number };
}

function predict(model: tfl.LayersModel, s: Stored): Float32Array {
  return tf.tidy(() => (model.predict(toTensor(s)) as tf.Tensor).dataSync())
    .slice() as Float32Array;
}

if (import.meta.main) {
  const [dumpPath, outDir] = Deno.args;
  if (!dumpPath || !outDir) {
    console.error("usage: export.ts <dump.json> <models/brats-demo>");
    Deno.exit(2);
  }
  const dump = JSON.parse(await Deno.readTextFile(dumpPath)) as Dump;
  const want = decodeFloat32(dump.replay.torch.data);
  const report: Record<string, number> = { bn_fold_vs_torch_bn: dump.replay.fold_max_abs_diff };
  await setupBackend("cpu");
  const model = buildUnet({ ...dump.architecture, dims: 3, name: "brats_demo" });
  setWeights(model, dump.weights);
  report.tfjs_cpu_vs_torch = maxAbsDiff(predict(model, dump.replay.input), want);
  await setupBackend("wasm");
  fastConv3dOnWasm();
  report.tfjs_wasm_vs_torch = maxAbsDiff(predict(model, dump.replay.input), want);
  await Deno.mkdir(outDir, { recursive: true });
  await model.save(fileHandler(outDir));
  const shipped = await tfl.loadLayersModel(fileHandler(outDir));
  const replayOut = predict(shipped, dump.replay.input);
  report.shipped_wasm_vs_torch = maxAbsDiff(replayOut, want);
  if (Object.values(report).some((v) => !(v < 1e-4))) {
    throw new Error(`tfjs does not reproduce PyTorch: ${JSON.stringify(report)}`);
  }
  const template = JSON.parse(
    await Deno.readTextFile(new URL("./card.json", import.meta.url)),
  );
  const previous = await Deno.readTextFile(`${outDir}/card.json`).then(JSON.parse).catch(
    () => ({}),
  );
  // training/brats-demo/train.py's own summary beside the dump: time, loss, PyTorch's held-out dice
  const torchEval = await Deno.readTextFile(
    new URL("eval.json", new URL(dumpPath, `file://${Deno.cwd()}/`)),
  )
    .then(JSON.parse).catch(() => undefined);
  const weightsBytes = (await Deno.stat(`${outDir}/weights.bin`)).size;
  const card = {
    ...template,
    format: "layers",
    architecture: {
      ...dump.architecture,
      parameters: model.countParams(),
      weights_bytes: weightsBytes,
      weights_dtype: "float32",
    },
    training: {
      ...template.training,
      steps: dump.step,
      seconds: torchEval?.train_seconds,
      final_loss: torchEval?.final_loss,
      args: dump.args,
      torch_full_volume_dice: torchEval?.torch_full_volume_dice,
    },
    export: { max_abs_diff: report },
    metrics: previous.metrics ?? {},
    replay: {
      inputs: [dump.replay.input],
      output: { shape: dump.replay.torch.shape, data: encodeFloat32(replayOut) },
      tolerance: 1e-4,
    },
  };
  parseCard(card);
  await Deno.writeTextFile(`${outDir}/card.json`, JSON.stringify(card, null, 2) + "\n");
  console.log(JSON.stringify({ out: outDir, weights_bytes: weightsBytes, max_abs_diff: report }));
}
