/**
 * The served OpenAPI documents pass `@redocly/cli lint` (its recommended rules) with no errors:
 * the dev server's and each function's alone. The linter runs from the npm registry at a pinned
 * version, outside the project's config and lock; where it cannot run (no registry), the test is
 * ignored, saying why. Warnings are printed.
 */
import { assertEquals } from "@std/assert";
import { app as main } from "../../functions/main.ts";
import { app as cxr } from "../../functions/cxr.ts";
import { app as dicom } from "../../functions/dicom.ts";
import { app as mammo } from "../../functions/mammo.ts";
import { app as rle } from "../../functions/rle.ts";
import { app as slice } from "../../functions/slice.ts";
import { app as volume } from "../../functions/volume.ts";

/** The linter, pinned. */
const REDOCLY = "npm:@redocly/cli@2.77.0";

interface Problem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
}

const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "openapi_lint_" });

/** Runs the linter on `file` (in `dir`); its JSON report, or why it could not run. */
async function lint(file: string): Promise<{ problems: Problem[] } | string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--no-lock", REDOCLY, "lint", "--format=json", file],
    cwd: dir,
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output().catch((err) => err as Error);
  if (out instanceof Error) return out.message;
  const text = new TextDecoder().decode(out.stdout);
  try {
    return JSON.parse(text.slice(text.indexOf("{")));
  } catch {
    return `${REDOCLY} gave no JSON report: ${new TextDecoder().decode(out.stderr).slice(-500)}`;
  }
}

// One run up front tells whether the linter can run here at all.
await Deno.writeTextFile(`${dir}/probe.json`, await (await rle.request("/openapi.json")).text());
const probe = await lint("probe.json");
if (typeof probe === "string") console.log(`skipping the redocly lint tests: ${probe}`);

const apps = { main, rle, dicom, mammo, slice, cxr, volume };

for (const [name, app] of Object.entries(apps)) {
  Deno.test({
    name: `@redocly/cli lint: ${name}'s /openapi.json has no errors`,
    ignore: typeof probe === "string",
    async fn() {
      const res = await app.request("/openapi.json");
      assertEquals(res.status, 200);
      await Deno.writeTextFile(`${dir}/${name}.json`, await res.text());
      const report = await lint(`${name}.json`);
      if (typeof report === "string") throw new Error(report);
      const line = (p: Problem) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`;
      const warnings = report.problems.filter((p) => p.severity !== "error");
      if (warnings.length) console.log(`${name}: warnings:\n  ${warnings.map(line).join("\n  ")}`);
      assertEquals(report.problems.filter((p) => p.severity === "error").map(line), []);
    },
  });
}

Deno.test("@redocly/cli lint: cleanup", async () => {
  await Deno.remove(dir, { recursive: true });
});
