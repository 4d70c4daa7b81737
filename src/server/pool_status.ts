/**
 * Pool status lines (`docs/deployment.md`): one line each time the open connections cross
 * 50 %, 80 % or 100 % of the cap, either way.
 * @module
 */

const THRESHOLDS = [0.5, 0.8, 1];

/** Options of {@linkcode PoolStatus}. */
export interface PoolStatusOptions {
  /** The connection cap. */
  cap: number;
  /** The queue's size. */
  queue: number;
  /** Stores the level where every worker sees it and returns the previous one. */
  swapLevel: (level: number) => number;
}

/**
 * Tracks the pool's level and says when it changes; with a shared `swapLevel`
 * only the worker that sees the change logs it.
 *
 * @example
 * ```ts
 * import { PoolStatus } from "./pool_status.ts";
 * let stored = 0;
 * const swapLevel = (level: number) => [stored, stored = level][0];
 * const pool = new PoolStatus({ cap: 4096, queue: 128, swapLevel });
 * pool.update(2048, 0); // "🟡 connections 2048/4096 | queue 0/128"
 * ```
 */
export class PoolStatus {
  #options: PoolStatusOptions;

  constructor(options: PoolStatusOptions) {
    this.#options = options;
  }

  /** The status line when the level changed, else `null`. */
  update(open: number, queued: number): string | null {
    const { cap, queue, swapLevel } = this.#options;
    const level = THRESHOLDS.filter((threshold) => open >= threshold * cap).length;
    if (swapLevel(level) === level) return null;
    const light = level === 0 ? "🟢" : level === 1 ? "🟡" : "🔴";
    return `${light} connections ${open}/${cap} | queue ${queued}/${queue}`;
  }
}
