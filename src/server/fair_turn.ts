/**
 * Fair turns between keep-alive connections under heavy concurrency.
 *
 * Deno completes a socket read at once when its bytes are already there, so
 * under load a group of connections can be served again and again while the
 * reads of others wait. Above {@linkcode FAIR_TURN_ABOVE} open connections in
 * one worker, a connection waits for a timer turn after each response (and
 * before its first request), which puts every connection in one round-robin
 * queue; below it, where nobody starves, a turn would only cost throughput.
 * The waiters share one timer. A turn resumes at most
 * {@linkcode MAX_RESUMED_PER_TURN} (more in flight at once went past what
 * one poll of the event loop serves, our reading of tokio's cooperative
 * budget), and the next turn waits while more than
 * {@linkcode MAX_STILL_OUT} of the last turn's connections still work on a
 * request, {@linkcode MAX_HOLD_MS} at most. The measurements behind these
 * numbers are in `docs/performance.md` ("Fair turns, measured").
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
