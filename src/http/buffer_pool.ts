/**
 * Spare byte buffers, reused instead of allocated per request: in Deno a new
 * ArrayBuffer costs far more than a view on a spare one, a noticeable share
 * of a small request's time.
 * @module
 */

/**
 * A bounded stack of equal-sized spare buffers.
 *
 * @example
 * ```ts
 * import { BufferPool } from "./buffer_pool.ts";
 * const pool = new BufferPool(16 * 1024, 32);
 * const bytes = pool.take(2600); // 2600 bytes on a 16 KiB buffer
 * pool.give(bytes); // once nothing reads or writes them any more
 * ```
 */
export class BufferPool {
  readonly size: number;
  #max: number;
  #spare: ArrayBuffer[] = [];
  /**
   * Whether a buffer is spare, so that a second give is seen without scanning
   * the stack. Only ever set, never deleted: a set's delete and add on every
   * take and give rebuilt its table now and then under load, and those tables
   * outlived young-generation GCs. Weak, so a buffer never given back is not held.
   */
  #isSpare = new WeakMap<ArrayBuffer, boolean>();

  /** Buffers of `size` bytes; at most `max` are kept spare. */
  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** Spare buffers kept now. */
  get spare(): number {
    return this.#spare.length;
  }

  /**
   * `length` bytes (at most {@linkcode size}: more get a buffer of their own),
   * on a spare buffer when there is one. The bytes are not zeroed.
   */
  take(length: number = this.size): Uint8Array {
    if (length > this.size) return new Uint8Array(length);
    const spare = this.#spare.pop();
    if (spare === undefined) return new Uint8Array(new ArrayBuffer(this.size), 0, length);
    this.#isSpare.set(spare, false);
    return new Uint8Array(spare, 0, length);
  }

  /**
   * Gives back bytes from {@linkcode take} once no pending read or write
   * holds them; bytes on a buffer of another size are left to the GC.
   */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (buffer.byteLength !== this.size || this.#spare.length >= this.#max) return;
    if (this.#isSpare.get(buffer as ArrayBuffer) === true) return;
    this.#spare.push(buffer as ArrayBuffer);
    this.#isSpare.set(buffer as ArrayBuffer, true);
  }
}

/**
 * Large buffers lent out a few at a time: at most `max` are out at once, so
 * memory stays bounded however many borrowers ask, and a borrower refused
 * makes do with a smaller buffer of its own. A few are kept for the next loan.
 *
 * @example
 * ```ts
 * import { BufferLoans } from "./buffer_pool.ts";
 * const loans = new BufferLoans(1 << 20, 16);
 * const bytes = loans.lend(); // a 1 MiB buffer, or null when 16 are out
 * if (bytes !== null) loans.giveBack(bytes); // once nothing reads or writes them
 * ```
 */
export class BufferLoans {
  readonly size: number;
  #max: number;
  #out = 0;
  #spare: ArrayBuffer[] = [];

  /** Buffers of `size` bytes, at most `max` lent at once. */
  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** Buffers lent now. */
  get out(): number {
    return this.#out;
  }

  /** A buffer of {@linkcode size} bytes (not zeroed), or `null` when `max` are out. */
  lend(): Uint8Array | null {
    if (this.#out >= this.#max) return null;
    this.#out++;
    return new Uint8Array(this.#spare.pop() ?? new ArrayBuffer(this.size));
  }

  /** Takes back a buffer from {@linkcode lend}, once no pending read or write holds it. */
  giveBack(bytes: Uint8Array): void {
    this.#out--;
    if (this.#spare.length < KEPT_LOANS) this.#spare.push(bytes.buffer as ArrayBuffer);
  }
}

/** Spare buffers a {@linkcode BufferLoans} keeps between loans. */
const KEPT_LOANS = 2;
