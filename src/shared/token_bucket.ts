/**
 * A token bucket kept in two Float64 cells of a shared table: the tokens at
 * `at` and the time of their last refill at `at + 1`. The caller holds the
 * table's lock.
 * @module
 */

import type { RateLimit } from "../config_values.ts";

/**
 * Takes a token: 0 when taken, else the milliseconds until one is there (a
 * refused request takes none).
 *
 * @example
 * ```ts
 * import { drawToken } from "./token_bucket.ts";
 * const cells = new Float64Array([1, 0]);
 * drawToken(cells, 0, { rate: 10, burst: 1 }, 0); // 0
 * drawToken(cells, 0, { rate: 10, burst: 1 }, 0); // 100
 * ```
 */
export function drawToken(d: Float64Array, at: number, bucket: RateLimit, now: number): number {
  const tokens = _refilled(d, at, bucket, now);
  if (tokens >= 1) {
    d[at] = tokens - 1;
    return 0;
  }
  d[at] = tokens;
  return Math.ceil(((1 - tokens) * 1000) / bucket.rate);
}

/**
 * Takes `count` tokens spent elsewhere (a fleet's other instances); the
 * bucket may go into debt down to minus the burst.
 *
 * @example
 * ```ts
 * import { chargeTokens } from "./token_bucket.ts";
 * const cells = new Float64Array([5, 0]);
 * chargeTokens(cells, 0, 50, { rate: 10, burst: 5 }, 0);
 * cells[0]; // -5
 * ```
 */
export function chargeTokens(
  d: Float64Array,
  at: number,
  count: number,
  bucket: RateLimit,
  now: number,
): void {
  d[at] = Math.max(-bucket.burst, _refilled(d, at, bucket, now) - count);
}

/** The tokens after refilling since the last refill (at most the burst); the refill time becomes `now`. */
function _refilled(d: Float64Array, at: number, bucket: RateLimit, now: number): number {
  const elapsed = Math.max(0, now - d[at + 1]);
  d[at + 1] = now;
  return Math.min(bucket.burst, d[at] + (elapsed * bucket.rate) / 1000);
}
