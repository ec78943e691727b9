/**
 * Which installed models each function can run, from GET /models: a model's card says its task,
 * and its first input's rank its dimensions (NHWC, rank 4: a 2D image, models/README.md; NDHWC,
 * rank 5: a volume, as brats-demo's card). Slice segmentation gets 2D segmentation models only,
 * the volume function 3D ones and chest X-ray classification the classifiers, so no function is
 * offered a model its route would refuse with 422.
 */

/**
 * The function a model card belongs to: "slice", "volume", "cxr", or null (none of them).
 * @example kindOf({ task: "segmentation", inputs: [{ shape: [null, 4, 16, 16, 4] }] }) // "volume"
 */
export function kindOf(card) {
  const rank = card?.inputs?.[0]?.shape?.length;
  if (card?.task === "classification") return rank === 4 ? "cxr" : null;
  if (card?.task === "segmentation") return rank === 5 ? "volume" : rank === 4 ? "slice" : null;
  return null;
}

/**
 * The installed models by function: {slice: [...], volume: [...], cxr: [...]}, each a list of
 * {name, card}; broken folders (an `error` in place of a card) are left out.
 * @example (await modelsByKind()).slice.map((m) => m.name) // ["fundus-vessels"]
 */
export async function modelsByKind() {
  const out = { slice: [], volume: [], cxr: [] };
  try {
    const r = await fetch("/models", { headers: { accept: "application/json" } });
    if (!r.ok) return out;
    for (const m of (await r.json()).models ?? []) {
      const kind = kindOf(m.card);
      if (kind) out[kind].push(m);
    }
  } catch { /* no list: every function shows that it has no model */ }
  return out;
}

/**
 * Fills a select with models: the name, version and description of each. `preferred` is chosen
 * when it is among them.
 */
export function fillSelect(select, models, preferred) {
  select.replaceChildren(...models.map((m) => {
    const o = new Option(`${m.name}${m.card.version ? ` ${m.card.version}` : ""}`, m.name);
    o.title = m.card.description ?? "";
    return o;
  }));
  if (preferred && models.some((m) => m.name === preferred)) select.value = preferred;
  return models.length;
}
