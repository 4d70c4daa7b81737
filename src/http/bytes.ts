/**
 * The bytes of HTTP/1.1's syntax (RFC 9112), by name, and the token
 * characters (RFC 9110 §5.6.2): what the head scanner, the head parser, the
 * chunked decoder and the response writer read and write.
 * @module
 */

/** Horizontal tab. */
export const HTAB = 9;
/** Line feed. */
export const LF = 10;
/** Carriage return. */
export const CR = 13;
/** Space. */
export const SP = 32;
/** `"` */
export const QUOTE = 34;
/** `:` */
export const COLON = 58;
/** `;` */
export const SEMICOLON = 59;
/** `=` */
export const EQUALS = 61;
/** `\` */
export const BACKSLASH = 92;
/** The last control character. */
export const DEL = 127;

/**
 * tchar as a lookup table by byte: 1 for a token character.
 *
 * @example
 * ```ts
 * import { TCHAR } from "./bytes.ts";
 * TCHAR["a".charCodeAt(0)]; // 1
 * TCHAR[":".charCodeAt(0)]; // 0
 * ```
 */
export const TCHAR: Readonly<Uint8Array> = _tcharTable();

function _tcharTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (const char of "!#$%&'*+-.^_`|~") table[char.charCodeAt(0)] = 1;
  for (let c = 48; c <= 57; c++) table[c] = 1;
  for (let c = 65; c <= 90; c++) table[c] = 1;
  for (let c = 97; c <= 122; c++) table[c] = 1;
  return table;
}
