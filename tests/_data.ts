/**
 * Real data lives in ../shared/data beside the checkout and is never copied into the project.
 * Tests that need it are ignored, with the reason printed, where it is absent (a user's fresh clone).
 */
const ROOT = new URL("../../shared/data/", import.meta.url);

/** Absolute path of a file under ../shared/data, or undefined (with the reason printed) if absent. */
export function dataFile(rel: string): string | undefined {
  const url = new URL(rel, ROOT);
  try {
    Deno.statSync(url);
    return url.pathname;
  } catch {
    console.log(`skipping tests that need ../shared/data/${rel}: not found`);
    return undefined;
  }
}

/** Reads a gzip file whole as text. */
export async function readGzipText(path: string): Promise<string> {
  const stream = (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
