/**
 * Keeps the workers' shares of keep-alive connections even.
 *
 * The kernel places each new connection on one of the workers' `reusePort`
 * listeners by a hash, and nothing moves it afterwards. Under load each worker
 * answers about as many requests per second whatever its number of
 * connections (each is held back by its CPU), so connections reach
 * `--max-requests-per-connection` and come back as new ones at the same rate
 * in every worker, and the split drifts like a random walk: measured with 2
 * workers and 256 wrk connections, splits up to 192/64 within one 5-s run,
 * where the crowded worker's clients waited three times as long as the
 * other's. A worker over its share ends a keep-alive connection after the
 * current response (`Connection: close`), and the client's next connection is
 * placed again; with the split kept within 117–139 of 256 in the same runs.
 * @module
 */

/** A worker is over its share above this many times the average per worker, … */
export const OVER_SHARE_RATIO = 1.1;
/** … and by at least this many connections: small numbers never count. */
export const OVER_SHARE_SLACK = 8;
/**
 * A worker ends at most one connection early per this many milliseconds, so
 * that a worker left alone (the other one restarting) does not end them all.
 */
export const OVER_SHARE_GAP_MS = 5;

/**
 * Decides, for one worker, when to end a keep-alive connection early.
 *
 * @example
 * ```ts
 * import { WorkerBalance } from "./worker_balance.ts";
 * const balance = new WorkerBalance(2);
 * balance.endEarly(192, 256, 0); // true: over its share
 * balance.endEarly(192, 256, 1); // false: one per 5 ms at most
 * balance.endEarly(135, 256, 10); // false: within its share
 * ```
 */
export class WorkerBalance {
  #workers: number;
  #lastEnded = -Infinity;

  /** For one of `workers` workers. */
  constructor(workers: number) {
    this.#workers = workers;
  }

  /**
   * Whether a worker holding `mine` of the `total` open connections should end
   * the current keep-alive connection after its response.
   */
  endEarly(mine: number, total: number, now?: number): boolean {
    if (this.#workers <= 1) return false;
    if (mine <= (total / this.#workers) * OVER_SHARE_RATIO + OVER_SHARE_SLACK) return false;
    // Read the clock only when over the share: most requests never get here.
    const time = now ?? performance.now();
    if (time - this.#lastEnded < OVER_SHARE_GAP_MS) return false;
    this.#lastEnded = time;
    return true;
  }
}
