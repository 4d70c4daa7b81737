/**
 * Path safety (SPEC §3): decodes a request path and refuses traversal before
 * any file-system call. Pure; the file handler adds the real-path check.
 * @module
 */

import { badRequest, HttpError } from "../http/http_error.ts";

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
  let decoded: string;
  try {
    decoded = decoder.decode(bytes.subarray(0, length));
  } catch {
    throw badRequest("Invalid UTF-8 in path");
  }
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.includes("..")) throw _traversal("Dot-dot segment in path");
  return { segments, trailingSlash: decoded.endsWith("/") };
}

function _hexPair(text: string, at: number): number {
  const pair = text.slice(at, at + 2);
  if (!/^[0-9A-Fa-f]{2}$/.test(pair)) throw badRequest("Invalid percent-encoding in path");
  return parseInt(pair, 16);
}

function _traversal(message: string): HttpError {
  return new HttpError(403, message, { reason: "traversal" });
}
