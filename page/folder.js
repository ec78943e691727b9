/**
 * A folder's files, as a user drops or chooses one: every file under it, read recursively through
 * the directory entries a drop carries (DataTransferItem.webkitGetAsEntry, each reader read until
 * it answers an empty batch: Chromium gives at most 100 entries a call), extension-less files
 * included (3D-IRCADb ships its slices as `image_0` ... `image_128`), in natural order of their
 * paths (`image_2` before `image_10`), as a file manager lists them.
 */

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "variant" });

/**
 * A file's path in the folder it came from: webkitRelativePath for a chosen folder, else its name.
 * @example pathOf(new File([], "image_0")) // "image_0"
 */
export function pathOf(file) {
  return file.webkitRelativePath || file.name;
}

/**
 * `items` ({file, path}) sorted by path in natural order: digit runs compare as numbers.
 * @example naturalOrder([{path: "a/image_10"}, {path: "a/image_2"}]).map((i) => i.path)
 * // ["a/image_2", "a/image_10"]
 */
export function naturalOrder(items) {
  return [...items].sort((a, b) => collator.compare(a.path, b.path));
}

/** Every entry of a directory reader: readEntries is called until it answers no more. */
async function readAll(reader) {
  const out = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return out;
    out.push(...batch);
  }
}

/**
 * The files under FileSystemEntry objects (files and directories, recursively) as {file, path},
 * `path` the entry's full path without its leading slash, in natural order.
 */
export async function filesOfEntries(entries) {
  const out = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: (entry.fullPath || file.name).replace(/^\/+/, "") });
    } else if (entry.isDirectory) {
      for (const e of await readAll(entry.createReader())) await walk(e);
    }
  };
  for (const e of entries) await walk(e);
  return naturalOrder(out);
}

/**
 * What a drop carries, as {file, path}: the files under any dropped folder (read through its
 * entries), else the dropped files as they came.
 */
export async function droppedFiles(dataTransfer) {
  const entries = [...(dataTransfer?.items ?? [])]
    .filter((i) => i.kind === "file")
    .map((i) => i.webkitGetAsEntry?.())
    .filter(Boolean);
  if (entries.some((e) => e.isDirectory)) return await filesOfEntries(entries);
  return [...(dataTransfer?.files ?? [])].map((file) => ({ file, path: pathOf(file) }));
}
