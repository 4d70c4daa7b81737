/**
 * Path safety (`docs/security.md`), every check of ours on a file path in one module:
 * decoding a request path and refusing traversal before any file-system call,
 * hidden (dot) segments, and whether a real path stays inside the web root.
 * The permission sandbox is the independent second layer (tests/sandbox_test.ts
 * swaps this module for one without checks to show that layer on its own).
 * @module
 */

import { sep } from "node:path";
import { badRequest, HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";

/** A decoded, traversal-free request path. */
export interface SafePath {
  /** The non-empty segments, percent-decoded. */
  segments: string[];
  /** The path ended with `/`. */
  trailingSlash: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes `rawPath` (percent-encoded, starting with `/`). Throws 403 (reason
 * `traversal`) for `..` segments, encoded slashes or backslashes and raw
 * backslashes; 400 for NUL or control characters, bad escapes or bad UTF-8.
 *
 * @example
 * ```ts
 * import { decodePath } from "./path_safety.ts";
 * decodePath("/docs/caf%C3%A9.html").segments; // ["docs", "café.html"]
 * ```
 */
export function decodePath(rawPath: string): SafePath {
  if (rawPath.includes("\\")) throw _traversal("Backslash in path");
  const decoded = rawPath.includes("%") ? _percentDecoded(rawPath) : _checkedAscii(rawPath);
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.includes("..")) throw _traversal("Dot-dot segment in path");
  return { segments, trailingSlash: decoded.endsWith("/") };
}

/** A path without escapes, once every character is known to be printable ASCII. */
function _checkedAscii(rawPath: string): string {
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code > 126) throw badRequest("Non-ASCII character in path");
    if (code < 32) throw badRequest("Control character in path");
  }
  return rawPath;
}

/** Percent-decodes a path to UTF-8 text, refusing encoded slashes and control bytes. */
function _percentDecoded(rawPath: string): string {
  const bytes = new Uint8Array(rawPath.length);
  let length = 0;
  for (let i = 0; i < rawPath.length; i++) {
    let byte = rawPath.charCodeAt(i);
    if (byte > 126) throw badRequest("Non-ASCII character in path");
    if (byte === 37) {
      byte = _hexPair(rawPath, i + 1);
      if (byte === 47 || byte === 92) throw _traversal("Encoded slash in path");
      i += 2;
    }
    if (byte < 32 || byte === 127) throw badRequest("Control character in path");
    bytes[length++] = byte;
  }
  try {
    return decoder.decode(bytes.subarray(0, length));
  } catch {
    throw badRequest("Invalid UTF-8 in path");
  }
}

/**
 * Whether a path names a hidden entry: a segment that starts with `.` (dotfiles,
 * `.` and `..`). Such paths are answered 404, as if absent.
 *
 * @example
 * ```ts
 * import { isHidden } from "./path_safety.ts";
 * isHidden(["docs", ".git", "config"]); // true
 * ```
 */
export function isHidden(segments: readonly string[]): boolean {
  return segments.some((segment) => segment.startsWith("."));
}

/**
 * Whether `real`, a path with every symlink resolved, is `root` (itself a real
 * path) or inside it. A symlink that leads out of the web root fails this.
 *
 * @example
 * ```ts
 * import { insideRoot } from "./path_safety.ts";
 * insideRoot("/srv/www", "/srv/www/a.html"); // true
 * insideRoot("/srv/www", "/srv/www-old/a.html"); // false
 * ```
 */
export function insideRoot(root: string, real: string): boolean {
  return real === root || real.startsWith(root + sep);
}

function _hexPair(text: string, at: number): number {
  const pair = text.slice(at, at + 2);
  if (!/^[0-9A-Fa-f]{2}$/.test(pair)) throw badRequest("Invalid percent-encoding in path");
  return parseInt(pair, 16);
}

function _traversal(message: string): HttpError {
  return new HttpError(STATUS_CODE.Forbidden, message, { reason: "traversal" });
}
