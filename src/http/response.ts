/**
 * Response descriptions (what handlers return) and the writer that frames them
 * and puts them on the wire: status line, headers, Content-Length or chunked
 * framing, and the body with backpressure from the sink.
 * @module
 */

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

/** Where the writer sends bytes; `write` resolves once all are accepted. */
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
  /** Headers every response carries (Date, Server, security headers…). */
  common: readonly (readonly [string, string])[];
  /** Lowercase names in `common` that replace a handler's header of the same name. */
  overrides: ReadonlySet<string>;
  /** Body bytes sent so far, kept up to date even if writing fails midway. @default undefined */
  progress?: { body: number };
}

/** A small-body response is sent in one write when head and body fit in this. */
const SINGLE_WRITE_LIMIT = 64 * 1024;
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
    const head = serializeHead(status, response.headers, framing, { ...options, close });
    if (bodiless || options.head || body === null) {
      await sink.write(head);
      return 0;
    }
    if (body instanceof Uint8Array) {
      await _writeSmall(sink, head, body);
      if (options.progress) options.progress.body = body.length;
      return body.length;
    }
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
  let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
  for (const [name, value] of options.common) text += `${name}: ${value}\r\n`;
  for (const [name, value] of headers) {
    if (!options.overrides.has(name.toLowerCase())) text += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of framing) text += `${name}: ${value}\r\n`;
  if (options.close) text += "Connection: close\r\n";
  else if (options.version === "HTTP/1.0") text += "Connection: keep-alive\r\n";
  return encoder.encode(text + "\r\n");
}

async function _writeSmall(sink: ByteSink, head: Uint8Array, body: Uint8Array): Promise<void> {
  if (head.length + body.length > SINGLE_WRITE_LIMIT) {
    await sink.write(head);
    await sink.write(body);
    return;
  }
  const message = new Uint8Array(head.length + body.length);
  message.set(head);
  message.set(body, head.length);
  await sink.write(message);
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
