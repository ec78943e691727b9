/**
 * The postprocessing and test-time augmentation parameters /segment/slice, /segment/series and
 * /segment/volume share (lib/pipelines/postprocess.ts), and how their answers report the values
 * used: declared once, spread into each route's query and answer.
 */
import { enumQuery, flagQuery, intQuery, numberQuery, z } from "../../lib/http/openapi.ts";

/**
 * The query parameters, to spread into a route's query object. `unit` says what min_size is in on
 * that route.
 */
export function postprocessQuery(unit: string) {
  return {
    postprocess: flagQuery(
      "0: leave out the card's postprocessing defaults (largest, fill_holes, min_size given here " +
        "still apply)",
      "absent: the card's defaults",
    ),
    largest: intQuery(
      "largest",
      "keep the N largest connected components of each label (8-connected in 2D, 26 in 3D; " +
        "0: off, overriding the card's)",
      1,
      { min: 0, max: 1000 },
    ),
    fill_holes: flagQuery(
      "fill the holes of each label (background it encloses, 4-connected in 2D, 6 in 3D)",
      "absent: the card's default",
    ),
    min_size: numberQuery(
      "min_size",
      `drop components of each label smaller than this, in ${unit} (0: off, overriding the card's)`,
      10,
      { min: 0 },
    ),
    tta: enumQuery(
      ["none", "flip"],
      "test-time augmentation: flip averages the probabilities over the flips the card allows " +
        "(its tta.flips) and the unflipped run (default none)",
    ),
  };
}

const num = z.number();
/** The postprocessing used, in an answer. */
export const PostprocessAnswer = z.strictObject({
  largest: z.number().int().nullable().describe("components kept per label (null: all)"),
  fill_holes: z.boolean(),
  min_size: num.nullable().describe("smallest component kept, in min_size_unit (null: any)"),
  min_size_unit: z.enum(["mm2", "mL", "pixels", "voxels"]),
  card_defaults: z.boolean().describe("whether the card's defaults applied (postprocess=0: no)"),
  removed_components: z.number().int(),
  removed_voxels: z.number().int().describe("pixels or voxels set to background"),
  filled_voxels: z.number().int().describe("pixels or voxels set to a label by filling holes"),
}).describe("the postprocessing used (the card's defaults with the query's overrides)");

/** The test-time augmentation used, in an answer. */
export const TtaAnswer = z.strictObject({
  mode: z.enum(["none", "flip"]),
  flips: z.array(z.array(z.number().int())).describe(
    "the flips averaged with the plain run, as spatial axes (2D: 0 y, 1 x; 3D: 0 z, 1 y, 2 x)",
  ),
});
