/**
 * The volume function's query and answers (VolumeJob, VolumeNumbers), declared once; its routes
 * are in ./volume_routes.ts.
 */
import {
  enumQuery,
  flagQuery,
  formatQuery,
  intQuery,
  numberQuery,
  textQuery,
  z,
} from "../../lib/http/openapi.ts";
import { BRATS_MODALITIES } from "../../lib/pipelines/brats.ts";
import { PostprocessAnswer, postprocessQuery, TtaAnswer } from "./postprocess.ts";

/** The model used when the request names none (MEDIMG_VOLUME_MODEL overrides it). */
export const DEFAULT_VOLUME_MODEL = "brats-demo";

/** The form's file fields: the four modalities, then the optional ground truth. */
export const FILE_FIELDS = [...BRATS_MODALITIES, "seg"] as const;

/** The form's other file field: all four modalities as one 4D NIfTI, in BRATS_MODALITIES order. */
export const IMAGE_FIELD = "image";

/** The result formats: the NIfTI file, the numbers, the DICOM SEG (DICOM input only). */
export const RESULT_FORMATS = ["nifti", "json", "seg"] as const;

/** Where the jobs are. */
export const JOBS = "/segment/volume/jobs";

const BLENDS = ["gaussian", "linear", "constant"] as const;

/** The query of POST /segment/volume, declared once: documented and validated by the route. */
export const volumeQuery = z.object({
  model: textQuery(
    `installed volume model (default ${DEFAULT_VOLUME_MODEL})`,
    DEFAULT_VOLUME_MODEL,
  ),
  wait: flagQuery("on: answer with the result (small volumes only)"),
  format: formatQuery(RESULT_FORMATS),
  probs: flagQuery(
    "on: the NIfTI answer is each label's probability (float32, 4D: one volume per label of the " +
      "card, 1 2 4 for BraTS) in the input's geometry, instead of the labels",
  ),
  deidentify: flagQuery(
    "on: the DICOM SEG (format=seg, DICOM input only) gets new patient and study identity " +
      "(PS3.15 Basic Profile) instead of the source series'",
  ),
  overlap: numberQuery(
    "overlap",
    "fraction of a window shared with a neighbour, in [0, 0.95]",
    0.25,
    { min: 0, max: 0.95 },
  ),
  blend: enumQuery(BLENDS, "how overlapping windows are averaged (default gaussian)"),
  batch: intQuery("batch", "windows per forward pass, 1 to 16 (default 1)", 1, { min: 1, max: 16 }),
  threshold: numberQuery(
    "threshold",
    "probability for a label, in [0, 1] (default the card's)",
    0.5,
    { min: 0, max: 1 },
  ),
  ...postprocessQuery("mL (the voxel spacing's)"),
});

const int = z.number().int(), num = z.number();
/** One region against the truth (lib/pipelines/label_metrics.ts RegionScores). */
export const RegionScores = z.strictObject({
  labels: z.array(int).describe("the labels the region unites"),
  dice: num.describe("(2|A∩B| + eps) / (|A| + |B| + eps), eps 1e-5"),
  hd95_mm: num.nullable().describe(
    "95th-percentile Hausdorff distance in mm from the voxel spacing, MONAI's convention: the " +
      "larger of the two directed 95th percentiles of the distances between the surfaces " +
      "(6-neighbour erosion); 0 when both are empty, null when only one is",
  ),
  ml: num.describe("the region's volume in the prediction"),
  truth_ml: num.describe("and in the ground truth"),
}).openapi("RegionScores");
/** A job as jobView shows it (components.schemas.VolumeJob). */
export const JobAnswer = z.strictObject({
  id: z.string(),
  state: z.enum(["queued", "running", "done", "failed"]),
  position: int.optional().describe("place in the waiting line (0 = next), while queued"),
  model: z.string(),
  shape: z.array(int).describe("[x, y, z] voxels of the input"),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().optional(),
  finished_at: z.iso.datetime().optional(),
  expires_at: z.iso.datetime().optional().describe("when a finished job is forgotten"),
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    status: int.optional(),
    facts: z.record(z.string(), z.unknown()).optional(),
  }).optional().describe("why a failed job failed"),
  attempts: int.optional().describe(
    "runs started (jobs kept in KV or Redis: a job re-run after its process died counts 2)",
  ),
  links: z.strictObject({ self: z.string(), events: z.string(), result: z.string() }),
}).openapi("VolumeJob");
/** A finished job's numbers: the segment() summary with the job id. */
export const VolumeNumbers = z.strictObject({
  job: z.string(),
  links: z.strictObject({ self: z.string(), events: z.string(), result: z.string() }).optional()
    .describe("in the event stream's result event only"),
  model: z.strictObject({ name: z.string(), version: z.string(), not_for: z.string().nullable() }),
  backend: z.strictObject({
    name: z.string(),
    simd: z.boolean(),
    threads: int,
    conv3d: z.string().describe("how 3D convolutions ran"),
  }),
  input: z.strictObject({
    shape: z.tuple([int, int, int]),
    spacing_mm: z.tuple([num, num, num]),
    datatype: z.array(z.string()).describe(
      "datatype of each modality's voxels (NIfTI names; a DICOM series as assembled)",
    ),
  }),
  preprocess: z.strictObject({
    reoriented_from: z.array(z.strictObject({ axis: int, flip: int })),
    kept_slices: z.tuple([int, int]).describe("[start, end) of the axial slices kept"),
    params: z.strictObject({ dropDepth: int, dropHead: int, dropTail: int }),
  }),
  inference: z.strictObject({
    patch_zyx: z.tuple([int, int, int]),
    overlap: num,
    blend: z.enum(BLENDS),
    batch: int,
    windows: int,
    forward_ms: num,
  }),
  threshold: num,
  postprocess: PostprocessAnswer.optional(),
  tta: TtaAnswer.optional(),
  labels: z.record(z.string(), z.strictObject({ voxels: int, ml: num })).describe(
    "per label value: voxels and millilitres",
  ),
  dice: z.record(z.string(), num).optional().describe("per label, when seg was sent"),
  dice_eps: num.optional(),
  regions: z.record(z.string(), RegionScores).optional().describe(
    "BraTS regions (whole_tumour 1+2+4, tumour_core 1+4, enhancing_tumour 4) against seg, when " +
      "seg was sent and the model's card labels 1, 2, 4",
  ),
  timings_ms: z.record(z.string(), num),
}).openapi("VolumeNumbers");
