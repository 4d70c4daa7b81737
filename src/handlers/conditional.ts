/**
 * Validators and preconditions for files (RFC 9110 §8.8, §13): the strong
 * ETag from size and mtime, and the evaluation order of If-Match,
 * If-Unmodified-Since, If-None-Match and If-Modified-Since.
 * @module
 */

/** What a representation is validated by. */
export interface Validators {
  /** The strong entity tag, quotes included. */
  etag: string;
  /** Modification time in milliseconds (whole seconds matter for HTTP dates). */
  mtimeMs: number;
}

/** The outcome of evaluating preconditions. */
export type Precondition = "proceed" | "not-modified" | "failed";

/**
 * The strong ETag of a file: `"<size hex>-<mtime ms hex>"`, plus `-gz` / `-br`
 * for an encoded representation.
 *
 * @example
 * ```ts
 * import { fileETag } from "./conditional.ts";
 * fileETag(2048, 1_700_000_000_000); // '"800-18bcfe56800"'
 * ```
 */
export function fileETag(size: number, mtimeMs: number, coding: string | null = null): string {
  const suffix = coding === "gzip" ? "-gz" : coding === "br" ? "-br" : "";
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}${suffix}"`;
}

/**
 * Evaluates the conditional headers in RFC 9110 §13.2.2 order for a GET or HEAD.
 *
 * @example
 * ```ts
 * import { evaluatePreconditions } from "./conditional.ts";
 * evaluatePreconditions(
 *   (name) => name === "if-none-match" ? '"1-2"' : undefined,
 *   { etag: '"1-2"', mtimeMs: 2 },
 * ); // "not-modified"
 * ```
 */
export function evaluatePreconditions(
  header: (name: string) => string | undefined,
  validators: Validators,
): Precondition {
  const ifMatch = header("if-match");
  if (ifMatch !== undefined) {
    if (!_matches(ifMatch, validators.etag, true)) return "failed";
  } else {
    const since = _date(header("if-unmodified-since"));
    if (since !== null && _seconds(validators.mtimeMs) > since) return "failed";
  }
  const ifNoneMatch = header("if-none-match");
  if (ifNoneMatch !== undefined) {
    return _matches(ifNoneMatch, validators.etag, false) ? "not-modified" : "proceed";
  }
  const since = _date(header("if-modified-since"));
  if (since !== null && _seconds(validators.mtimeMs) <= since) return "not-modified";
  return "proceed";
}

/**
 * Whether an `If-Range` value lets a range request through: a strong ETag
 * match, or a date equal to Last-Modified (RFC 9110 §13.1.5).
 *
 * @example
 * ```ts
 * import { ifRangeHolds } from "./conditional.ts";
 * ifRangeHolds('"1-2"', { etag: '"1-2"', mtimeMs: 2 }); // true
 * ```
 */
export function ifRangeHolds(value: string | undefined, validators: Validators): boolean {
  if (value === undefined) return true;
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith("W/")) return text === validators.etag;
  const date = _date(text);
  return date !== null && date === _seconds(validators.mtimeMs);
}

/** Compares an entity-tag list (`*`, `"a", W/"b"`) with `etag`, strongly or weakly. */
function _matches(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === "*") return true;
  for (const raw of list.split(",")) {
    const tag = raw.trim();
    if (tag === "") continue;
    const weak = tag.startsWith("W/");
    if (strong && weak) continue;
    if ((weak ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

function _date(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

function _seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
