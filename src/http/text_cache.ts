/**
 * Short texts of request heads (methods, targets, field names and values),
 * kept by a hash of their bytes: a client repeats most of them on every
 * request, and a kept text is compared, not built again (each character added
 * is a new string). A slot holds the last text that hashed to it; the table
 * never grows. One per server, given to its {@linkcode HeadParser}.
 * @module
 */

/** Texts longer than this are built every time. */
const MAX_KEPT_TEXT = 64;
/** Up to this many bytes, building a string a character at a time beats `fromCharCode.apply`. */
const SHORT_TEXT = 16;

/**
 * A fixed table of kept texts.
 *
 * @example
 * ```ts
 * import { TextCache } from "./text_cache.ts";
 * const texts = new TextCache();
 * const bytes = new TextEncoder().encode("Host");
 * texts.text(bytes, 0, 4, true) === texts.text(bytes, 0, 4, true); // true: "host", kept
 * ```
 */
export class TextCache {
  #kept: string[];
  #mask: number;

  /** `slots`: a power of two, or 0 to keep nothing. @default 1024 */
  constructor(slots = 1024) {
    this.#kept = new Array(slots).fill("");
    this.#mask = slots - 1;
  }

  /** `buf[start, end)` as Latin-1 text (`lower`: A–Z lowercased), kept when short. */
  text(buf: Uint8Array, start: number, end: number, lower: boolean): string {
    const length = end - start;
    if (length > MAX_KEPT_TEXT || this.#mask < 0) return _build(buf, start, end, lower);
    let hash = length;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + _fold(buf[i], lower)) | 0;
    const slot = (hash ^ (hash >>> 12)) & this.#mask;
    const kept = this.#kept[slot];
    if (kept.length === length && _same(kept, buf, start, lower)) return kept;
    return this.#kept[slot] = _build(buf, start, end, lower);
  }
}

/** `byte`, lowercased if `lower` and it is A–Z. */
function _fold(byte: number, lower: boolean): number {
  return lower && byte >= 65 && byte <= 90 ? byte + 32 : byte;
}

/** `buf[start, end)` as a new Latin-1 text, A–Z lowercased if `lower`. */
function _build(buf: Uint8Array, start: number, end: number, lower: boolean): string {
  return lower ? _lowerName(buf, start, end) : _latin1(buf, start, end);
}

/** Whether `text` is the bytes at `start` (its length of them), A–Z lowercased if `lower`. */
function _same(text: string, buf: Uint8Array, start: number, lower: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== _fold(buf[start + i], lower)) return false;
  }
  return true;
}

/** A field name (token characters only, checked) in lowercase, without a second string. */
function _lowerName(buf: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(_fold(buf[i], true));
  return text;
}

/** Bytes as Latin-1 text: short runs one character at a time (faster there), long ones in blocks. */
function _latin1(buf: Uint8Array, start: number, end: number): string {
  let text = "";
  if (end - start <= SHORT_TEXT) {
    for (let i = start; i < end; i++) text += String.fromCharCode(buf[i]);
    return text;
  }
  for (let i = start; i < end; i += 4096) {
    text += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return text;
}
