/**
 * Response descriptions (what handlers return) and the writer that frames them
 * and puts them on the wire: status line, headers, Content-Length or chunked
 * framing, and the body with backpressure from the sink.
 * @module
 */

import * as BYTES from "./bytes.ts";
import { BufferPool } from "./buffer_pool.ts";
import type { HeaderPairs } from "./headers.ts";
import { STATUS_TEXT } from "./status.ts";

// Aliased as this module's own constants: V8 folds those in hot loops, and not
// imported bindings (measured: a byte scan 1.8 times slower through the import).
const { COLON, CR, LF, SP } = BYTES;

/** A body whose bytes come later, e.g. from a file. */
export interface BodyStream {
  /** The exact length, or `null` when unknown (then the body is chunked). */
  length: number | null;
  /** Yields the body's bytes; each piece may be reused after the next one is asked for. */
  chunks(): AsyncIterable<Uint8Array>;
  /** Releases what the stream holds (a file handle), whether read or not. */
  close(): void;
}

/** What a handler answers. */
export interface HttpResponse {
  status: number;
  /**
   * Headers besides framing and the common ones. Read-only: a kept file's
   * pairs are shared by every response for it.
   */
  readonly headers: readonly (readonly [string, string])[];
  body: Uint8Array | BodyStream | null;
}

/**
 * Where the writer sends bytes; `write` resolves once all are accepted, and
 * the writer may then reuse the bytes.
 */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** Options of {@linkcode writeResponse}. */
export interface WriteOptions {
  /** The request was HEAD: send the head GET would get, without a body. */
  head: boolean;
  /** Send `Connection: close`. */
  close: boolean;
  /** The request's version: HTTP/1.0 gets no chunked framing. */
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Headers every response carries that change from one to the next (Date, X-Request-Id). */
  common: readonly (readonly [string, string])[];
  /**
   * Header lines every response carries that never change (Server, the
   * security headers), already encoded, `Name: value\r\n` each: copied, not
   * written out character by character. @default none
   */
  fixed?: Uint8Array;
  /** Lowercase names in `common` or `fixed` that replace a handler's header of the same name. */
  overrides: ReadonlySet<string>;
  /** Body bytes sent so far, kept up to date even if writing fails midway. @default undefined */
  progress?: { body: number };
}

/** A small-body response is sent in one write when head and body fit in this. */
const SINGLE_WRITE_LIMIT = 64 * 1024;
/**
 * Small responses are put together in spare buffers, given back once written.
 * As many are kept as writes can be in flight in one worker under load, at
 * most 4 MiB per worker, held only after such a peak.
 */
const SPARE = new BufferPool(16 * 1024, 256);
const encoder = new TextEncoder();
const CHUNK_END = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/**
 * Writes `response` to `sink` and returns the number of body bytes sent.
 * The response's stream, if any, is always closed.
 *
 * @example
 * ```ts
 * import { writeResponse } from "./response.ts";
 * const sink = { write: (_bytes: Uint8Array) => Promise.resolve() };
 * const body = new TextEncoder().encode("hi");
 * await writeResponse(sink, { status: 200, headers: [], body }, {
 *   head: false, close: false, version: "HTTP/1.1", common: [], overrides: new Set(),
 * }); // 2
 * ```
 */
export async function writeResponse(
  sink: ByteSink,
  response: HttpResponse,
  options: WriteOptions,
): Promise<number> {
  const { status, body } = response;
  try {
    const bodiless = status < 200 || status === 204 || status === 304;
    const length = body === null ? 0 : body instanceof Uint8Array ? body.length : body.length;
    const chunked = !bodiless && length === null && !options.head && options.version === "HTTP/1.1";
    const close = options.close || (!bodiless && length === null && !chunked && !options.head);
    const framing: HeaderPairs = !bodiless && length !== null
      ? [["Content-Length", String(length)]]
      : chunked
      ? CHUNKED_FRAMING
      : NO_FRAMING;
    const head: HeadParts = { status, headers: response.headers, framing, close };
    if (bodiless || options.head || body === null) {
      await sink.write(_headWithRoom(head, options, null).bytes);
      return 0;
    }
    if (body instanceof Uint8Array) {
      // Written here, not in a helper: one suspended call less per small response.
      const small = _headWithRoom(head, options, body);
      try {
        await sink.write(small.bytes);
        if (small.body !== null) await sink.write(small.body);
      } finally {
        SPARE.give(small.bytes);
      }
      if (options.progress) options.progress.body = body.length;
      return body.length;
    }
    await sink.write(_headWithRoom(head, options, null).bytes);
    return await _writeStream(sink, body, chunked, options.progress ?? { body: 0 });
  } finally {
    if (body !== null && !(body instanceof Uint8Array)) body.close();
  }
}

/** Framing headers that are the same on every response that has them (never changed). */
const CHUNKED_FRAMING: HeaderPairs = [["Transfer-Encoding", "chunked"]];
const NO_FRAMING: HeaderPairs = [];

/** What a response head is made of, besides what {@linkcode WriteOptions} adds to every one. */
export interface HeadParts {
  status: number;
  /** The handler's headers. */
  headers: readonly (readonly [string, string])[];
  /** Content-Length or Transfer-Encoding, when the head has them. */
  framing: readonly (readonly [string, string])[];
  /** Whether it says `Connection: close`. */
  close: boolean;
}

/**
 * The status line and header section of a response, as bytes.
 *
 * @example
 * ```ts
 * import { serializeHead } from "./response.ts";
 * serializeHead(
 *   { status: 204, headers: [], framing: [] },
 *   { close: false, version: "HTTP/1.1", common: [], overrides: new Set() },
 * );
 * ```
 */
export function serializeHead(
  head: Omit<HeadParts, "close">,
  options: Omit<WriteOptions, "head">,
): Uint8Array {
  return _headWithRoom({ ...head, close: options.close }, options, null).bytes;
}

/** A head, and a small body after it in the same buffer unless it is too large. */
interface HeadBytes {
  bytes: Uint8Array;
  /** The body, when it did not fit. */
  body: Uint8Array | null;
}

/**
 * Writes the head's text straight into one buffer as ASCII, with `body` after
 * it when both fit in {@linkcode SINGLE_WRITE_LIMIT}: no string is built, no list of lines,
 * no second copy. Header lines go in this order: the fixed ones, the common
 * ones, the handler's, framing, Connection. A non-ASCII character (which no
 * header we write has) falls back to UTF-8 through the encoder. With a `body`,
 * the buffer comes from the spare ones, to be given back once written.
 */
function _headWithRoom(
  head: HeadParts,
  options: Omit<WriteOptions, "head">,
  body: Uint8Array | null,
): HeadBytes {
  const { status, headers, framing, close } = head;
  const pool = body === null ? null : SPARE;
  const statusLine = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}`;
  const { overrides, common } = options;
  const own = overrides.size === 0
    ? headers
    : headers.filter(([name]) => !overrides.has(name.toLowerCase()));
  const connection = close ? "close" : options.version === "HTTP/1.0" ? "keep-alive" : null;
  const fixed = options.fixed ?? NO_LINES;
  // The status line and its CRLF, the fixed lines, the other lines, the final CRLF.
  let length = statusLine.length + 4 + fixed.length + _linesLength(common) +
    _linesLength(own) + _linesLength(framing);
  if (connection !== null) length += CONNECTION.length + connection.length + 4;
  const room = body !== null && length + body.length <= SINGLE_WRITE_LIMIT ? body.length : 0;
  const bytes = pool === null ? new Uint8Array(length + room) : pool.take(length + room);
  let at = _ascii(bytes, 0, statusLine);
  bytes[at++] = CR;
  bytes[at++] = LF;
  bytes.set(fixed, at);
  at += fixed.length;
  at = _asciiLines(bytes, _asciiLines(bytes, _asciiLines(bytes, at, common), own), framing);
  if (connection !== null) at = _asciiLine(bytes, at, CONNECTION, connection);
  if (at < 0) {
    if (pool !== null) pool.give(bytes);
    const lines = [...common, ...own, ...framing];
    if (connection !== null) lines.push([CONNECTION, connection]);
    return { bytes: _utf8Head(statusLine, lines, fixed), body };
  }
  bytes[at++] = CR;
  bytes[at++] = LF;
  if (room === 0) return { bytes, body };
  bytes.set(body!, at);
  return { bytes, body: null };
}

const CONNECTION = "Connection";

/** The bytes of `Name: value\r\n` lines, when ASCII. */
function _linesLength(lines: readonly (readonly [string, string])[]): number {
  let length = 0;
  // Indexed, not destructured in `for...of`, which allocates on this hot path.
  for (let i = 0; i < lines.length; i++) length += lines[i][0].length + lines[i][1].length + 4;
  return length;
}

/** Writes `lines` at `at` when all ASCII: the offset after them, else -1 (also when `at` is). */
function _asciiLines(
  bytes: Uint8Array,
  at: number,
  lines: readonly (readonly [string, string])[],
): number {
  for (let i = 0; i < lines.length && at >= 0; i++) {
    at = _asciiLine(bytes, at, lines[i][0], lines[i][1]);
  }
  return at;
}

/** Writes `name: value\r\n` at `at` when all ASCII: the offset after it, else -1. */
function _asciiLine(bytes: Uint8Array, at: number, name: string, value: string): number {
  if (at < 0 || (at = _ascii(bytes, at, name)) < 0) return -1;
  bytes[at++] = COLON;
  bytes[at++] = SP;
  if ((at = _ascii(bytes, at, value)) < 0) return -1;
  bytes[at++] = CR;
  bytes[at++] = LF;
  return at;
}

/** Writes `text` at `at` when it is all ASCII: the offset after it, else -1. */
function _ascii(bytes: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 127) return -1;
    bytes[at++] = code;
  }
  return at;
}

function _utf8Head(
  statusLine: string,
  lines: readonly (readonly [string, string])[],
  fixed: Uint8Array,
): Uint8Array {
  let text = "";
  for (const [name, value] of lines) text += `${name}: ${value}\r\n`;
  const status = encoder.encode(`${statusLine}\r\n`);
  const rest = encoder.encode(text + "\r\n");
  const bytes = new Uint8Array(status.length + fixed.length + rest.length);
  bytes.set(status);
  bytes.set(fixed, status.length);
  bytes.set(rest, status.length + fixed.length);
  return bytes;
}

const NO_LINES = new Uint8Array(0);

async function _writeStream(
  sink: ByteSink,
  body: BodyStream,
  chunked: boolean,
  progress: { body: number },
): Promise<number> {
  for await (const piece of body.chunks()) {
    if (piece.length === 0) continue;
    if (chunked) await sink.write(encoder.encode(`${piece.length.toString(16)}\r\n`));
    await sink.write(piece);
    if (chunked) await sink.write(CHUNK_END);
    progress.body += piece.length;
  }
  if (chunked) await sink.write(LAST_CHUNK);
  return progress.body;
}
