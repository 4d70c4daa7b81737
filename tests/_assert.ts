/**
 * Assertions for the test suite, on top of `node:assert/strict` (JSR's
 * `@std/assert` cannot be fetched where bastion is built).
 * @module
 */

import assert from "node:assert/strict";

/** Fails unless `condition` is truthy. */
export function assertTrue(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}

/** Fails unless `actual` deeply equals `expected`. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assert.deepStrictEqual(actual, expected, message);
}

/** Fails if `actual` deeply equals `expected`. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  assert.notDeepStrictEqual(actual, expected, message);
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  assert.match(text, pattern, message);
}

/** Fails if `text` matches `pattern`. */
export function assertNotMatch(text: string, pattern: RegExp, message?: string): void {
  assert.doesNotMatch(text, pattern, message);
}

/** Fails unless `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, message?: string): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail(message ?? "Expected the function to throw");
}

/** Fails unless `fn` rejects; resolves to what it rejected with. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  message?: string,
): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail(message ?? "Expected the promise to reject");
}
