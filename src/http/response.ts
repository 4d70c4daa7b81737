/**
 * Response descriptions (what handlers return) and the writer that frames them
 * and puts them on the wire: status line, headers, Content-Length or chunked
 * framing, and the body with backpressure from the sink.
 * @module
 */

import { BufferPool } from "./buffer_pool.ts";
import { STATUS_TEXT } from "./status.ts";

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
  /** Headers besides framing and the common ones. */
  headers: [string, string][];
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
 * As many are kept as writes can be in flight in one worker under load: with
 * 32, half the takes at 256 connections found none spare and allocated (a
 * zeroed 16 KiB each, 5.5% of a worker's time in a `--cpu-prof` profile).
 * At most 4 MiB per worker, held only after such a peak.
 */
const SPARE_BUFFERS = new BufferPool(16 * 1024, 256);
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
    const framing: [string, string][] = [];
    if (!bodiless && length !== null) framing.push(["Content-Length", String(length)]);
    if (chunked) framing.push(["Transfer-Encoding", "chunked"]);
    const headOptions = { ...options, close };
    if (bodiless || options.head || body === null) {
      await sink.write(serializeHead(status, response.headers, framing, headOptions));
      return 0;
    }
    if (body instanceof Uint8Array) {
      await _writeSmall(
        sink,
        _headWithRoom(status, response.headers, framing, headOptions, body, SPARE_BUFFERS),
      );
      if (options.progress) options.progress.body = body.length;
      return body.length;
    }
    const head = serializeHead(status, response.headers, framing, headOptions);
    await sink.write(head);
    return await _writeStream(sink, body, chunked, options.progress ?? { body: 0 });
  } finally {
    if (body !== null && !(body instanceof Uint8Array)) body.close();
  }
}

/**
 * The status line and header section of a response, as bytes.
 *
 * @example
 * ```ts
 * import { serializeHead } from "./response.ts";
 * serializeHead(204, [], [], { close: false, version: "HTTP/1.1", common: [], overrides: new Set() });
 * ```
 */
export function serializeHead(
  status: number,
  headers: [string, string][],
  framing: [string, string][],
  options: Omit<WriteOptions, "head">,
): Uint8Array {
  return _headWithRoom(status, headers, framing, options, null, null).bytes;
}

/** A head, and a small body after it in the same buffer unless it is too large. */
interface HeadBytes {
  bytes: Uint8Array;
  /** The body, when it did not fit. */
  body: Uint8Array | null;
}

/**
 * Writes the head's text straight into one buffer as ASCII, with the body
 * after it when both fit in {@linkcode SINGLE_WRITE_LIMIT}: no string is built
 * and no second copy made. A non-ASCII character (which no header we write
 * has) falls back to UTF-8 through the encoder. With a `pool`, the buffer
 * comes from it, to be given back once written.
 */
function _headWithRoom(
  status: number,
  headers: [string, string][],
  framing: [string, string][],
  options: Omit<WriteOptions, "head">,
  body: Uint8Array | null,
  pool: BufferPool | null,
): HeadBytes {
  const lines: string[] = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}`];
  for (const [name, value] of options.common) lines.push(name, value);
  const { overrides } = options;
  for (const [name, value] of headers) {
    if (overrides.size === 0 || !overrides.has(name.toLowerCase())) lines.push(name, value);
  }
  for (const [name, value] of framing) lines.push(name, value);
  if (options.close) lines.push("Connection", "close");
  else if (options.version === "HTTP/1.0") lines.push("Connection", "keep-alive");
  const fixed = options.fixed ?? NO_LINES;
  // The status line, the fixed lines, then name and value pairs: ": " and CRLF each, and the final CRLF.
  let length = lines[0].length + 4 + fixed.length;
  for (let i = 1; i < lines.length; i += 2) length += lines[i].length + lines[i + 1].length + 4;
  const room = body !== null && length + body.length <= SINGLE_WRITE_LIMIT ? body.length : 0;
  const bytes = pool === null ? new Uint8Array(length + room) : pool.take(length + room);
  let at = _ascii(bytes, 0, lines[0]);
  bytes[at++] = CR;
  bytes[at++] = LF;
  bytes.set(fixed, at);
  at += fixed.length;
  for (let i = 1; i < lines.length; i += 2) {
    at = _ascii(bytes, at, lines[i]);
    if (at < 0) break;
    bytes[at++] = COLON;
    bytes[at++] = SP;
    at = _ascii(bytes, at, lines[i + 1]);
    if (at < 0) break;
    bytes[at++] = CR;
    bytes[at++] = LF;
  }
  if (at < 0) {
    if (pool !== null) pool.give(bytes);
    return { bytes: _utf8Head(lines, fixed), body };
  }
  bytes[at++] = CR;
  bytes[at++] = LF;
  if (room === 0) return { bytes, body };
  bytes.set(body!, at);
  return { bytes, body: null };
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

function _utf8Head(lines: string[], fixed: Uint8Array): Uint8Array {
  let text = "";
  for (let i = 1; i < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
  const status = encoder.encode(`${lines[0]}\r\n`);
  const rest = encoder.encode(text + "\r\n");
  const bytes = new Uint8Array(status.length + fixed.length + rest.length);
  bytes.set(status);
  bytes.set(fixed, status.length);
  bytes.set(rest, status.length + fixed.length);
  return bytes;
}

const NO_LINES = new Uint8Array(0);
const CR = 13;
const LF = 10;
const COLON = 58;
const SP = 32;

async function _writeSmall(sink: ByteSink, head: HeadBytes): Promise<void> {
  try {
    await sink.write(head.bytes);
    if (head.body !== null) await sink.write(head.body);
  } finally {
    SPARE_BUFFERS.give(head.bytes);
  }
}

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
