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
