/** Run by runtime_test.ts in its own process: starts the backend and prints the error, if any. */
import { setupBackend } from "../../lib/models/backend.ts";

try {
  const info = await setupBackend();
  console.log(`started ${info.name}`);
} catch (err) {
  console.log(`${(err as Error).name}: ${(err as Error).message}`);
}
