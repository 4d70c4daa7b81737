/**
 * A request head from the connection's read buffer: found by the scanner as
 * bytes arrive (under the header timeout once a head has begun; empty lines
 * before it start none), then parsed and consumed.
 * @module
 */

import type { HeadParser, RequestHead } from "../http/head_parser.ts";
import { type HeadLimits, HeadScanner } from "../http/head_scanner.ts";
import type { PhaseClock } from "./phase_clock.ts";
import type { SocketReader } from "./socket_reader.ts";

/** Whether buffered bytes hold more than empty lines: the start of a request head. */
function _startsHead(buffered: Uint8Array): boolean {
  for (const byte of buffered) if (byte !== 13 && byte !== 10) return true;
  return false;
}

/** How heads are found and parsed: the scanner's limits, and the server's parser. */
export interface HeadRules {
  limits: HeadLimits;
  parser: HeadParser;
}

/**
 * Finds, parses and consumes one head at a time.
 *
 * @example
 * ```ts
 * import { HeadReader } from "./head_reader.ts";
 * import { HeadParser } from "../http/head_parser.ts";
 * import { TextCache } from "../http/text_cache.ts";
 * import { PhaseClock } from "./phase_clock.ts";
 * import { SocketReader } from "./socket_reader.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * let sent = false;
 * const reader = new SocketReader({
 *   read: (buffer) => Promise.resolve(sent ? null : (sent = true, buffer.set(bytes), bytes.length)),
 * });
 * const clock = new PhaseClock({
 *   headerTimeoutMs: 10_000, idleTimeoutMs: 5_000, bodyTimeoutMs: 10_000, sendTimeoutMs: 10_000,
 * });
 * const heads = new HeadReader(reader, clock, {
 *   limits: { maxHead: 8192, maxUri: 4096, maxHeaders: 100 },
 *   parser: new HeadParser(new TextCache()),
 * });
 * const end = await heads.read(true);
 * heads.parse(end).method; // "GET"
 * ```
 */
export class HeadReader {
  #reader: SocketReader;
  #clock: PhaseClock;
  #scanner: HeadScanner;
  #parser: HeadParser;

  constructor(reader: SocketReader, clock: PhaseClock, heads: HeadRules) {
    this.#reader = reader;
    this.#clock = clock;
    this.#scanner = new HeadScanner(heads.limits);
    this.#parser = heads.parser;
  }

  /**
   * Where a complete head already buffered ends; -1 for any other case, a
   * malformed head included ({@linkcode read} then reports it).
   */
  buffered(): number {
    if (this.#reader.length === 0) return -1;
    this.#scanner.reset();
    let end: number;
    try {
      end = this.#scanner.scan(this.#reader.buffered(), this.#reader.length);
    } catch {
      return -1;
    }
    if (end >= 0) this.#clock.arm("head");
    return end;
  }

  /**
   * Reads until a complete head is buffered and returns where it ends; -1
   * when the client closed or the connection is over. `first`: no request
   * came before on this connection (the wait before a head is then
   * `--header-timeout`, else `--idle-timeout`). Throws the scanner's
   * {@linkcode HttpError} for a malformed or oversized head.
   */
  async read(first: boolean): Promise<number> {
    const reader = this.#reader;
    const clock = this.#clock;
    this.#scanner.reset();
    clock.arm(_startsHead(reader.buffered()) ? "head" : first ? "fresh" : "idle");
    for (;;) {
      const end = this.#scanner.scan(reader.buffered(), reader.length);
      if (end >= 0) return end;
      if (!(await reader.fill()) || clock.over) return -1;
      if (clock.phase !== "head" && _startsHead(reader.buffered())) clock.arm("head");
    }
  }

  /** Parses the head ending at `end`, and consumes it whether it parses or not. */
  parse(end: number): RequestHead {
    try {
      return this.#parser.parse(this.#reader.buffered(), this.#scanner.headStart, end);
    } finally {
      this.#reader.consume(end);
    }
  }
}
