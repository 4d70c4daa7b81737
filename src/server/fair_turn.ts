/**
 * Fair turns between keep-alive connections under heavy concurrency.
 *
 * Deno completes a socket read at once when its bytes are already there, so
 * under load a group of connections can be served again and again while the
 * reads of others wait: measured with 1 worker, wrk and h2load at 160–256
 * keep-alive connections, some connections waited over 3 s (p99 0.4–1.5 s)
 * while others were served 20× more often. Waiting for a timer turn after each
 * response puts every connection in one round-robin queue (p99 figures below).
 * The turn costs up to a millisecond, which is free when
 * each connection's own cycle is long, but cut throughput by 60% at 50
 * connections, where no connection starved. So the turn is taken only above
 * {@linkcode FAIR_TURN_ABOVE} open connections in one worker. The connections
 * waiting for a turn share one timer: a timer each cost about 6% of the time
 * at 256 connections (their Timeout objects, the timer list, and garbage).
 *
 * One turn resumes at most {@linkcode MAX_RESUMED_PER_TURN} connections; the
 * rest go on at the next turn. Measured with 1 worker at 256 connections, p99
 * over 5 s runs: all at once 56–58 ms, at most 128 per turn 58–63 ms, at most
 * 64 per turn 21–29 ms (and no fewer requests per second), at most 32 per turn
 * 22–24 ms but about 30% fewer requests per second (the turns, not the CPU, set
 * the pace). The sharp step between 64 and 128 fits tokio's cooperative budget
 * (128 operations per poll of Deno's event loop, after which ready sockets
 * wait for the next poll) — our reading, not something Deno documents.
 *
 * The turns set a ceiling: Deno 2.9.6's timers fire about 2.2 ms after they
 * are set, whatever the delay below that (chained `setTimeout(…, 1)` measured
 * here: 2.2–2.3 ms each), so a worker in turns answers at most about 64 per
 * 2.2 ms, 29 000 requests per second; a bare `Deno.listen` loop with these
 * turns measured 28 500–29 500, and bastion with 1 worker at 256 connections
 * reached 28 800 in this machine's fastest minutes (16 000–24 000 in most
 * runs, where the CPU sets the pace). Tried and not
 * kept, for p99 at 256 connections with 1 worker: a turn at every event-loop
 * pass (`setImmediate`: p99 over 1 s, the sockets' readiness is not polled
 * between), turns rung by a loopback socket or by a helper thread every
 * 0.5 ms with 32 or 40 per turn (no better than the timer and 64, within the
 * machine's noise), and 64 resumed in two halves one pass apart (no better).
 * @module
 */

/** Open connections in one worker above which each response is followed by a timer turn. */
export const FAIR_TURN_ABOVE = 128;

/**
 * Waits for the next timer turn when more than {@linkcode FAIR_TURN_ABOVE}
 * connections are open; otherwise resolves at once.
 *
 * @example
 * ```ts
 * import { fairTurn } from "./fair_turn.ts";
 * await fairTurn(10); // resolves without waiting for a timer
 * ```
 */
export function fairTurn(openConnections: number): Promise<void> | undefined {
  if (openConnections <= FAIR_TURN_ABOVE) return undefined;
  return new Promise((resolve) => {
    _waiting.push({ resume: resolve, due: performance.now() + TURN_MS });
    _timer ??= setTimeout(_nextTurn, TURN_MS);
  });
}

/** Connections resumed by one turn at most; see the module comment. */
export const MAX_RESUMED_PER_TURN = 64;

/** How long a connection waits at least, as with its own `setTimeout(…, 0)`. */
const TURN_MS = 1;

/** Who waits for a turn, in the order they asked (so by due time). */
const _waiting: { resume: () => void; due: number }[] = [];
let _timer: ReturnType<typeof setTimeout> | undefined;

/** Resumes those whose turn is due (up to the cap), and sets the timer for the rest. */
function _nextTurn(): void {
  const now = performance.now();
  let due = 0;
  while (due < _waiting.length && due < MAX_RESUMED_PER_TURN && _waiting[due].due <= now) due++;
  const resumed = _waiting.splice(0, due);
  _timer = _waiting.length === 0
    ? undefined
    : setTimeout(_nextTurn, Math.max(0, _waiting[0].due - now));
  for (const { resume } of resumed) resume();
}
