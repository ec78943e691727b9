/**
 * NIfTI-1/2 reader for the volume view: either byte order, gzip or not, the first volume of 4D
 * files, scaled by scl_slope/scl_inter as nibabel's get_fdata does, as {dims, spacing, datatype,
 * version, endian, data: Float32Array, integer, srow: the sform rows or null}. The server's reader
 * (lib/nifti, matched to nibabel by its tests) is TypeScript run by Deno, not served to browsers.
 *
 * Why its own module and not nifti-reader-js (rii-mango's maintained reader, npm 0.8.0): that
 * package is an ES module, but its entry imports the bare specifier "fflate", which a browser
 * resolves only through an import map. Chromium reads import maps only inline in the HTML, and
 * the page's CSP (functions/page.ts: script-src 'self') refuses inline scripts, so serving it
 * would mean either a hash exception in the CSP or the server rewriting the library's source: a
 * build step by another name. (Its dist/nifti1.js and nifti2.js import only sibling files, but the
 * package exports its entry alone, so importing them by path leans on a layout a release may
 * move.) Its gzip is fflate's synchronous inflate on the main thread, where the browser's own
 * DecompressionStream is used here. What the page needs is the header fields at their fixed
 * offsets (NIfTI-1: 348 bytes, NIfTI-2: 540) and one loop over the voxels, about
 * sixty lines; the page test checks the voxels per label it shows against the BraTS files' own.
 */
import { InputError } from "./api.js";

/** NIfTI datatype codes of the scalar types: DataView getter and bytes per voxel. */
const DTYPES = {
  2: ["Uint8", 1],
  4: ["Int16", 2],
  8: ["Int32", 4],
  16: ["Float32", 4],
  64: ["Float64", 8],
  256: ["Int8", 1],
  512: ["Uint16", 2],
  768: ["Uint32", 4],
};

/** A dropped .nii or .nii.gz file's first volume; an InputError when it is not one this reads. */
export async function readNifti(file) {
  return await niftiFromBytes(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** The first volume of NIfTI bytes (gunzipped first when they are gzip); `name` for errors. */
export async function niftiFromBytes(bytes, name) {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return parseNifti(bytes, name);
}

function parseNifti(bytes, name) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why) => {
    throw new InputError(`${name} is not a NIfTI volume this page reads: ${why}.`, "#file");
  };
  if (bytes.length < 348) fail("it is shorter than a header");
  let le = true;
  let size = v.getInt32(0, true);
  if (size !== 348 && size !== 540) [le, size] = [false, v.getInt32(0, false)];
  if (size !== 348 && size !== 540) fail("sizeof_hdr is neither 348 nor 540");
  const two = size === 540;
  const dim = [], pixdim = [];
  for (let i = 0; i < 8; i++) {
    dim.push(two ? Number(v.getBigInt64(16 + 8 * i, le)) : v.getInt16(40 + 2 * i, le));
    pixdim.push(two ? v.getFloat64(104 + 8 * i, le) : v.getFloat32(76 + 4 * i, le));
  }
  const datatype = v.getInt16(two ? 12 : 70, le);
  const offset = two ? Number(v.getBigInt64(168, le)) : Math.floor(v.getFloat32(108, le));
  const slope = two ? v.getFloat64(176, le) : v.getFloat32(112, le);
  const inter = two ? v.getFloat64(184, le) : v.getFloat32(116, le);
  if (!(offset >= (two ? 544 : 352))) fail(`vox_offset ${offset} is inside the header`);
  // The sform rows (voxel to RAS mm) when sform_code is set, else null.
  const sformCode = two ? v.getInt32(348, le) : v.getInt16(254, le);
  const srow = sformCode
    ? [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((k) =>
        two ? v.getFloat64(400 + 32 * r + 8 * k, le) : v.getFloat32(280 + 16 * r + 4 * k, le)
      )
    )
    : null;
  const dt = DTYPES[datatype];
  if (!dt) fail(`datatype ${datatype} is not a scalar type`);
  const [nx, ny, nz] = [1, 2, 3].map((i) => (i <= dim[0] ? Math.max(1, dim[i]) : 1));
  const n = nx * ny * nz;
  if (offset + n * dt[1] > bytes.length) {
    fail(`its ${nx}×${ny}×${nz} voxels run past the end of the file`);
  }
  const data = new Float32Array(n);
  const get = DataView.prototype[`get${dt[0]}`];
  const scale = slope !== 0 && Number.isFinite(slope) && !(slope === 1 && inter === 0);
  for (let i = 0, o = offset; i < n; i++, o += dt[1]) {
    const x = get.call(v, o, le);
    data[i] = scale ? x * slope + inter : x;
  }
  return {
    dims: [nx, ny, nz],
    spacing: [1, 2, 3].map((i) => Math.abs(pixdim[i]) || 1),
    datatype: dt[0].toLowerCase(),
    version: two ? 2 : 1,
    endian: le ? "little" : "big",
    data,
    integer: !scale && !dt[0].startsWith("Float"),
    srow,
  };
}
