/**
 * Reads a request body framed by Content-Length or chunked encoding from a
 * buffered byte source, never past the body's end (so pipelined requests stay
 * in the buffer) and never beyond the body limit.
 * @module
 */

import { ChunkedDecoder } from "./chunked_decoder.ts";
import { HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";
import type { BodyFraming } from "./request.ts";

/** Buffered bytes from a connection. */
export interface ByteSource {
  /** The unconsumed buffered bytes (a view, valid until the next call). */
  buffered(): Uint8Array;
  /** Marks `n` buffered bytes as used. */
  consume(n: number): void;
  /** Reads more bytes into the buffer; `false` at end of stream. */
  fill(): Promise<boolean>;
}

/** Limits of {@linkcode BodyReader}. */
export interface BodyLimits {
  maxBody: number;
  maxTrailer: number;
  maxTrailerFields: number;
}

/**
 * A request body as a sequence of byte views.
 *
 * @example
 * ```ts
 * import { BodyReader } from "./body_reader.ts";
 * const bytes = new TextEncoder().encode("hello");
 * let offset = 0;
 * const source = {
 *   buffered: () => bytes.subarray(offset),
 *   consume: (n: number) => void (offset += n),
 *   fill: () => Promise.resolve(false),
 * };
 * const reader = new BodyReader(source, { kind: "length", length: 5 }, {
 *   maxBody: 1024, maxTrailer: 1024, maxTrailerFields: 10,
 * });
 * await reader.readAll(); // Uint8Array "hello"
 * ```
 */
export class BodyReader {
  #source: ByteSource;
  #remaining: number;
  #decoder: ChunkedDecoder | null;
  #finished: boolean;
  #maxBody: number;

  constructor(source: ByteSource, framing: BodyFraming, limits: BodyLimits) {
    this.#source = source;
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder(limits) : null;
    this.#finished = framing.kind === "none";
    this.#maxBody = limits.maxBody;
    if (framing.kind === "length" && framing.length > limits.maxBody) {
      throw new HttpError(STATUS_CODE.ContentTooLarge, "Request body too large", {
        close: true,
        reason: "limit",
      });
    }
  }

  /** Whether every byte of the body has been read. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Whether any body bytes may still be unread on the wire. */
  get pending(): boolean {
    return !this.#finished;
  }

  /**
   * The next piece of the body (a view valid until the next call), or `null`
   * at its end. Throws 400 when the stream ends early or the framing is bad.
   */
  async next(): Promise<Uint8Array | null> {
    while (!this.#finished) {
      const piece = this.#decoder ? this.#nextChunked() : this.#nextLength();
      if (piece !== null && piece.length > 0) return piece;
      if (this.#finished) break;
      if (!(await this.#source.fill())) {
        // A client that goes away mid-body is not an attack signature: no reason, no strike.
        throw new HttpError(STATUS_CODE.BadRequest, "Request body ended early", { close: true });
      }
    }
    return null;
  }

  /** The whole body in one new array (at most the body limit). */
  async readAll(): Promise<Uint8Array> {
    // One buffer, grown by doubling: many tiny pieces (a byte per packet) cost
    // no more memory than one large one.
    let body = new Uint8Array(Math.min(this.#remaining || 4096, this.#maxBody) || 1);
    let size = 0;
    for (let piece = await this.next(); piece !== null; piece = await this.next()) {
      if (size + piece.length > body.length) {
        const grown = new Uint8Array(Math.max(size + piece.length, body.length * 2));
        grown.set(body.subarray(0, size));
        body = grown;
      }
      body.set(piece, size);
      size += piece.length;
    }
    return body.subarray(0, size);
  }

  /** Reads and drops the rest of the body. */
  async discard(): Promise<void> {
    while ((await this.next()) !== null) { /* dropped */ }
  }

  #nextLength(): Uint8Array | null {
    const buffered = this.#source.buffered();
    if (buffered.length === 0) return null;
    const take = Math.min(buffered.length, this.#remaining);
    const piece = buffered.subarray(0, take);
    this.#source.consume(take);
    this.#remaining -= take;
    if (this.#remaining === 0) this.#finished = true;
    return piece;
  }

  #nextChunked(): Uint8Array | null {
    const buffered = this.#source.buffered();
    if (buffered.length === 0) return null;
    const step = this.#decoder!.decode(buffered, 0, buffered.length);
    if (step.done) this.#finished = true;
    this.#source.consume(step.consumed);
    return step.data.length === 1 ? step.data[0] : _concat(step.data);
  }
}

function _concat(pieces: Uint8Array[]): Uint8Array {
  const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
