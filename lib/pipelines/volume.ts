/**
 * The volume pipeline: 3D segmentation of a BraTS-style MR study (FLAIR, T1, T1CE, T2 on one grid,
 * optionally the ground-truth seg). {@link volumeModel} reads a volume model's card,
 * {@link checkCoregistered} checks that the parts share one grid and affine, and
 * {@link segmentVolume} runs the steps on lib/pipelines/steps.ts's runner: reorient (to RAS, recorded
 * as a geometric step), preprocess, model, infer, labels (./brats.ts), write (the labels as .nii.gz
 * in the input's geometry, lib/nifti; or, asked for, the per-label probabilities as a 4D float32
 * .nii.gz), seg (a DICOM SEG over the source series when the modalities came as DICOM), then the
 * summary: voxels and mL per label, dice when the ground truth came (and the BraTS regions' dice,
 * HD95 and mL, ./label_metrics.ts). Not for clinical use.
 */
import { InvalidInputError } from "../errors.ts";
import { setupBackend } from "../models/backend.ts";
import type { ModelCard } from "../models/card.ts";
import { volumeInput } from "../models/card.ts";
import { loadModel } from "../models/load.ts";
import { type ModelPool, modelPool, pooledModel, poolForward } from "../models/pool.ts";
import {
  type Blend,
  fastConv3dOnWasm,
  layersForward,
  type PatchLayout,
  type Size3,
} from "../models/sliding3d.ts";
import type { Series } from "../dicom/series.ts";
import { writeNifti } from "../nifti/mod.ts";
import type { Volume } from "../nifti/volume.ts";
import {
  BRATS_DEFAULTS,
  BRATS_LABELS,
  BRATS_MODALITIES,
  type BratsParams,
  dicePerLabel,
  type LabelVolume,
  labelVolumes,
  roundedTimings,
  segmentBrats,
} from "./brats.ts";
import { isBratsLabelling, type RegionScores, regionScores } from "./label_metrics.ts";
import type { PostprocessReport } from "../image/postprocess.ts";
import {
  applyPostprocess,
  postprocessOn,
  type PostprocessRequest,
  type PostprocessUsed,
  postprocessUsed,
  type TtaUsed,
  ttaUsed,
} from "./postprocess.ts";
import { Steps } from "./steps.ts";

/** The seed's patch (channels-first 4 x 160 x 160 x 24, here [z, y, x]) when a card fixes none. */
const DEFAULT_PATCH: Size3 = [24, 160, 160];

/** A volume model's card facts: window, layout, labels, preprocessing. */
export interface VolumeModel {
  card: ModelCard;
  patch: Size3;
  overlap: number;
  blend: Blend;
  channels: number;
  layout: PatchLayout;
  labels: number[];
  params: BratsParams;
}

/**
 * Reads the 3D facts from a card, or says why it is not a BraTS volume model (422).
 * @example volumeModel((await findModel("brats-demo", root)).card).patch // [24, 160, 160]
 */
export function volumeModel(card: ModelCard): VolumeModel {
  const bad = (why: string) =>
    new InvalidInputError(`model ${card.name} is not a volume model: ${why}`, {
      model: card.name,
    });
  if (card.task !== "segmentation") throw bad(`its task is ${card.task}`);
  if (card.preprocess?.preset !== "brats") {
    throw bad(`its preprocess preset is ${card.preprocess?.preset ?? "none"}, not brats`);
  }
  const input = volumeInput(card);
  if ("error" in input) throw bad(input.error);
  const { channels, dims, layout } = input;
  if (channels !== BRATS_MODALITIES.length) {
    throw bad(`it takes ${channels} channels, not the 4 modalities`);
  }
  // card.sliding_window (this function's extension of the card) sets the window, else the input
  const sw = card.sliding_window ?? {};
  const patch = sw.patch_zyx ?? dims.map((v, i) => v ?? DEFAULT_PATCH[i]) as Size3;
  if (!(patch.length === 3 && patch.every((v) => Number.isInteger(v) && v > 0))) {
    throw bad(`its sliding_window.patch_zyx ${JSON.stringify(patch)} is not three sizes`);
  }
  const given = card.preprocess.params ?? {};
  const params = { ...BRATS_DEFAULTS };
  for (const k of Object.keys(BRATS_DEFAULTS) as (keyof BratsParams)[]) {
    const v = given[k];
    if (typeof v === "number") params[k] = v;
  }
  return {
    card,
    patch,
    overlap: sw.overlap ?? 0.25,
    blend: sw.blend ?? "gaussian",
    channels,
    layout,
    labels: card.label_values ?? [...BRATS_LABELS],
    params,
  };
}

/** The request's inference parameters (unset ones from the card). */
export interface VolumeParams {
  overlap: number;
  blend: Blend;
  batch: number;
  threshold: number;
  patch: Size3;
  /** Answer the model's per-label probabilities (a 4D float32 NIfTI) instead of the labels. */
  probabilities?: boolean;
  /** Postprocessing of the labels (the card's with the request's overrides; min_size in mL). */
  postprocess?: PostprocessUsed;
  /** Test-time augmentation. */
  tta?: TtaUsed;
}

/**
 * The inference parameters a request asked for, with the card's defaults.
 * @example volumeParams({ batch: 8 }, m) // { overlap: 0.25, blend: "gaussian", batch: 8, ... }
 */
export function volumeParams(
  q: {
    overlap?: number;
    blend?: Blend;
    batch?: number;
    threshold?: number;
    tta?: "none" | "flip";
    probs?: boolean;
  } & PostprocessRequest,
  m: VolumeModel,
): VolumeParams {
  return {
    overlap: q.overlap ?? m.overlap,
    blend: q.blend ?? m.blend,
    batch: q.batch ?? 1,
    threshold: q.threshold ?? m.card.threshold ?? 0.5,
    patch: m.patch,
    ...(q.probs ? { probabilities: true } : {}),
    postprocess: postprocessUsed(m.card, q, "mL"),
    tta: ttaUsed(m.card, q.tta),
  };
}

/**
 * Throws unless every named volume has the first one's grid and (to 1e-3) its voxel-to-world
 * affine: the modalities (and seg) must be co-registered.
 * @example checkCoregistered([["flair", flair], ["t1", t1], ["t1ce", t1ce], ["t2", t2]])
 */
export function checkCoregistered(parts: readonly (readonly [string, Volume])[]): void {
  const [refName, ref] = parts[0];
  const grid = (v: Volume) => `${v.width}x${v.height}x${v.depth}`;
  for (const [name, v] of parts) {
    if (grid(v) !== grid(ref)) {
      throw new InvalidInputError(
        `${name} is ${grid(v)}, ${refName} is ${
          grid(ref)
        }: the modalities must be co-registered on one grid`,
        { field: name },
      );
    }
    const off = Math.max(...v.affine.flat().map((x, k) => Math.abs(x - ref.affine.flat()[k])));
    if (off > 1e-3) {
      throw new InvalidInputError(
        `${name} has another voxel-to-world affine than ${refName} (differs by up to ${
          off.toFixed(3)
        }): the modalities must be co-registered`,
        { field: name },
      );
    }
  }
}

/** The numbers of a segmentation (the JSON answer, components.schemas.VolumeNumbers less the job). */
export interface VolumeSummary {
  model: { name: string; version: string; not_for: string | null };
  backend: { name: string; simd: boolean; threads: number; conv3d: string };
  input: { shape: number[]; spacing_mm: [number, number, number]; datatype: string[] };
  preprocess: {
    reoriented_from: { axis: number; flip: number }[];
    kept_slices: [number, number];
    params: BratsParams;
  };
  inference: {
    patch_zyx: Size3;
    overlap: number;
    blend: Blend;
    batch: number;
    windows: number;
    forward_ms: number;
  };
  threshold: number;
  postprocess?: PostprocessUsed & PostprocessReport;
  tta?: TtaUsed;
  labels: Record<string, LabelVolume>;
  dice?: Record<string, number>;
  dice_eps?: number;
  /** BraTS regions against the ground truth, for a model labelling 1, 2, 4 (./label_metrics.ts). */
  regions?: Record<string, RegionScores>;
  timings_ms: Record<string, number>;
}

/**
 * What a segmentation gives: the NIfTI answer (the labels, or with `probabilities` the per-label
 * probabilities), the DICOM SEG of the labels when the input named a source series, the numbers and
 * the time per step.
 */
export interface VolumeResult {
  nifti: Uint8Array;
  /** True when `nifti` holds the probabilities (float32, one volume per label) . */
  probabilities?: boolean;
  seg?: Uint8Array;
  summary: VolumeSummary;
  timings: Record<string, number>;
}

/** The four modalities (FLAIR, T1, T1CE, T2, co-registered), optionally the ground truth and the
 * DICOM series a SEG of the labels is to reference (one of the modalities, on their grid). */
export interface VolumeInput {
  volumes: Volume[];
  seg?: Volume;
  /** `uidKey`: the key of the consistent UID replacement when de-identifying (lib/dicom/deidentify.ts). */
  dicom?: { series: Series; deidentify?: boolean; uidKey?: string };
}

/** Reports a step, and the windows done of the total while inferring. */
export type VolumeProgress = (stage: string, done?: number, total?: number) => void;

/**
 * Segments four co-registered modalities with the volume model `m` from the models `root`: the
 * steps of ./brats.ts's segmentBrats, then "write" (.nii.gz in the first modality's geometry), and
 * the summary. `progress` hears each step before it runs and every forward pass of "infer"; the
 * event loop gets a turn after each pass (the job's event stream, other requests).
 * @example const r = await segmentVolume({ volumes }, m, volumeParams({}, m), "models", () => {})
 */
export async function segmentVolume(
  input: VolumeInput,
  m: VolumeModel,
  p: VolumeParams,
  root: string,
  progress: VolumeProgress,
  run: Steps = new Steps(),
  pool: ModelPool | null = modelPool(),
): Promise<VolumeResult> {
  let loaded: Awaited<ReturnType<typeof loadModel>> | undefined;
  let fastConv3d = false;
  const seg = await segmentBrats(
    input.volumes,
    {
      load: async () => {
        // the wasm kernels are replaced before the model's warm-up pass runs
        const backend = await setupBackend();
        fastConv3d = backend.name === "wasm" && fastConv3dOnWasm();
        loaded = await loadModel(m.card.name, { root });
        const pooled = pooledModel(loaded, pool);
        return pooled
          ? poolForward(pooled, m.channels, m.layout)
          : layersForward(loaded.predict, m.channels, m.layout);
      },
    },
    {
      ...p,
      labels: m.labels,
      params: m.params,
      layout: m.layout,
      probabilities: p.probabilities === true,
      flips: p.tta?.flips,
      // twice the workers: each has its next window queued while this thread blends
      concurrency: pool ? 2 * pool.size : 1,
    },
    async (stage, done, total) => {
      progress(stage, done, total);
      // let the event stream and other requests run between forward passes
      if (done !== undefined) await new Promise((r) => setTimeout(r, 0));
    },
    run,
  );
  const ref = input.volumes[0];
  const post = p.postprocess;
  let changed: PostprocessReport = { removed_components: 0, removed_voxels: 0, filled_voxels: 0 };
  if (post && postprocessOn(post)) {
    progress("postprocess");
    const map = { width: ref.width, height: ref.height, depth: ref.depth, data: seg.labels };
    changed = run.step("postprocess", () => applyPostprocess(map, post, ref.spacing));
  }
  progress("write");
  const nifti = await run.stepAsync(
    "write",
    () =>
      seg.probabilities
        ? writeNifti(ref.header, seg.probabilities, {
          dims: [ref.width, ref.height, ref.depth, m.labels.length],
          description: `medimg-edge ${m.card.name} ${m.card.version} p(${m.labels.join(",")})`,
        })
        : writeNifti(ref.header, seg.labels, {
          dims: [ref.width, ref.height, ref.depth],
          description: `medimg-edge ${m.card.name} ${m.card.version} labels`,
        }),
  );
  let dicomSeg: Uint8Array | undefined;
  if (input.dicom) {
    const { series, deidentify, uidKey } = input.dicom;
    progress("seg");
    dicomSeg = await run.stepAsync(
      "seg",
      () => volumeSeg(seg.labels, series, m, { deidentify, uidKey }),
    );
  }
  const ms = roundedTimings(run.timings);
  const dice = input.seg ? dicePerLabel(seg.labels, input.seg.data, m.labels) : undefined;
  const regions = input.seg && isBratsLabelling(m.labels)
    ? regionScores(seg.labels, input.seg.data, [ref.width, ref.height, ref.depth], ref.spacing)
    : undefined;
  const backend = loaded!.backend;
  const summary: VolumeSummary = {
    model: { name: m.card.name, version: m.card.version, not_for: m.card.not_for ?? null },
    backend: {
      name: backend.name,
      simd: backend.simd,
      threads: backend.threads,
      conv3d: backend.name === "wasm"
        ? fastConv3d ? "wasm Conv2D (XNNPACK) per kernel depth" : "wasm Conv3D"
        : `${backend.name} Conv3D`,
    },
    input: {
      shape: [ref.width, ref.height, ref.depth],
      spacing_mm: ref.spacing,
      datatype: input.volumes.map((v) => v.datatype),
    },
    preprocess: {
      reoriented_from: seg.orientation.map(([axis, flip]) => ({ axis, flip })),
      kept_slices: seg.keptSlices,
      params: seg.params,
    },
    inference: {
      patch_zyx: p.patch,
      overlap: p.overlap,
      blend: p.blend,
      batch: p.batch,
      windows: seg.windows,
      forward_ms: Math.round(seg.forwardMs),
    },
    threshold: p.threshold,
    ...(post ? { postprocess: { ...post, ...changed } } : {}),
    ...(p.tta ? { tta: p.tta } : {}),
    labels: labelVolumes(seg.labels, ref.spacing, m.labels),
    ...(dice ? { dice, dice_eps: 1e-5 } : {}),
    ...(regions ? { regions } : {}),
    timings_ms: ms,
  };
  return {
    nifti,
    ...(seg.probabilities ? { probabilities: true } : {}),
    ...(dicomSeg ? { seg: dicomSeg } : {}),
    summary,
    timings: ms,
  };
}

/**
 * A BINARY DICOM SEG of a label volume over `series` (on its grid): one segment per label the model
 * gives that is present (described by the card's `segments`, lib/pipelines/series.ts segmentsFor),
 * patient and study copied from the series or, with `deidentify`, replaced.
 * @example const bytes = await volumeSeg(labels, series, m) // application/dicom
 */
export async function volumeSeg(
  labels: Uint8Array,
  series: Series,
  m: Pick<VolumeModel, "card" | "labels">,
  options: { deidentify?: boolean; uidKey?: string } = {},
): Promise<Uint8Array> {
  const seen = new Uint8Array(256);
  for (let i = 0; i < labels.length; i++) seen[labels[i]] = 1;
  const present = m.labels.filter((l) => seen[l]);
  // dcmjs and the series pipeline load on the first SEG only (NIfTI requests never need them)
  const [{ writeSeg }, { segmentsFor }] = await Promise.all([
    import("../dicom/seg.ts"),
    import("./series.ts"),
  ]);
  return await writeSeg(labels, series, segmentsFor(m.card, present), {
    ...options,
    seriesDescription: `${m.card.name} ${m.card.version} labels`,
  });
}
