/**
 * README.md's curl examples, run as written: every `curl` line of its ```sh blocks goes through
 * bash from the repository root against the dev server (functions/main.ts, on a free port instead
 * of 8000), with real `curl`, and must answer 2xx. So the README cannot rot.
 *
 * What the runner changes, and only that: `localhost:8000` -> the server's port; `-o NAME` and a
 * later `@NAME` -> a temporary folder (an output of an earlier example, e.g. mask.png); `<id>` ->
 * the id of the last job an example created; `-sS --max-time`, `-w` appended to read the status.
 * An example marked `# needs a NAME model` whose model is not installed is checked to answer the
 * 404 the README shows instead (the first one against the pasted body); one that reads a missing
 * ../shared/data file is skipped with the reason printed. Anything else that fails, fails.
 */
import { assert, assertEquals } from "@std/assert";
import {
  curlExamples,
  DATA_PREFIX,
  dataFiles,
  ExampleRunner,
  exists,
  hasCurl,
  installedModels,
  missingData,
  ROOT,
  startDevServer,
} from "./_readme.ts";

Deno.test("README: the curl examples are found, each with a real file or none", () => {
  const ex = curlExamples(Deno.readTextFileSync(`${ROOT}README.md`));
  assert(ex.length >= 30, `only ${ex.length} curl examples found`);
  for (const e of ex) {
    // No placeholder file names: every @file is real data, or an output of an earlier example.
    for (const [, f] of e.command.matchAll(/@([^\s'"]+)/g)) {
      assert(
        f.startsWith(DATA_PREFIX) ||
          ex.some((o) => o.line < e.line && o.command.includes(`-o ${f}`)),
        `README.md:${e.line}: @${f} is neither under ${DATA_PREFIX} nor made by an earlier example`,
      );
    }
  }
  assertEquals(
    ex.filter((e) => e.needsModel).map((e) => e.needsModel),
    ["ct-liver", "ct-liver", "cxr-pneumothorax", "ct-liver"],
  );
});

const CURL = hasCurl();
if (!CURL) console.log("skipping the README examples: no curl on PATH");

/** The problem body pasted under "Without the model" in README.md. */
function readme404(readme: string): Record<string, unknown> {
  const block = readme.match(/```text\nHTTP\/1\.1 404 Not Found\n[^\n]*\n\n([\s\S]*?)```/);
  assert(block, "README.md shows no 404 answer");
  return JSON.parse(block[1]);
}

Deno.test({
  name: "README: every curl example runs as written against the dev server and answers 2xx",
  ignore: !CURL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const readme = await Deno.readTextFile(`${ROOT}README.md`);
    const examples = curlExamples(readme);
    const installed = installedModels();
    const server = await startDevServer();
    const runner = new ExampleRunner(server);
    let first404 = true;
    try {
      for (const ex of examples) {
        // A data set that is not there (a fresh clone) skips; a data set that is there without
        // the file named is a wrong path in README.md, and fails below.
        const missing = missingData(ex);
        const label = `README.md:${ex.line} ${ex.command.slice(0, 90)}`;
        if (missing.length) {
          console.log(`skipping ${label}: ${missing.join(", ")} not found`);
          await t.step({ name: label, ignore: true, fn: () => {} });
          continue;
        }
        const absent = ex.needsModel && !installed.has(ex.needsModel);
        await t.step(label, async () => {
          if (ex.command.includes("<id>")) {
            assert(runner.jobId, "an example uses <id> before any example created a job");
          }
          for (const f of dataFiles(ex)) {
            assert(exists(`${ROOT}${f}`), `README.md:${ex.line}: no such file ${f}`);
          }
          const { success, code, status, body, why } = await runner.run(ex);
          if (absent) {
            console.log(`README.md:${ex.line} needs a ${ex.needsModel} model, not installed: 404`);
            assertEquals(status, 404, why);
            if (first404) {
              // The first one's problem body is the one README.md pastes.
              first404 = false;
              const parsed = JSON.parse(new TextDecoder().decode(body));
              const shown = readme404(readme);
              for (const k of ["type", "title", "status", "detail", "instance", "model"]) {
                assertEquals(parsed[k], shown[k], `README's 404 body, ${k}`);
              }
            }
            return;
          }
          assert(success, `curl failed (${code}): ${why}`);
          assert(status >= 200 && status < 300, `status ${status}: ${why}`);
        });
      }
    } finally {
      await server.stop();
    }
  },
});
