/**
 * Decoders load per transfer syntax, on first use: a process denied read access to one codec's
 * package still decodes every other syntax, and fails only when that codec is needed.
 */
import { assert, assertEquals } from "@std/assert";
import { dataFile } from "../_data.ts";

const native = dataFile("dicom-conformance/CT1_UNC.explicit_little_endian.dcm");
const jpegLs = dataFile("dicom-conformance/CT1_UNC.not_fragmented_no_bot_jpeg_ls.80.dcm");
const j2k = dataFile("dicom-conformance/MR2_J2KI.dcm");
const root = new URL("../../", import.meta.url).pathname;

/** The installed folder of an npm package in node_modules/.deno. */
function packageDir(prefix: string): string {
  for (const e of Deno.readDirSync(`${root}node_modules/.deno`)) {
    if (e.name.startsWith(prefix)) return `${root}node_modules/.deno/${e.name}`;
  }
  throw new Error(`${prefix} is not installed`);
}

async function decodeDenied(denied: string, files: string[]): Promise<Record<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      `--deny-read=${denied}`,
      "--allow-env",
      `${root}tests/dicom/_lazy_probe.ts`,
      ...files,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(text);
}

Deno.test({
  name: "codecs load lazily: without OpenJPEG's files, native and JPEG-LS decode; only J2K fails",
  ignore: !native || !jpegLs || !j2k,
  async fn() {
    const r = await decodeDenied(packageDir("@cornerstonejs+codec-openjpeg@"), [
      native!,
      jpegLs!,
      j2k!,
    ]);
    assertEquals(r[native!], "ok 512");
    assertEquals(r[jpegLs!], "ok 512");
    assert(r[j2k!].includes("codec-openjpeg"), r[j2k!]);
  },
});

Deno.test({
  name: "codecs load lazily: without CharLS's files, JPEG 2000 decodes; only JPEG-LS fails",
  ignore: !native || !jpegLs || !j2k,
  async fn() {
    const r = await decodeDenied(packageDir("@cornerstonejs+codec-charls@"), [j2k!, jpegLs!]);
    assertEquals(r[j2k!], "ok 1024");
    assert(r[jpegLs!].includes("codec-charls"), r[jpegLs!]);
  },
});
