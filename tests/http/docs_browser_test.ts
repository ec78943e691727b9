/**
 * /docs in a real browser: Debian's chromium, headless, renders Swagger UI over the dev server's
 * /openapi.json, deep-linked to one operation (by its operationId), and the DOM it ends with is
 * read back (--dump-dom). Try-it-out must offer each multipart field as its own input (a file
 * chooser for files), with the form as the first body type. Skipped, with the reason printed,
 * where /usr/bin/chromium is absent.
 */
import { assert, assertEquals } from "@std/assert";
import { app } from "../../functions/main.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    console.log(
      `skipping the /docs browser test: ${CHROMIUM} not found (apt-get install chromium)`,
    );
    return false;
  }
})();

/** The DOM chromium holds after rendering `url` (scripts run until idle or 20 s of page time). */
async function renderedDom(url: string): Promise<string> {
  const profile = await Deno.makeTempDir({ dir: "/tmp", prefix: "medimg-docs-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The request-body form rows Swagger UI drew: field name -> its input's kinds. */
function formRows(dom: string): Map<string, string[]> {
  const body = dom.slice(dom.indexOf("opblock-section-request-body"));
  const rows = new Map<string, string[]>();
  for (
    const m of body.matchAll(/<tr class="parameters" data-property-name="([^"]+)">(.*?)<\/tr>/gs)
  ) {
    const kinds = [...m[2].matchAll(/<(input type="(\w+)"|select)/g)].map((k) => k[2] ?? "select");
    rows.set(m[1], kinds);
  }
  return rows;
}

/** The media types offered for the request body, in order. */
function bodyTypes(dom: string): string[] {
  const select = dom.match(/<select aria-label="Request content type"[^>]*>(.*?)<\/select>/s);
  return [...(select?.[1] ?? "").matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
}

Deno.test({
  name: "/docs in chromium: Try-it-out offers each multipart field of slice, volume, mammo, cxr",
  ignore: !hasChromium,
  async fn() {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      const expected: Record<string, [string, Record<string, string>]> = {
        segmentSlice: ["multipart/form-data", {
          image: "file",
          mask: "file",
          fov: "file",
          rle: "text",
          dialect: "select",
        }],
        segmentVolume: ["multipart/form-data", {
          flair: "file",
          t1: "file",
          t1ce: "file",
          t2: "file",
          seg: "file",
        }],
        mammoMask: ["multipart/form-data", { lr_flip: "select" }],
        cxrClassify: ["multipart/form-data", {
          image: "file",
          age: "text",
          sex: "select",
          view: "select",
          spacing: "text",
        }],
      };
      for (const [operation, [first, fields]] of Object.entries(expected)) {
        const dom = await renderedDom(`${base}/docs#/default/${operation}`);
        assert(dom.includes("swagger-ui"), `${operation}: Swagger UI did not render`);
        assertEquals(bodyTypes(dom)[0], first, `${operation}: the form is the first body type`);
        const rows = formRows(dom);
        for (const [field, kind] of Object.entries(fields)) {
          assert(rows.get(field)?.includes(kind), `${operation} ${field}: ${rows.get(field)}`);
        }
        if (operation === "mammoMask") {
          // several masks: an array of files, with a button to add another
          assert(rows.has("mask"), "mammo mask row");
          assert(/Add (string )?item/.test(dom), "mammo masks can be added one by one");
        }
      }
    } finally {
      await server.shutdown();
    }
  },
});
