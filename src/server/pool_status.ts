/**
 * Pool status lines (SPEC §8): one line each time the open connections cross
 * 50 %, 80 % or 100 % of the cap, either way.
 * @module
 */

const THRESHOLDS = [0.5, 0.8, 1];

/**
 * Tracks the pool's level and says when it changes.
 *
 * @example
 * ```ts
 * import { PoolStatus } from "./pool_status.ts";
 * const pool = new PoolStatus(4096, 128);
 * pool.update(2048, 0); // "🟡 connections 2048/4096 | queue 0/128"
 * ```
 */
export class PoolStatus {
  #cap: number;
  #queue: number;
  #level = 0;

  constructor(cap: number, queue: number) {
    this.#cap = cap;
    this.#queue = queue;
  }

  /** The status line when the level changed, else `null`. */
  update(open: number, queued: number): string | null {
    const level = THRESHOLDS.filter((threshold) => open >= threshold * this.#cap).length;
    if (level === this.#level) return null;
    this.#level = level;
    const light = level === 0 ? "🟢" : level === 1 ? "🟡" : "🔴";
    return `${light} connections ${open}/${this.#cap} | queue ${queued}/${this.#queue}`;
  }
}
