/**
 * NIfTI files our writer makes from real inputs, shared by tests/nifti/write_test.ts and the fixture
 * script (which runs this module to write them, reads them with nibabel, and stores their sha256 and
 * what nibabel read): the test makes the same bytes again, so nibabel has read exactly what we write.
 * Run: deno run --allow-read --allow-write tests/nifti/_write_cases.ts OUT_DIR
 */
import { encodeNifti, readNifti, toCanonical, type Volume } from "../../lib/nifti/mod.ts";

const DATA = new URL("../../../shared/data/", import.meta.url);

/** One written file: a name, the input it came from (under ../shared/data), and its bytes. */
export interface WriteCase {
  name: string;
  source: string;
  bytes: Uint8Array;
}

async function load(rel: string): Promise<Volume> {
  return await readNifti((await Deno.open(new URL(rel, DATA))).readable);
}

/** The cases; undefined when ../shared/data is absent. */
export async function writeCases(): Promise<WriteCase[] | undefined> {
  try {
    Deno.statSync(new URL("nifti-conformance/", DATA));
  } catch {
    return undefined;
  }
  const cases: WriteCase[] = [];
  // Big-endian int16 in, a uint8 label map out on its grid (what the volume function writes).
  let src = "nifti-conformance/nibabel/anatomical.nii";
  const anat = await load(src);
  const labels = Uint8Array.from(anat.data, (x) => (x > 20000 ? 4 : x > 8000 ? 2 : x > 0 ? 1 : 0));
  cases.push({
    name: "labels_on_anatomical",
    source: src,
    bytes: encodeNifti(anat.header, labels),
  });
  // NIfTI-2 in (float64 header fields), NIfTI-1 float32 out, 4D.
  src = "nifti-conformance/nibabel/example_nifti2.nii.gz";
  const n2 = await load(src);
  cases.push({
    name: "nifti2_as_nifti1_float32",
    source: src,
    bytes: encodeNifti(n2.header, Float32Array.from(n2.data), { description: "medimg-edge test" }),
  });
  // Scaled int16 in, the scaled float32 values out, 4D.
  src = "nifti-conformance/nibabel/functional.nii";
  const fn = await load(src);
  cases.push({
    name: "functional_scaled_float32",
    source: src,
    bytes: encodeNifti(fn.header, fn.data),
  });
  // A canonical (reoriented) 5D volume with its new affine, as uint16 and int32.
  src = "nifti-conformance/nifti-reader-js/5D_small.nii";
  const five = toCanonical(await load(src)).volume;
  const five16 = Uint16Array.from(five.data, (x) => Math.round(x * 1000));
  cases.push({ name: "canonical_5d_uint16", source: src, bytes: encodeNifti(five.header, five16) });
  src = "nifti-conformance/niivue/nifti_space_PIR.nii.gz";
  const pir = toCanonical(await load(src)).volume;
  const pir32 = Int32Array.from(pir.data, (x) => Math.round(x * 1e6) - 5e7);
  cases.push({ name: "canonical_pir_int32", source: src, bytes: encodeNifti(pir.header, pir32) });
  return cases;
}

if (import.meta.main) {
  const out = Deno.args[0];
  const cases = await writeCases();
  if (!cases) throw new Error("../shared/data is absent");
  for (const c of cases) await Deno.writeFile(`${out}/${c.name}.nii`, c.bytes);
}
