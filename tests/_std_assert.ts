/**
 * The @std/assert names over node:assert/strict, because JSR (where @std/assert lives) is not
 * reachable from our build machines. Switch the "@std/assert" mapping in deno.json to
 * "jsr:@std/assert@1" where it is; tests need no change.
 */
import assertNode from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assertNode.deepStrictEqual(actual, expected, msg);
}

/** Deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  assertNode.notDeepStrictEqual(actual, expected, msg);
}

/** |actual - expected| <= tolerance (default 1e-7, as @std/assert). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new assertNode.AssertionError({
      message: msg ?? `expected ${actual} to be within ${tolerance} of ${expected}`,
      actual,
      expected,
    });
  }
}

/** Truthy. */
export function assert(expr: unknown, msg?: string): asserts expr {
  assertNode.ok(expr, msg);
}

type ErrorClass = abstract new (...args: never[]) => Error;

function checkError(err: unknown, cls?: ErrorClass, includes?: string): Error {
  if (cls && !(err instanceof cls)) {
    throw new assertNode.AssertionError({
      message: `expected error of class ${cls.name}, got ${String(err)}`,
    });
  }
  if (includes !== undefined && !(err instanceof Error && err.message.includes(includes))) {
    throw new assertNode.AssertionError({
      message: `expected error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify(err instanceof Error ? err.message : String(err))
      }`,
    });
  }
  return err as Error;
}

/** fn throws (optionally an instance of cls whose message includes `includes`); returns the error. */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new assertNode.AssertionError({ message: "expected function to throw" });
}

/** As assertThrows for a function returning a promise. */
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new assertNode.AssertionError({ message: "expected promise to reject" });
}
