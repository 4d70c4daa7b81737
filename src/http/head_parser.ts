/**
 * Parses a complete request head (request line and header fields) into a
 * {@linkcode RequestHead}. A pure function of bytes: it never touches a socket,
 * a clock or a file. The framing and meaning of the fields are `request.ts`'s job.
 * @module
 */

import * as BYTES from "./bytes.ts";
import { badRequest, HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";
import { TextCache } from "./text_cache.ts";

// Aliased as this module's own constants: V8 folds those in hot loops, and not
// imported bindings (measured: a byte scan 1.8 times slower through the import).
const { COLON, CR, DEL, HTAB, SP, TCHAR } = BYTES;

/** A request line and its header fields, syntactically valid. */
export interface RequestHead {
  method: string;
  target: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Field names lowercased, values without surrounding whitespace, in order. */
  fields: [string, string][];
}

/**
 * Parses complete request heads, keeping the short texts clients repeat in
 * its {@linkcode TextCache} (one per server: a cache, not the parser's state).
 *
 * @example
 * ```ts
 * import { HeadParser } from "./head_parser.ts";
 * import { TextCache } from "./text_cache.ts";
 * const parser = new HeadParser(new TextCache());
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * parser.parse(bytes, 0, bytes.length).fields; // [["host", "a"]]
 * ```
 */
export class HeadParser {
  #texts: TextCache;

  constructor(texts: TextCache) {
    this.#texts = texts;
  }

  /**
   * Parses `buf[start, end)`, where `end` is the length the scanner returned
   * (so the head ends with CRLF CRLF). Throws {@linkcode HttpError}: 400 for
   * any syntax error, 505 for a well-formed but unsupported version.
   */
  parse(buf: Uint8Array, start: number, end: number): RequestHead {
    const texts = this.#texts;
    let lineEnd = buf.indexOf(CR, start);
    const { method, target, version } = _parseRequestLine(buf, start, lineEnd, texts);
    const fields: [string, string][] = [];
    const last = end - 2;
    for (let lineStart = lineEnd + 2; lineStart < last; lineStart = lineEnd + 2) {
      lineEnd = buf.indexOf(CR, lineStart);
      fields.push(_parseField(buf, lineStart, lineEnd, texts));
    }
    return { method, target, version, fields };
  }
}

/** A parser that keeps no texts, for one-off heads (tests, tools). */
const ONE_OFF = new HeadParser(new TextCache(0));

/**
 * Parses one head with a parser that keeps no texts; see {@linkcode HeadParser.parse}.
 *
 * @example
 * ```ts
 * import { parseHead } from "./head_parser.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * parseHead(bytes, 0, bytes.length).fields; // [["host", "a"]]
 * ```
 */
export function parseHead(buf: Uint8Array, start: number, end: number): RequestHead {
  return ONE_OFF.parse(buf, start, end);
}

function _parseRequestLine(buf: Uint8Array, start: number, end: number, texts: TextCache) {
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
  const method = texts.text(buf, start, firstSpace, false);
  const target = texts.text(buf, firstSpace + 1, secondSpace, false);
  const version = _parseVersion(texts.text(buf, secondSpace + 1, end, false));
  return { method, target, version };
}

function _parseVersion(text: string): "HTTP/1.1" | "HTTP/1.0" {
  if (text === "HTTP/1.1" || text === "HTTP/1.0") return text;
  if (/^HTTP\/\d\.\d$/.test(text)) {
    throw new HttpError(STATUS_CODE.HTTPVersionNotSupported, "HTTP version not supported", {
      close: true,
    });
  }
  throw badRequest("Malformed HTTP version");
}

function _parseField(
  buf: Uint8Array,
  start: number,
  end: number,
  texts: TextCache,
): [string, string] {
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
  return [texts.text(buf, start, colon, true), texts.text(buf, valueStart, valueEnd, false)];
}
