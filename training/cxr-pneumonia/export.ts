/**
 * Exports the two-input CxrNet trained in PyTorch (training/cxr-pneumonia/model.py) as a standard tfjs
 * LayersModel built with @tensorflow/tfjs-layers' functional API: inputs `image` [224,224,1] and
 * `features` [6], BatchNorm folded into the convs by training/cxr-pneumonia/dump.py. Checks tfjs against
 * PyTorch on the replay input and 32 validation films, writes model.json + weights.bin (float32)
 * and card.json (metrics from training/cxr-pneumonia/metrics.json) into the model folder, loads the written
 * artifact back and stores its answer on the synthetic replay input as the card's replay pair.
 *
 *   deno run -A training/cxr-pneumonia/export.ts /tmp/cxr/dump.json models/cxr-pneumonia \
 *     [training/cxr-pneumonia/metrics.json]
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { setupBackend } from "../../lib/models/backend.ts";
import { decodeFloat32, encodeFloat32, parseCard } from "../../lib/models/card.ts";
import { fileHandler } from "../../lib/models/io.ts";
import { CXR_DEFAULTS, FEATURE_MEANS, FEATURE_NAMES } from "../../lib/pipelines/cxr.ts";
import { maxAbsDiff, setWeights, type Stored, toTensor } from "../_shared/export.ts";

interface Pair {
  inputs: Stored[];
  output: Stored;
}
interface Dump {
  weights: Record<string, Stored[]>;
  replay: Pair;
  check: Pair;
}

/** Filters of training/cxr-pneumonia/model.py (CHANNELS): stem, b1, b2, b3, b4. */
const CHANNELS = [16, 32, 64, 128, 128];

/**
 * The tfjs twin of CxrNet("both") with BatchNorm folded: stem (3x3 stride 2, "same") + max-pool 2,
 * b1 and b2 (3x3 + ReLU + max-pool 2), b3, b4 (3x3 + ReLU; b4 is the Grad-CAM layer, 14x14),
 * global average pool, features -> Dense 8 ReLU, concatenate [image, features], Dense 32 ReLU,
 * Dense 1 sigmoid.
 * @example const model = buildCxrNet(); model.predict([image, features])
 */
export function buildCxrNet(): tfl.LayersModel {
  const image = tfl.input({ shape: [224, 224, 1], name: "image" });
  const features = tfl.input({ shape: [6], name: "features" });
  const conv = (name: string, filters: number, strides = 1) =>
    tfl.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      strides,
      padding: "same",
      activation: "relu",
    });
  const pool = (name: string) => tfl.layers.maxPooling2d({ name, poolSize: 2 });
  let x = conv("stem", CHANNELS[0], 2).apply(image) as tfl.SymbolicTensor;
  x = pool("pool0").apply(x) as tfl.SymbolicTensor;
  for (let i = 1; i <= 2; i++) {
    x = conv(`b${i}`, CHANNELS[i]).apply(x) as tfl.SymbolicTensor;
    x = pool(`pool${i}`).apply(x) as tfl.SymbolicTensor;
  }
  x = conv("b3", CHANNELS[3]).apply(x) as tfl.SymbolicTensor;
  x = conv("b4", CHANNELS[4]).apply(x) as tfl.SymbolicTensor;
  const img = tfl.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tfl.SymbolicTensor;
  const f = tfl.layers.dense({ name: "feat", units: 8, activation: "relu" })
    .apply(features) as tfl.SymbolicTensor;
  const h = tfl.layers.concatenate({ name: "concat" }).apply([img, f]) as tfl.SymbolicTensor;
  const fc = tfl.layers.dense({ name: "fc", units: 32, activation: "relu" }).apply(h);
  const out = tfl.layers.dense({ name: "out", units: 1, activation: "sigmoid" })
    .apply(fc) as tfl.SymbolicTensor;
  return tfl.model({ name: "cxr_pneumonia", inputs: [image, features], outputs: out });
}

function run(model: tfl.LayersModel, inputs: Stored[]): Float32Array {
  return tf.tidy(() =>
    (model.predict(inputs.map(toTensor)) as tf.Tensor).dataSync() as Float32Array
  );
}

/** One sentence on the target: two-input AUC >= 0.82 and above both ablations. */
interface Gain {
  mean: number;
  "95ci": [number, number];
}
function verdict(
  m: { both: { test_auc: number }; both_minus_image_auc: Gain; both_minus_meta_auc: Gain },
): string {
  type K = "both_minus_image_auc" | "both_minus_meta_auc";
  const d = (k: K) =>
    `${m[k].mean >= 0 ? "+" : ""}${m[k].mean} AUC, 95 % CI ${m[k]["95ci"][0]} to ${
      m[k]["95ci"][1]
    }`;
  const above = (k: K) =>
    m[k]["95ci"][0] > 0 ? "above" : m[k].mean > 0 ? "not clearly above" : "not above";
  return `Target (two-input test AUC >= 0.82, above both ablations): ${
    m.both.test_auc >= 0.82 && m.both_minus_image_auc["95ci"][0] > 0 &&
      m.both_minus_meta_auc["95ci"][0] > 0
      ? "met"
      : "NOT met"
  }. Two-input AUC ${m.both.test_auc}; ${above("both_minus_image_auc")} the image-only ablation (${
    d("both_minus_image_auc")
  }) and ${above("both_minus_meta_auc")} the metadata-only one (${d("both_minus_meta_auc")}).`;
}

if (import.meta.main) {
  const [dumpPath, outDir, metricsPath] = Deno.args;
  if (!dumpPath || !outDir) {
    console.error("usage: export.ts <dump.json> <models/cxr-pneumonia>");
    Deno.exit(2);
  }
  const backend = await setupBackend("wasm");
  const dump = JSON.parse(await Deno.readTextFile(dumpPath)) as Dump;
  const metrics = JSON.parse(
    await Deno.readTextFile(metricsPath ?? new URL("metrics.json", import.meta.url).pathname),
  );
  const recipe = JSON.parse(
    await Deno.readTextFile(new URL("recipe.json", import.meta.url).pathname),
  );
  const model = buildCxrNet();
  setWeights(model, dump.weights);
  const vsTorch = {
    replay: maxAbsDiff(run(model, dump.replay.inputs), decodeFloat32(dump.replay.output.data)),
    val32: maxAbsDiff(run(model, dump.check.inputs), decodeFloat32(dump.check.output.data)),
  };
  console.log("tfjs vs PyTorch, max abs difference of probabilities:", vsTorch);
  if (Math.max(vsTorch.replay, vsTorch.val32) > 1e-4) {
    throw new Error("tfjs does not match PyTorch");
  }
  await model.save(fileHandler(outDir));
  const loaded = await tfl.loadLayersModel(fileHandler(outDir));
  const replayOut = run(loaded, dump.replay.inputs);
  const m = metrics.both;
  const card = {
    name: "cxr-pneumonia",
    version: recipe.version,
    task: "classification",
    description:
      "Pneumonia / lung opacity (RSNA Target) from a frontal chest X-ray plus age and view position: " +
      "a compact CNN (5 conv layers, 16-128 filters, BatchNorm folded, global average pooling; " +
      "about 74 M multiply-adds) and a " +
      "small dense branch for the six metadata features, concatenated, one sigmoid output. Trained " +
      "from scratch on 1,000 adult RSNA films (256 px copies of the 1024 px DICOMs), the conv trunk " +
      "with an auxiliary loss on the RSNA opacity boxes, then the two-input head on the frozen trunk.",
    intended_use:
      "Research and demonstration of edge inference with image + DICOM metadata inputs; a baseline " +
      "for the RSNA pneumonia task, to be compared against, not relied on.",
    not_for:
      "clinical use. It is not a medical device, was tested on 300 films of one public data set " +
      "only, has not been validated on other hospitals, scanners, children or lateral films, and its " +
      "errors at the chosen threshold are many (see metrics).",
    format: "layers",
    inputs: [
      { name: "image", shape: [null, 224, 224, 1], layout: "NHWC", channels: "grey" },
      { name: "features", shape: [null, 6] },
    ],
    preprocess: {
      preset: "cxr-pneumonia",
      params: {
        ...CXR_DEFAULTS,
        resample: "INTER_AREA when shrinking, INTER_CUBIC when growing",
        resize: "INTER_CUBIC",
        scale: "1/255",
        features: FEATURE_NAMES,
        age_buckets_years: "[0,20) [20,40) [40,60) [60,80) [80,inf)",
        missing_feature_means: FEATURE_MEANS,
      },
    },
    output: {
      activation: "sigmoid",
      meaning: "probability of lung opacity / pneumonia (RSNA Target = 1)",
      classes: ["no lung opacity", "lung opacity"],
    },
    grad_cam_layer: "b4",
    threshold: m.threshold,
    training: {
      data:
        "RSNA Pneumonia Detection Challenge, the 1,500-patient AIMI subsample in ../shared/data/cxr-pneumonia " +
        "(source_set rsna only; the Kermany pediatric rows were not used, see its SOURCES.md); " +
        "one film per patient, so the split is by patient",
      split:
        "training/cxr-pneumonia/split.csv: stratified by label x view, seed 7: train 1,000 (250 positive), " +
        "val 200 (50), test 300 (75). Epochs, threshold and the variant shipped chosen on val " +
        "(the other variants scored on test are in metrics.json, also_evaluated).",
      spacing:
        "training PNGs are the 1024 px DICOMs shrunk 4x (INTER_AREA), so their spacing is 4x the " +
        "DICOM PixelSpacing; both reach the same ~1 mm grid before the 224 px resize",
      ...Object.fromEntries(Object.entries(recipe).filter(([k]) => k !== "version")),
      epochs: { image_trunk: metrics.image.epochs, two_input_head: m.epochs },
      epoch_chosen: { image_trunk: metrics.image.epoch_chosen, two_input_head: m.epoch_chosen },
      augmentation:
        "random affine (rotation +-10 deg, scale 0.9-1.15, shift +-6 %, horizontal flip), contrast, brightness and gamma jitter",
      seconds: Math.round(metrics.image.train_seconds + m.train_seconds),
    },
    metrics: {
      test_set:
        "300 held-out RSNA films (75 positive); threshold chosen on the 200 validation films (max Youden J)",
      auc: m.test_auc,
      auc_95ci: m.test_auc_95ci,
      sensitivity: m.test_at_threshold.sensitivity,
      specificity: m.test_at_threshold.specificity,
      ablations: {
        image_only: {
          auc: metrics.image.test_auc,
          auc_95ci: metrics.image.test_auc_95ci,
          sensitivity: metrics.image.test_at_threshold.sensitivity,
          specificity: metrics.image.test_at_threshold.specificity,
        },
        metadata_only: {
          auc: metrics.meta.test_auc,
          auc_95ci: metrics.meta.test_auc_95ci,
          sensitivity: metrics.meta.test_at_threshold.sensitivity,
          specificity: metrics.meta.test_at_threshold.specificity,
        },
        both_minus_image_auc: metrics.both_minus_image_auc,
        both_minus_meta_auc: metrics.both_minus_meta_auc,
      },
      dicom_vs_training_path: {
        what:
          "probability on the 16 RSNA DICOMs through the service's path (1024 px) minus through the " +
          "training path (INTER_AREA to 256 px first, 4x spacing): training/cxr-pneumonia/domain_check.py",
        films: metrics.dicom_vs_training_path?.films,
        mean_abs_diff: metrics.dicom_vs_training_path?.mean_abs_diff,
        max_abs_diff: metrics.dicom_vs_training_path?.max_abs_diff,
      },
      verdict: verdict(metrics),
      details: "training/cxr-pneumonia/metrics.json",
    },
    export: { backend: backend.name, tfjs_vs_pytorch_max_abs_diff: vsTorch },
    license:
      "Weights trained here on RSNA Pneumonia Detection Challenge images (Kaggle 2018, data under the " +
      "competition's terms, which may constrain uses of derived weights); labels from the official " +
      "stage 2 tables. Code: the project's license.",
    replay: {
      inputs: dump.replay.inputs,
      output: { shape: dump.replay.output.shape, data: encodeFloat32(replayOut) },
      tolerance: 1e-4,
    },
  };
  parseCard(card);
  await Deno.writeTextFile(`${outDir}/card.json`, JSON.stringify(card, null, 1) + "\n");
  console.log(`wrote ${outDir}: replay output ${replayOut[0]}`);
}
