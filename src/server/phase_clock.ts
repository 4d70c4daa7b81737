/**
 * What a connection waits for, and until when: the phase decides which
 * timeout runs (`--header-timeout` for a head, `--idle-timeout` between
 * requests, `--body-timeout` for a body, `--send-timeout` per write) and what
 * a passed deadline means.
 * @module
 */

import type { Config } from "../config.ts";

/** What the connection is waiting for. */
export type Phase = "fresh" | "idle" | "head" | "body" | "busy" | "write" | "closed";

/** The timeouts a clock arms. */
export type PhaseTimeouts = Pick<
  Config,
  "headerTimeoutMs" | "idleTimeoutMs" | "bodyTimeoutMs" | "sendTimeoutMs"
>;

/**
 * One connection's phase and deadline (`Date.now()` time, `Infinity` for none).
 *
 * @example
 * ```ts
 * import { PhaseClock } from "./phase_clock.ts";
 * const clock = new PhaseClock({
 *   headerTimeoutMs: 10_000, idleTimeoutMs: 5_000, bodyTimeoutMs: 10_000, sendTimeoutMs: 10_000,
 * });
 * clock.arm("head");
 * clock.deadline > Date.now(); // true
 * ```
 */
export class PhaseClock {
  phase: Phase = "fresh";
  deadline = Infinity;
  /** A 408 is being sent: nothing more is read or answered. */
  timedOut = false;
  #timeouts: PhaseTimeouts;

  constructor(timeouts: PhaseTimeouts) {
    this.#timeouts = timeouts;
  }

  /** Waiting for a request: none begun yet, between two, or part of a head. */
  get waiting(): boolean {
    const phase = this.phase;
    return phase === "fresh" || phase === "idle" || phase === "head";
  }

  /** Closed, or timed out: what was waited for will not come. */
  get over(): boolean {
    return this.phase === "closed" || this.timedOut;
  }

  /** Enters `phase` with its timeout from now (none while busy or before a write). */
  arm(phase: Exclude<Phase, "closed">): void {
    if (this.phase === "closed") return;
    this.phase = phase;
    const timeouts = this.#timeouts;
    const timeout = phase === "fresh" || phase === "head"
      ? timeouts.headerTimeoutMs
      : phase === "idle"
      ? timeouts.idleTimeoutMs
      : phase === "body"
      ? timeouts.bodyTimeoutMs
      : Infinity;
    this.deadline = timeout === Infinity ? Infinity : Date.now() + timeout;
  }

  /** Brings the deadline forward to `at` when that is sooner. */
  bringForward(at: number): void {
    this.deadline = Math.min(this.deadline, at);
  }

  /** A write begins or goes on: `--send-timeout` from now. */
  writing(): void {
    if (this.phase !== "closed") this.phase = "write";
    this.deadline = Date.now() + this.#timeouts.sendTimeoutMs;
  }

  /** The write is done: back to `previous`, unless the connection closed meanwhile. */
  written(previous: Phase): void {
    if (this.phase === "write" && previous !== "closed") this.arm(previous);
  }

  /** Marks the connection closed; false if it was already. */
  close(): boolean {
    if (this.phase === "closed") return false;
    this.phase = "closed";
    this.deadline = Infinity;
    return true;
  }
}
