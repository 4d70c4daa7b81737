/**
 * Parses a complete request head (request line and header fields) into a
 * {@linkcode RequestHead}. A pure function of bytes: it never touches a socket,
 * a clock or a file. The framing and meaning of the fields are `request.ts`'s job.
 * @module
 */

import { badRequest, HttpError } from "./http_error.ts";

/** A request line and its header fields, syntactically valid. */
export interface RequestHead {
  method: string;
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Field names lowercased, values without surrounding whitespace, in order. */
  fields: [string, string][];
}

const CR = 13;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const DEL = 127;

/** tchar (RFC 9110 §5.6.2) as a lookup table by byte: 1 for a token character. */
export const TCHAR: Readonly<Uint8Array> = _tcharTable();

/**
 * Parses `buf[start, end)`, where `end` is the length the scanner returned
 * (so the head ends with CRLF CRLF). Throws {@linkcode HttpError}: 400 for
 * any syntax error, 505 for a well-formed but unsupported version.
 *
 * @example
 * ```ts
 * import { parseHead } from "./head_parser.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * parseHead(bytes, 0, bytes.length).fields; // [["host", "a"]]
 * ```
 */
export function parseHead(buf: Uint8Array, start: number, end: number): RequestHead {
  let lineEnd = buf.indexOf(CR, start);
  const { method, target, version } = _parseRequestLine(buf, start, lineEnd);
  const fields: [string, string][] = [];
  const last = end - 2;
  for (let lineStart = lineEnd + 2; lineStart < last; lineStart = lineEnd + 2) {
    lineEnd = buf.indexOf(CR, lineStart);
    fields.push(_parseField(buf, lineStart, lineEnd));
  }
  return { method, target, version, fields };
}

/** Up to this many bytes, building a string a character at a time beats `fromCharCode.apply`. */
const SHORT_TEXT = 16;

function _parseRequestLine(buf: Uint8Array, start: number, end: number) {
  const firstSpace = buf.indexOf(SP, start);
  const secondSpace = firstSpace < 0 ? -1 : buf.indexOf(SP, firstSpace + 1);
  if (firstSpace < 0 || secondSpace < 0 || secondSpace >= end) {
    throw badRequest("Malformed request line");
  }
  if (firstSpace === start) throw badRequest("Malformed request line");
  for (let i = start; i < firstSpace; i++) {
    const byte = buf[i];
    if (byte >= 128 || TCHAR[byte] === 0) throw badRequest("Invalid method token");
  }
  if (secondSpace === firstSpace + 1) throw badRequest("Malformed request line");
  for (let i = firstSpace + 1; i < secondSpace; i++) {
    const byte = buf[i];
    if (byte <= SP || byte >= DEL) throw badRequest("Invalid character in request-target");
  }
  const method = _text(buf, start, firstSpace, false);
  const target = _text(buf, firstSpace + 1, secondSpace, false);
  const version = _parseVersion(_text(buf, secondSpace + 1, end, false));
  return { method, target, version };
}

function _parseVersion(text: string): "HTTP/1.1" | "HTTP/1.0" {
  if (text === "HTTP/1.1" || text === "HTTP/1.0") return text;
  if (/^HTTP\/\d\.\d$/.test(text)) {
    throw new HttpError(505, "HTTP version not supported", { close: true });
  }
  throw badRequest("Malformed HTTP version");
}

function _parseField(buf: Uint8Array, start: number, end: number): [string, string] {
  if (buf[start] === SP || buf[start] === HTAB) throw badRequest("Obsolete line folding");
  let colon = start;
  while (colon < end && buf[colon] !== COLON) {
    const byte = buf[colon];
    if (byte >= 128 || TCHAR[byte] === 0) {
      throw badRequest(
        byte === SP || byte === HTAB ? "Whitespace before colon" : "Invalid header name",
      );
    }
    colon++;
  }
  if (colon === start || colon === end) throw badRequest("Invalid header field");
  let valueStart = colon + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && (buf[valueStart] === SP || buf[valueStart] === HTAB)) {
    valueStart++;
  }
  while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) {
    valueEnd--;
  }
  for (let i = valueStart; i < valueEnd; i++) {
    const byte = buf[i];
    if ((byte < SP && byte !== HTAB) || byte === DEL) {
      throw badRequest("Control character in header value");
    }
  }
  return [_text(buf, start, colon, true), _text(buf, valueStart, valueEnd, false)];
}

/**
 * Short texts of heads (methods, targets, field names and values), kept by a
 * hash of their bytes: a client repeats most of them on every request, and a
 * kept text is compared, not built again (each character added is a new
 * string). A slot holds the last text that hashed to it; the table never grows.
 */
const KEPT_TEXTS: string[] = new Array(1024).fill("");
const KEPT_SLOTS = 1023;
const MAX_KEPT_TEXT = 64;

/** `buf[start, end)` as Latin-1 text (`lower`: A–Z lowercased), from {@linkcode KEPT_TEXTS} when there. */
function _text(buf: Uint8Array, start: number, end: number, lower: boolean): string {
  const length = end - start;
  if (length > MAX_KEPT_TEXT) return _build(buf, start, end, lower);
  let hash = length;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + _fold(buf[i], lower)) | 0;
  const slot = (hash ^ (hash >>> 12)) & KEPT_SLOTS;
  const kept = KEPT_TEXTS[slot];
  if (kept.length === length && _same(kept, buf, start, lower)) return kept;
  return KEPT_TEXTS[slot] = _build(buf, start, end, lower);
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

function _tcharTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (const char of "!#$%&'*+-.^_`|~") table[char.charCodeAt(0)] = 1;
  for (let c = 48; c <= 57; c++) table[c] = 1;
  for (let c = 65; c <= 90; c++) table[c] = 1;
  for (let c = 97; c <= 122; c++) table[c] = 1;
  return table;
}
