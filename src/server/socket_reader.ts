/**
 * A growable read buffer over a connection: the {@linkcode ByteSource} the head
 * scanner and body readers consume from. Unused bytes stay for the next
 * (pipelined) request.
 * @module
 */

import type { ByteSource } from "../http/body_reader.ts";
import type { BufferPool } from "../http/buffer_pool.ts";

/** The buffer of a reader without a pool. */
const INITIAL_SIZE = 4096;

/** Anything that reads like a `Deno.Conn`. */
export interface Readable {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options of {@linkcode SocketReader}. */
export interface SocketReaderOptions {
  /**
   * Where the starting buffer comes from (then of the pool's size), and goes
   * back to on {@linkcode SocketReader.release}. @default undefined
   */
  pool?: BufferPool;
  /** The buffer never grows beyond this. @default 65536 */
  maxSize?: number;
}

/**
 * Buffers reads from a connection.
 *
 * @example
 * ```ts
 * import { SocketReader } from "./socket_reader.ts";
 * const reader = new SocketReader({ read: () => Promise.resolve(null) });
 * await reader.fill(); // false: end of stream
 * ```
 */
export class SocketReader implements ByteSource {
  #conn: Readable;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  /** {@linkcode buffered}'s view, made once per change (a view costs an allocation). */
  #view: Uint8Array | null = null;
  #maxSize: number;
  #pool: BufferPool | undefined;

  constructor(conn: Readable, options: SocketReaderOptions = {}) {
    this.#conn = conn;
    this.#pool = options.pool;
    this.#buffer = this.#pool?.take() ?? new Uint8Array(INITIAL_SIZE);
    this.#maxSize = Math.max(options.maxSize ?? 65536, this.#buffer.length);
  }

  /** Number of buffered, unconsumed bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** The buffered bytes; the same view until the next consume, fill or release. */
  buffered(): Uint8Array {
    return this.#view ??= this.#buffer.subarray(this.#start, this.#end);
  }

  consume(n: number): void {
    this.#view = null;
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Reads more bytes after the buffered ones; false at end of stream. Written
   * with one shared callback rather than as an async function: an idle
   * keep-alive connection waits here, and every suspended frame costs memory.
   */
  fill(): Promise<boolean> {
    this.#makeRoom();
    const free = this.#end === 0 ? this.#buffer : this.#buffer.subarray(this.#end);
    return this.#conn.read(free).then(this.#filled);
  }

  #filled = (read: number | null): boolean => {
    if (read === null) return false;
    this.#view = null;
    this.#end += read;
    return true;
  };

  /**
   * Gives the buffer back to the pool; call once no read is pending and
   * nothing more will be read. What was buffered is dropped.
   */
  release(): void {
    const buffer = this.#buffer;
    this.#view = null;
    this.#buffer = _RELEASED;
    this.#start = this.#end = 0;
    this.#pool?.give(buffer);
  }

  #makeRoom(): void {
    if (this.#end < this.#buffer.length) return;
    this.#view = null;
    const used = this.#end - this.#start;
    if (this.#start > 0 && used <= this.#buffer.length / 2) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const size = Math.min(this.#buffer.length * 2, this.#maxSize);
      if (size <= this.#buffer.length && this.#start === 0) {
        throw new RangeError("Read buffer is full");
      }
      const grown = new Uint8Array(Math.max(size, this.#buffer.length));
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#end = used;
    this.#start = 0;
  }
}

/** What a released reader holds: nothing to read into. */
const _RELEASED = new Uint8Array(0);
