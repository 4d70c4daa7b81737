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
 * Chained `setTimeout(…, 1)` fire 2.2–2.3 ms apart in Deno 2.9.6 here, and a
 * bare `Deno.listen` loop with these turns measured 28 500–29 500 requests per
 * second; but the turn timer is set for when the first waiter is due, under
 * load often at once, so the worker's CPU sets the pace, not the timer: bastion
 * with 1 worker at 256 connections measured 26 000–34 000 in `deno task bench`
 * (at 34 000, a turn of 64 every 1.9 ms). Tried and not
 * kept, for p99 at 256 connections with 1 worker: a turn at every event-loop
 * pass (`setImmediate`: p99 over 1 s, the sockets' readiness is not polled
 * between), turns rung by a loopback socket or by a helper thread every
 * 0.5 ms with 32 or 40 per turn (no better than the timer and 64, within the
 * machine's noise), and 64 resumed in two halves one pass apart (no better).
 *
 * A turn does not go on while the last turn's connections are still out.
 * Its timer is set for when the first waiter is due, which under load is at
 * once; so when a turn ran long (a burst of new connections, a collection),
 * the next one fired before the 64 it resumed had answered, and 128 or more
 * connections were in flight, past the 128-operation budget above: traced with
 * 1 worker at 256 connections, about half the intervals between turns over
 * 8 ms (2–3 ms is usual, and these make the p99) began with all 64 still out.
 * So a turn waits while more than {@linkcode MAX_STILL_OUT} of the last turn's
 * connections work on a request, or, for {@linkcode READ_GRACE_MS} after it,
 * still wait for a request's bytes (after that they are idle clients, not
 * work), and never longer than {@linkcode MAX_HOLD_MS}: a request waiting on
 * a slow client (a stalled upload body, a full socket buffer) counts as work
 * too, and with the cap a turn still lets 64 go on per 5 ms (12 800 per
 * second) if every turn held; traced at 256 connections, 27 of 1 722 turns
 * held, all within the read grace (the timer fired before the reads were
 * done). A connection counts only for the turn that resumed it. A new connection
 * takes a turn before its first read too: when the connections that reached
 * `--max-requests-per-connection` together come back together (the turns keep
 * them in step), up to 250 first requests were answered between two turns.
 * Measured in 11 alternating 5-s wrk runs against the version before (6 with a
 * 10-ms cap, 5 with 5 ms), 1 worker, 256 connections: p99 26.6 ms on average
 * (23.4–30.0) against 30.0 (22.9–42.6), p99 / p50 2.00 against 2.24, as many
 * requests per second (18 500 against 18 700). With 2 workers, 256
 * connections, no change (p99 27.5 against 28.1 ms, 6 rounds).
 * @module
 */

/** Open connections in one worker above which each response is followed by a timer turn. */
export const FAIR_TURN_ABOVE = 128;
/** Connections resumed by one turn at most; see the module comment. */
export const MAX_RESUMED_PER_TURN = 64;
/** A turn waits while more than this many of the last turn's connections are still out, … */
export const MAX_STILL_OUT = 8;
/** … counting those still waiting for their request's bytes only this long after it, … */
export const READ_GRACE_MS = 2;
/** … and for this long at most: a request may be waiting on a slow client. */
export const MAX_HOLD_MS = 5;
/** How long a connection waits at least, as with its own `setTimeout(…, 0)`. */
export const TURN_MS = 1;

/**
 * One connection's place in the turns: the turn that resumed it, while that
 * turn still counts it as out (its next request not yet answered).
 */
export interface TurnTicket {
  /** The turn that resumed it; 0 once it came back, or if no turn resumed it. */
  turn: number;
  /** Its next request's head is complete: it works on the request. */
  working: boolean;
}

/** What the turns count; see {@linkcode FairTurns.counts}. */
export interface TurnCounts {
  reading: number;
  working: number;
  resumed: number;
  worked: number;
}

/**
 * Whether the next turn may resume anyone, `sinceLastTurnMs` after the last
 * one, of whose connections `reading` still wait for their next request's
 * head and `working` have it but are not back.
 *
 * @example
 * ```ts
 * import { turnMayGoOn } from "./fair_turn.ts";
 * turnMayGoOn(1, 60, 0); // false: just resumed, their reads not done yet
 * turnMayGoOn(3, 60, 0); // true: still reading after the grace, so idle clients
 * turnMayGoOn(3, 0, 30); // false: still working on their requests
 * turnMayGoOn(10, 0, 30); // true: waited long enough
 * ```
 */
export function turnMayGoOn(sinceLastTurnMs: number, reading: number, working: number): boolean {
  if (sinceLastTurnMs >= MAX_HOLD_MS) return true;
  const out = sinceLastTurnMs < READ_GRACE_MS ? reading + working : working;
  return out <= MAX_STILL_OUT;
}

/**
 * The turns of one server's connections (one worker's).
 *
 * @example
 * ```ts
 * import { FairTurns } from "./fair_turn.ts";
 * const turns = new FairTurns();
 * const ticket = FairTurns.ticket();
 * await turns.wait(10, ticket); // resolves without waiting for a timer
 * ```
 */
export class FairTurns {
  /** Who waits for a turn, in the order they asked (so by due time). */
  #waiting: { resume: () => void; due: number; ticket: TurnTicket }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The last turn (counted from 1), when it was, and how many it resumed are reading or working. */
  #turn = 0;
  #turnAt = -Infinity;
  #reading = 0;
  #working = 0;
  /** Connections resumed, and of those how many then worked on a request, since the start. */
  #resumed = 0;
  #worked = 0;

  /** A ticket for a new connection. */
  static ticket(): TurnTicket {
    return { turn: 0, working: false };
  }

  /**
   * Waits for the next timer turn when more than {@linkcode FAIR_TURN_ABOVE}
   * connections are open; otherwise returns `undefined` at once. Either way
   * the connection holding `ticket` is back from the turn that resumed it.
   */
  wait(openConnections: number, ticket: TurnTicket): Promise<void> | undefined {
    this.leave(ticket);
    if (openConnections <= FAIR_TURN_ABOVE) return undefined;
    return new Promise((resolve) => {
      this.#waiting.push({ resume: resolve, due: performance.now() + TURN_MS, ticket });
      this.#timer ??= setTimeout(this.#nextTurn, TURN_MS);
    });
  }

  /** The connection holding `ticket` has its next request's complete head: it works, not waits. */
  working(ticket: TurnTicket): void {
    if (ticket.turn === this.#turn && ticket.turn !== 0 && !ticket.working) {
      ticket.working = true;
      this.#reading--;
      this.#working++;
      this.#worked++;
    }
  }

  /** The connection holding `ticket` is back from its turn, or closed. */
  leave(ticket: TurnTicket): void {
    if (ticket.turn === this.#turn && ticket.turn !== 0) {
      if (ticket.working) this.#working--;
      else this.#reading--;
    }
    ticket.turn = 0;
    ticket.working = false;
  }

  /**
   * Of the last turn's connections, those `reading` and `working`; since the
   * start, connections `resumed` and those of them that then `worked` on a
   * request. For tests and diagnosis.
   */
  counts(): TurnCounts {
    return {
      reading: this.#reading,
      working: this.#working,
      resumed: this.#resumed,
      worked: this.#worked,
    };
  }

  /** Stops the timer; whoever still waits is resumed. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const { resume } of this.#waiting.splice(0)) resume();
  }

  /**
   * Resumes those whose turn is due (up to the cap), and sets the timer for
   * the rest; or, while the last turn's connections are still out, waits for them.
   */
  #nextTurn = (): void => {
    const now = performance.now();
    if (!turnMayGoOn(now - this.#turnAt, this.#reading, this.#working)) {
      this.#timer = setTimeout(this.#nextTurn, 0);
      return;
    }
    const waiting = this.#waiting;
    let due = 0;
    while (due < waiting.length && due < MAX_RESUMED_PER_TURN && waiting[due].due <= now) due++;
    const resumed = waiting.splice(0, due);
    this.#timer = waiting.length === 0
      ? undefined
      : setTimeout(this.#nextTurn, Math.max(0, waiting[0].due - now));
    if (resumed.length === 0) return;
    this.#turn++;
    this.#turnAt = now;
    this.#reading = resumed.length;
    this.#working = 0;
    this.#resumed += resumed.length;
    for (const { resume, ticket } of resumed) {
      ticket.turn = this.#turn;
      ticket.working = false;
      resume();
    }
  };
}
