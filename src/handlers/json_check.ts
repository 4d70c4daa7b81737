/**
 * Validates an uploaded JSON document without trusting it: UTF-8, not empty,
 * nesting depth measured by an iterative scan before the parser ever sees it,
 * so hostile input can neither blow the stack nor exhaust memory.
 * @module
 */

import { HttpError } from "../http/http_error.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * The nesting depth of JSON text (arrays and objects open at once; `[[1]]` is 2),
 * counting only brackets outside strings. Stops early once past `limit`.
 *
 * @example
 * ```ts
 * import { jsonDepth } from "./json_check.ts";
 * jsonDepth(new TextEncoder().encode('[[1], {"a": "]"}]'), 64); // 2
 * ```
 */
export function jsonDepth(bytes: Uint8Array, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === 91 || byte === 123) {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (byte === 93 || byte === 125) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Throws {@linkcode HttpError} 400 unless `bytes` is a non-empty UTF-8 JSON
 * document nested at most `maxDepth` deep.
 *
 * @example
 * ```ts
 * import { validateJson } from "./json_check.ts";
 * validateJson(new TextEncoder().encode('{"hello":"world"}'), 64);
 * ```
 */
export function validateJson(bytes: Uint8Array, maxDepth: number): void {
  if (bytes.length === 0) throw new HttpError(400, "Empty body");
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HttpError(400, "Body is not valid UTF-8");
  }
  if (jsonDepth(bytes, maxDepth) > maxDepth) {
    throw new HttpError(400, `JSON nested deeper than ${maxDepth}`);
  }
  try {
    JSON.parse(text);
  } catch {
    throw new HttpError(400, "Body is not valid JSON");
  }
}
