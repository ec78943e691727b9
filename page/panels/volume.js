/**
 * Brain MR volume: with the four modalities and the route on this server, a volume job (the files
 * up, progress over server-sent events, the label volume back as NIfTI); the volumes, with the
 * predicted labels and any dropped label map over them, in the slice view (volume_view.js).
 */
import { call, InputError, ROUTES } from "../api.js";
import { addDownloads, stemOf } from "../downloads.js";
import { followJob } from "../jobs.js";
import { niftiFromBytes, readNifti } from "../nifti.js";
import { addNumbers, addTiming, jsonBlob, objectUrl, panel } from "../output.js";
import { $, state, statusLine } from "../state.js";
import { volumeViewer } from "./volume_view.js";

/** Runs the volume job when the four modalities are there, then shows them in the slice view. */
export async function run() {
  const niftis = state.files.filter((e) => e.kind === "nifti");
  if (!niftis.length) throw new InputError("Drop NIfTI files (.nii or .nii.gz) first.", "#file");
  const byRole = Object.fromEntries(niftis.map((e) => [e.role || e.file.name, e]));
  const p = panel(`Volume: ${niftis.map((e) => e.file.name).join(", ")}`);
  const overlays = [];
  let job = null;
  if (state.available.has("volume") && ["flair", "t1", "t1ce", "t2"].every((r) => byRole[r])) {
    job = await volumeJob(byRole);
    overlays.push({ name: "predicted labels", volume: job.volume });
  }
  const baseEntry = byRole.flair ?? niftis.find((e) => e.role !== "seg") ?? niftis[0];
  statusLine.textContent = "Reading the NIfTI files…";
  const base = await readNifti(baseEntry.file);
  if (byRole.seg) {
    overlays.push({ name: byRole.seg.file.name, volume: await readNifti(byRole.seg.file) });
  }
  for (const o of overlays) {
    if (o.volume.dims.join() !== base.dims.join()) {
      throw new InputError(
        `${o.name} is ${o.volume.dims.join("×")} but ${baseEntry.file.name} is ${
          base.dims.join("×")
        }.`,
        "#file",
      );
    }
  }
  volumeViewer(p, base, baseEntry.file.name, overlays);
  if (job) {
    const stem = `${stemOf(byRole.flair.file.name).replace(/[_-]?(flair|t2f)$/i, "")}_${
      job.summary.model?.name ?? job.model ?? "volume"
    }`;
    addDownloads(p.nums, objectUrl, [
      {
        blob: new Blob([job.bytes], { type: "application/gzip" }),
        name: `${stem}_labels.nii.gz`,
        label: "label volume (NIfTI)",
      },
      { blob: jsonBlob(job.summary), name: `${stem}.json`, label: "numbers (JSON)" },
    ]);
    // The job's stage timings come back as the result's Server-Timing.
    const { links: _l, timings_ms: _t, ...numbers } = job.summary;
    addNumbers(p, "Numbers", numbers);
    addTiming(p, ...job.calls);
  }
}

// ---------------------------------------------------------------------------------------------
// Volume jobs: four files up, progress over server-sent events, the label volume back as NIfTI.

async function volumeJob(byRole) {
  const fd = new FormData();
  for (const r of ["flair", "t1", "t1ce", "t2", "seg"]) {
    if (byRole[r]) fd.append(r, byRole[r].file, byRole[r].file.name);
  }
  statusLine.textContent = "Uploading the volumes…";
  const model = $("#volume-model").value;
  const path = model ? `${ROUTES.volume}?${new URLSearchParams({ model })}` : ROUTES.volume;
  const start = await call(path, { body: fd, accept: "application/json" });
  const job = await start.res.json();
  const events = job.links?.events ?? `${ROUTES.volume}/jobs/${job.id}`;
  const result = job.links?.result ?? `${events}/result`;
  const summary = await followJob(events, "Volume job");
  statusLine.textContent = "Fetching the label volume…";
  const nii = await call(result, { method: "GET", accept: "application/gzip" });
  const bytes = new Uint8Array(await nii.res.arrayBuffer());
  const volume = await niftiFromBytes(bytes, "the label volume");
  return { volume, bytes, summary, model: model || job.model, calls: [start, nii] };
}
