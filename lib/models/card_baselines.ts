/**
 * A card's `baselines`: other models scored on the card's own held-out set by the same evaluation
 * code, so a reader sees what the shipped model is measured against (e.g. the seed's own network).
 * Read by lib/models/card.ts parseCard; the format is in models/README.md.
 */

/** One baseline: what it is, how to reproduce it, and its figures on the card's test set. */
export interface CardBaseline {
  /** Short id, e.g. `seed002`. */
  name: string;
  /** What the baseline is (network, training, how it differs from the shipped model). */
  description: string;
  /** The one command that trains and scores it. */
  command: string;
  /** Held-out figures: numbers in [0, 1] (auc, sensitivity, ...) or [low, high] intervals. */
  metrics: Record<string, number | [number, number]>;
  /** Anything else worth recording (training time, films seen, the shipped model re-measured). */
  [key: string]: unknown;
}

/** The reason `v` is not a valid `baselines` list, or null when it is. */
export function baselinesError(v: unknown): string | null {
  if (!Array.isArray(v)) return "must be a list";
  for (let i = 0; i < v.length; i++) {
    const b = v[i];
    const at = `[${i}]`;
    if (typeof b !== "object" || b === null || Array.isArray(b)) return `${at} must be an object`;
    const o = b as Record<string, unknown>;
    for (const k of ["name", "description", "command"]) {
      if (typeof o[k] !== "string" || o[k] === "") return `${at}.${k} must be a non-empty string`;
    }
    const m = o.metrics;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      return `${at}.metrics must be an object`;
    }
    for (const [k, x] of Object.entries(m)) {
      const ok = isUnit(x) ||
        (Array.isArray(x) && x.length === 2 && isUnit(x[0]) && isUnit(x[1]) && x[0] <= x[1]);
      if (!ok) return `${at}.metrics.${k} must be a number in [0, 1] or an interval [low, high]`;
    }
    if (Object.keys(m).length === 0) return `${at}.metrics must name at least one figure`;
  }
  return null;
}

function isUnit(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= 1;
}
