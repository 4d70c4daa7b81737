/**
 * What an operating-system error means for the server, whichever layer met it.
 * @module
 */

/**
 * Whether an operation failed because the process (EMFILE) or the system
 * (ENFILE) has no file descriptor left.
 *
 * @example
 * ```ts
 * import { isOutOfFiles } from "./os_errors.ts";
 * isOutOfFiles(new Error("Too many open files (os error 24)")); // true
 * ```
 */
export function isOutOfFiles(error: unknown): boolean {
  const message = (error as Error)?.message ?? "";
  return /too many open files|os error 2[34]\b/i.test(message);
}
