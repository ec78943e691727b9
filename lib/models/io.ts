/**
 * A tfjs IOHandler over a local folder with Deno's file API: loads and saves the standard tfjs
 * artifacts (`model.json` + weight shards), the format `tensorflowjs_converter` and `model.save()`
 * write. tfjs' own `file://` handler lives in tfjs-node, which does not run here.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ModelCardError } from "./card.ts";

function joinPath(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

/** Shard paths are plain file names beside model.json: nothing outside the model folder is read. */
function checkShardPath(p: string): void {
  if (p === "" || p.includes("/") || p.includes("\\") || p === "." || p === "..") {
    throw new ModelCardError(`weights path ${JSON.stringify(p)} must be a file beside model.json`);
  }
}

/**
 * An IOHandler that reads `dir/model.json` and its shards, and writes them on save (one shard,
 * `weights.bin`). Pass it to `tf.loadLayersModel`, `tf.loadGraphModel` or `model.save`.
 * @example const model = await tfl.loadLayersModel(fileHandler("models/ct-liver"));
 */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const path = joinPath(dir, "model.json");
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await Deno.readTextFile(path));
      } catch (err) {
        throw new ModelCardError(`${path} could not be read: ${(err as Error).message}`);
      }
      if (!json || typeof json !== "object" || !json.modelTopology) {
        throw new ModelCardError(`${path} is not a tfjs model.json (no modelTopology)`);
      }
      return await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            checkShardPath(p);
            const bytes = await Deno.readFile(joinPath(dir, p)).catch((err) => {
              throw new ModelCardError(`weights ${p} of ${dir} could not be read: ${err.message}`);
            });
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await Deno.mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const manifest: tf.io.WeightsManifestConfig = [{
        paths: ["weights.bin"],
        weights: artifacts.weightSpecs ?? [],
      }];
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: manifest,
      };
      if (artifacts.signature) json.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer) json.modelInitializer = artifacts.modelInitializer;
      if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
      await Deno.writeFile(joinPath(dir, "weights.bin"), new Uint8Array(weights));
      await Deno.writeTextFile(joinPath(dir, "model.json"), JSON.stringify(json));
      return {
        modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
      };
    },
  };
}
