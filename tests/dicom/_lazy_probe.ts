/** Decodes each file named on the command line and prints one JSON line: file -> "ok <width>" or the error. */
import { decodeDicom } from "../../lib/dicom/pixels.ts";
const out: Record<string, string> = {};
for (const f of Deno.args) {
  try {
    const r = await decodeDicom(await Deno.readFile(f));
    out[f] = `ok ${r.image.width}`;
  } catch (e) {
    out[f] = `${(e as Error).constructor.name}: ${(e as Error).message.slice(0, 120)}`;
  }
}
console.log(JSON.stringify(out));
