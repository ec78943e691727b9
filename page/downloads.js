/**
 * Download links for a result's blobs: each answer the page shows (mask, overlay, probability map,
 * label volume, JSON) can be saved under a name that says what it is and where it came from
 * (`21_training_fundus-vessels_mask.png`), not the blob: URL's random one.
 */
import { formatBytes } from "./files.js";

/**
 * A file name's stem: the name without its folder and its extension(s) (`.nii.gz` whole).
 * @example stemOf("BraTS2021_00006_flair.nii.gz") // "BraTS2021_00006_flair"
 */
export function stemOf(name) {
  const base = String(name).split(/[\\/]/).pop() || "result";
  return base.replace(/\.nii\.gz$/i, "").replace(
    /\.(dcm|dicom|png|jpe?g|tiff?|gif|nii|json|gz)$/i,
    "",
  ) ||
    base;
}

/**
 * A name safe on every file system: letters, digits and `._-` kept, runs of others made `_`.
 * @example safeName("a b/c.png") // "a_b_c.png"
 */
export function safeName(name) {
  return String(name).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "result";
}

/**
 * Appends a "Downloads" list to `host`: one link per `{blob, name, label}`, its href an object URL
 * made by `urlOf` (the page's, so they are revoked with the result) and `download` the name.
 * Answers the list, whose links can be replaced later with {@link setDownload}.
 * @example addDownloads(p.nums, objectUrl, [{ blob, name: "x_mask.png", label: "mask (PNG)" }])
 */
export function addDownloads(host, urlOf, items) {
  const nav = document.createElement("nav");
  nav.className = "downloads";
  nav.setAttribute("aria-label", "Downloads");
  const h = document.createElement("h4");
  h.textContent = "Downloads";
  const ul = document.createElement("ul");
  nav.append(h, ul);
  for (const item of items) if (item) setDownload(ul, urlOf, item);
  host.append(nav);
  return ul;
}

/**
 * Adds the link for `item` to a downloads list, or points the one of the same `key` (default the
 * label) at the new blob: a view that changes (a new window) keeps one link.
 */
export function setDownload(ul, urlOf, { blob, name, label, key = label }) {
  let a = [...ul.querySelectorAll("a")].find((x) => x.dataset.key === key);
  if (!a) {
    a = document.createElement("a");
    a.dataset.key = key;
    const li = document.createElement("li");
    const size = document.createElement("small");
    li.append(a, " ", size);
    ul.append(li);
  } else if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.href = urlOf(blob);
  a.download = safeName(name);
  a.textContent = label;
  a.title = a.download;
  a.nextElementSibling.textContent = `${a.download}, ${formatBytes(blob.size)}`;
  return a;
}
