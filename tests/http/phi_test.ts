/**
 * No patient names, ids or birth dates leave the server except where asked for (`/dicom/info?phi=1`):
 * a server run over every real DICOM, every answer and every log line checked for each file's
 * identifying values.
 */
import { assert } from "@std/assert";
import { parseDataSet, readMeta } from "../../lib/dicom/parse.ts";
import { dataFile } from "../_data.ts";

const root = new URL("../../", import.meta.url).pathname;
const dirs = ["dicom-conformance", "siim-pneumothorax", "rsna-pneumonia", "cbis-ddsm"];
const base = dataFile("dicom-conformance");

/** The identifying strings in a file, or [] when it cannot be parsed. */
function identifiers(bytes: Uint8Array): string[] {
  try {
    const { phi } = readMeta(parseDataSet(bytes));
    const values = [phi.patientName, phi.patientId, phi.patientBirthDate, phi.accessionNumber]
      .filter((v): v is string => !!v);
    // Short values ("M", "1") and short numbers (a patient id "99000" is also a timing in some
    // answer) would match anything; they identify no one on their own.
    // Placeholders ("00000000") identify no one either.
    return values.map((v) => v.trim()).filter((v) =>
      v.length >= 4 && !/^\d{1,7}$/.test(v) && !/^(.)\1*$/.test(v)
    );
  } catch {
    return [];
  }
}

Deno.test({
  name: "PHI: no patient name, id or birth date in any answer or log line over the real DICOMs",
  ignore: !base,
  async fn() {
    const port = 18_900 + Math.floor(Math.random() * 90);
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-read", "functions/main.ts"],
      cwd: root,
      env: { PORT: String(port) },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const logs: Promise<string>[] = [server.stdout, server.stderr].map(async (s) => {
      let text = "";
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
      return text;
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200; i++) {
      try {
        await (await fetch(`${url}/health`)).body?.cancel();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const seen = new Set<string>();
    let files = 0;
    const answers: { file: string; route: string; text: string }[] = [];
    try {
      for (const dir of dirs) {
        const path = dataFile(dir);
        if (!path) continue;
        for await (const e of Deno.readDir(path)) {
          if (!e.isFile || e.name.endsWith(".md") || e.name.endsWith(".csv")) continue;
          const bytes = await Deno.readFile(`${path}/${e.name}`);
          if (bytes.length > 8 << 20) continue;
          identifiers(bytes).forEach((v) => seen.add(v));
          files++;
          for (
            const route of [
              "/dicom/info",
              "/dicom/render?format=json",
              "/mammo/preprocess?format=json",
            ]
          ) {
            const res = await fetch(url + route, {
              method: "POST",
              headers: { "content-type": "application/dicom" },
              body: bytes,
            });
            answers.push({ file: e.name, route, text: await res.text() });
          }
        }
      }
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
    const log = (await Promise.all(logs)).join("\n");
    assert(files > 100, `only ${files} DICOM files`);
    assert(seen.size > 50, `only ${seen.size} identifying values found: is the PHI reader broken?`);
    for (const v of seen) {
      // A numeric id ("0000000001") counts only as a whole token, not inside a longer number.
      const escaped = v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const pattern = /^[\d.]+$/.test(v) ? new RegExp(`(^|[^\\d.])${escaped}(?![\\d])`) : undefined;
      const holds = (text: string) => pattern ? pattern.test(text) : text.includes(v);
      assert(!holds(log), `the server log holds the identifier ${JSON.stringify(v)}`);
      const leak = answers.find((a) => holds(a.text));
      assert(!leak, `${leak?.route} on ${leak?.file} answered with ${JSON.stringify(v)}`);
    }
  },
});
