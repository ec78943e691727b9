/**
 * The installed models: every folder of the models root (MEDIMG_MODELS_DIR, default the project's
 * models/) that holds a card.json. The folder name is the model's name in requests.
 */
import { NotFoundError } from "../errors.ts";
import { env } from "./_env.ts";
import { type ModelCard, ModelCardError, parseCard } from "./card.ts";
import { trainHint } from "./recipes.ts";

/** No model of that name is installed (an HTTP function answers 404). */
export class ModelNotFoundError extends NotFoundError {
  constructor(message: string, name: string) {
    super(message, { model: name });
  }
}

/** One folder of the models root: its card, or why it cannot be used. */
export interface InstalledModel {
  name: string;
  dir: string;
  card?: ModelCard;
  error?: string;
}

/** How to add a model, for answers about a missing one. */
export const HOW_TO_ADD =
  "put model.json, its weight shards and a card.json in models/<name>/ (or under MEDIMG_MODELS_DIR); " +
  "models/README.md explains converting a Keras .h5 with tensorflowjs_converter and what the card holds";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The models root: MEDIMG_MODELS_DIR, else the project's models/ folder.
 * @example modelsRoot() // "/srv/medimg-edge/models"
 */
export function modelsRoot(): string {
  const dir = env("MEDIMG_MODELS_DIR");
  if (dir) return dir.replace(/\/+$/, "");
  return projectModels();
}

/** The project's models/ folder. */
function projectModels(): string {
  const url = new URL("../../models", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : "models";
}

async function readCard(dir: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/card.json`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    throw new ModelCardError(`card.json could not be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelCardError(`card.json is not JSON: ${(err as Error).message}`);
  }
  return parseCard(json);
}

async function inspect(root: string, name: string): Promise<InstalledModel> {
  const dir = `${root}/${name}`;
  try {
    const card = await readCard(dir);
    if (card.name !== name) {
      return { name, dir, error: `card.json names the model ${card.name}, the folder ${name}` };
    }
    await Deno.stat(`${dir}/model.json`).catch(() => {
      throw new ModelCardError("model.json is missing beside card.json");
    });
    return { name, dir, card };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    return { name, dir, error: (err as Error).message };
  }
}

/**
 * Every folder of `root` with a card.json, sorted by name; broken ones carry `error`.
 * @example (await listModels()).map((m) => m.name) // ["ct-liver", "fundus-vessels"]
 */
export async function listModels(root: string = modelsRoot()): Promise<InstalledModel[]> {
  const out: InstalledModel[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(root));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  for (const e of entries) {
    if (!(e.isDirectory || e.isSymlink) || !NAME.test(e.name)) continue;
    try {
      out.push(await inspect(root, e.name));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The installed model `name` with a valid card; ModelNotFoundError (saying how to add one) when
 * there is none, ModelCardError when its folder is broken.
 * @example const { card, dir } = await findModel("ct-liver");
 */
export async function findModel(
  name: string,
  root: string = modelsRoot(),
): Promise<InstalledModel & { card: ModelCard }> {
  if (!NAME.test(name)) {
    throw new ModelNotFoundError(
      `${JSON.stringify(name)} is not a model name (letters, digits, . _ -)`,
      name,
    );
  }
  let found: InstalledModel;
  try {
    found = await inspect(root, name);
  } catch {
    const names = (await listModels(root)).filter((m) => m.card).map((m) => m.name);
    // A preset with a training recipe: its command, the project's own models/ folder written as
    // the repository-relative path the task runs from.
    const train = trainHint(name, root === projectModels() ? "models" : root);
    throw new ModelNotFoundError(
      `model ${JSON.stringify(name)} is not installed (installed: ${
        names.length ? names.join(", ") : "none"
      }); ${train}to add one, ${HOW_TO_ADD}`,
      name,
    );
  }
  if (!found.card) throw new ModelCardError(`model ${name} cannot be used: ${found.error}`);
  return found as InstalledModel & { card: ModelCard };
}
