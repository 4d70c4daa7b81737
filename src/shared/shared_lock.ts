/**
 * A lock over one Int32 cell of a SharedArrayBuffer, for state that several
 * worker threads change: a few tries, then sleep until woken. Spinning alone
 * burnt a whole time slice whenever the holder's thread was preempted, which
 * happens when workers and the load share few cores.
 * @module
 */

/** Lock states: free, held, held with a thread asleep waiting for it. */
const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
/** Tries before a thread waiting for the lock sleeps (its holder may have been preempted). */
const SPINS = 100;

/**
 * Runs functions one thread at a time.
 *
 * @example
 * ```ts
 * import { SharedLock } from "./shared_lock.ts";
 * const lock = new SharedLock(new Int32Array(new SharedArrayBuffer(4)), 0);
 * lock.run(() => 42); // 42
 * ```
 */
export class SharedLock {
  #ints: Int32Array;
  #index: number;

  /** The lock is cell `index` of `ints` (0 when free, as a new buffer is). */
  constructor(ints: Int32Array, index: number) {
    this.#ints = ints;
    this.#index = index;
  }

  /** Runs `fn` holding the lock. */
  run<T>(fn: () => T): T {
    this.#acquire();
    try {
      return fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): void {
    const ints = this.#ints;
    const at = this.#index;
    if (Atomics.compareExchange(ints, at, FREE, HELD) === FREE) return;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.compareExchange(ints, at, FREE, HELD) === FREE) return;
    }
    // Marked contended, so that the holder wakes a sleeper when it lets go.
    while (Atomics.exchange(ints, at, CONTENDED) !== FREE) {
      Atomics.wait(ints, at, CONTENDED);
    }
  }

  #release(): void {
    if (Atomics.exchange(this.#ints, this.#index, FREE) === CONTENDED) {
      Atomics.notify(this.#ints, this.#index, 1);
    }
  }
}
