/**
 * The series job's work as data, so that any process can do it: the instances (and ground-truth
 * instances) as they came, the model's name, threshold and answer format, and with store=1 the
 * series the SEG goes back to; the runner assembles the series again and runs what the route runs
 * in process with the memory engine (lib/pipelines/series.ts, then the answer of ./_series_io.ts).
 */
import { assembleSeries } from "../lib/dicom/series.ts";
import type { JobRunner } from "../lib/jobs/mod.ts";
import { env } from "../lib/http/mod.ts";
import { holdModels, loadModel } from "../lib/models/load.ts";
import type { Series } from "../lib/dicom/series.ts";
import {
  postprocessOn,
  postprocessSeries,
  type PostprocessUsed,
  postprocessUsed,
  type TtaUsed,
  ttaUsed,
} from "../lib/pipelines/postprocess.ts";
import { segmentSeries, type SeriesSegmentation } from "../lib/pipelines/series.ts";
import { requireSliceModel } from "../lib/pipelines/slice.ts";
import { Steps } from "../lib/pipelines/steps.ts";
import { buildResult, pacsClient, type SeriesRef, type SeriesResult } from "./_series_io.ts";

/** A series job's params (JSON). */
export interface SeriesJobParams {
  model: string;
  threshold?: number;
  format: "json" | "nifti" | "seg";
  /** store=1: the series the SEG is stored with, on the deployment's PACS. */
  store?: SeriesRef;
  /** The postprocessing and test-time augmentation the route resolved (card + request). */
  postprocess?: PostprocessUsed;
  tta?: TtaUsed;
  /** deidentify=1: the SEG's patient and study replaced (UIDs keyed by MEDIMG_DEID_KEY). */
  deidentify?: boolean;
}

/**
 * The card's and the request's postprocessing in 3D (mL) applied to a series' labels, and what was
 * used, on the answer (the route and the runner both end with it).
 */
export function finishSeries(
  seg: SeriesSegmentation,
  series: Series,
  post: PostprocessUsed,
  tta: TtaUsed,
  r: Steps,
) {
  const [sx, sy] = series.volume.spacing;
  const sz = Math.abs(series.sliceSpacing || series.volume.spacing[2]);
  const changed = postprocessOn(post)
    ? r.step("postprocess", () => postprocessSeries(seg, post, [sx, sy, sz]))
    : { removed_components: 0, removed_voxels: 0, filled_voxels: 0 };
  return Object.assign(seg, { postprocess: { ...post, ...changed }, tta });
}

/** The job inputs of a series: `instance-<n>` and `truth-<n>`, in order. */
export function seriesInputs(
  instances: Uint8Array[],
  truth: Uint8Array[],
): Record<string, Uint8Array> {
  const pad = (i: number) => String(i).padStart(5, "0");
  return Object.fromEntries([
    ...instances.map((b, i) => [`instance-${pad(i)}`, b] as const),
    ...truth.map((b, i) => [`truth-${pad(i)}`, b] as const),
  ]);
}

/** The parts of one name from {@link seriesInputs}, in order. */
function partsOf(inputs: Record<string, Uint8Array>, what: string): Uint8Array[] {
  return Object.keys(inputs).filter((k) => k.startsWith(`${what}-`)).sort().map((k) => inputs[k]);
}

/** The runner of "series" jobs. */
export const seriesRunner: JobRunner<SeriesResult> = async ({ params, inputs }, ctx) => {
  const q = params as unknown as SeriesJobParams;
  const series = await assembleSeries(partsOf(inputs, "instance"));
  const truth = partsOf(inputs, "truth");
  const store = q.store ? { store: { client: pacsClient(), signal: ctx.signal } } : {};
  return await holdModels(async () => {
    const r = new Steps();
    const m = await r.stepAsync("model", () => loadModel(q.model));
    requireSliceModel(q.model, m.card);
    const progress = (done: number, total: number) => ctx.progress("infer", done, total);
    // params stored without them (an older origin's job): the card's defaults
    const tta = q.tta ?? ttaUsed(m.card);
    const post = q.postprocess ?? postprocessUsed(m.card, {}, "mL");
    const options = { threshold: q.threshold, flips: tta.flips };
    const plain = await segmentSeries(m, series, options, r, undefined, progress);
    const seg = finishSeries(plain, series, post, tta, r);
    const deid = q.deidentify ? { deidentify: { uidKey: env("MEDIMG_DEID_KEY") ?? "" } } : {};
    const input = { card: m.card, series, seg, truth, format: q.format, ...deid, ...store };
    return await buildResult(input, r);
  });
};
