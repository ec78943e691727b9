/**
 * The presets no model is shipped for, and the one command that makes each from the user's own data
 * (training/ct_liver, training/cxr_pneumothorax; README "Bring your own data"). A 404 for one of
 * these names says it.
 */

/** Preset model name -> the command that trains it, `<root>` standing for the models root. */
export const TRAIN_COMMANDS: Record<string, string> = {
  "ct-liver":
    "deno task train:ct-liver --data <folder of 3D-IRCADb-style patients, or its .tar.gz> --out <root>/ct-liver",
  "cxr-pneumothorax":
    "deno task train:cxr-pneumothorax --data <folder of SIIM DICOMs> --csv <train-rle.csv> --out <root>/cxr-pneumothorax",
};

/**
 * The sentence a 404 for `name` adds, or "" when no recipe makes it.
 * @example trainHint("ct-liver", "/srv/models") // "make it from your own data: deno task train:ct-liver ..."
 */
export function trainHint(name: string, root: string): string {
  const cmd = Object.hasOwn(TRAIN_COMMANDS, name) ? TRAIN_COMMANDS[name] : undefined;
  return cmd
    ? `no ${name} model is shipped: make it from your own data with \`${
      cmd.replace("<root>", root)
    }\` (README "Bring your own data"); `
    : "";
}
