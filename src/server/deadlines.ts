/**
 * One timer for many connections: each registers a deadline and what to do
 * when it passes; a single sweep checks them all, so arming a timeout on every
 * read or write costs an assignment, not a timer.
 * @module
 */

/** Something with a deadline. */
export interface Expiring {
  /** Milliseconds since the epoch (`Date.now()`); `Infinity` for none. */
  deadline: number;
  /** Called once the deadline has passed. */
  expire(): void;
}

/**
 * Sweeps registered deadlines every `intervalMs`.
 *
 * @example
 * ```ts
 * import { DeadlineSweeper } from "./deadlines.ts";
 * const sweeper = new DeadlineSweeper(100);
 * const item = { deadline: Date.now() + 50, expire: () => console.log("late") };
 * sweeper.add(item);
 * sweeper.stop();
 * ```
 */
export class DeadlineSweeper {
  #items = new Set<Expiring>();
  #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Starts watching `item`. */
  add(item: Expiring): void {
    this.#items.add(item);
    this.#timer ??= setInterval(() => this.#sweep(), this.#intervalMs);
  }

  /** How many items are watched (the open connections of a server). */
  get size(): number {
    return this.#items.size;
  }

  /** Stops watching `item`. */
  delete(item: Expiring): void {
    this.#items.delete(item);
    if (this.#items.size === 0) this.stop();
  }

  /** Stops the timer (it restarts with the next `add`). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sweep(): void {
    const now = Date.now();
    for (const item of this.#items) {
      if (item.deadline <= now) {
        item.deadline = Infinity;
        item.expire();
      }
    }
  }
}

/**
 * A sweep interval fine enough for the shortest timeout: a quarter of it,
 * between 5 ms and 250 ms.
 *
 * @example
 * ```ts
 * import { sweepInterval } from "./deadlines.ts";
 * sweepInterval([10_000, 30_000]); // 250
 * ```
 */
export function sweepInterval(timeoutsMs: number[]): number {
  return Math.min(250, Math.max(5, Math.floor(Math.min(...timeoutsMs) / 4)));
}
