/**
 * A request body's bytes, from the connection's read buffer, under the body
 * timeout and a minimum rate: no progress for `--body-timeout` is a 408, and
 * so is a body slower on average than {@linkcode MIN_BODY_RATE} once that time
 * has passed (a trickle of a byte now and then would otherwise hold a slot for
 * ever).
 * @module
 */

import type { ByteSource } from "../http/body_reader.ts";
import type { PhaseClock } from "./phase_clock.ts";

/**
 * The slowest average a request body may arrive at, in bytes per second, once
 * `--body-timeout` has passed: Apache's mod_reqtimeout takes the same 500.
 */
export const MIN_BODY_RATE = 500;
/** Under pressure, a body below that rate may be shed after this long. */
export const SHED_BODY_AFTER_MS = 2000;

/**
 * The {@linkcode ByteSource} a request's body reader takes its bytes from:
 * one per request, made once its head is read.
 *
 * @example
 * ```ts
 * import { BodyFeed } from "./body_feed.ts";
 * import { PhaseClock } from "./phase_clock.ts";
 * import { SocketReader } from "./socket_reader.ts";
 * const clock = new PhaseClock({
 *   headerTimeoutMs: 10_000, idleTimeoutMs: 5_000, bodyTimeoutMs: 10_000, sendTimeoutMs: 10_000,
 * });
 * const reader = new SocketReader({ read: () => Promise.resolve(null) });
 * const feed = new BodyFeed(reader, clock, 10_000);
 * await feed.fill(); // false: the client closed
 * ```
 */
export class BodyFeed implements ByteSource {
  #reader: ByteSource;
  #clock: PhaseClock;
  #bodyTimeoutMs: number;
  /** When the request's head was read, and its body bytes taken since. */
  #started = Date.now();
  #bytes = 0;

  /** The body of a request whose head was read just now. */
  constructor(reader: ByteSource, clock: PhaseClock, bodyTimeoutMs: number) {
    this.#reader = reader;
    this.#clock = clock;
    this.#bodyTimeoutMs = bodyTimeoutMs;
  }

  /**
   * Whether the body arrives slower than {@linkcode MIN_BODY_RATE} and has
   * done so for longer than {@linkcode SHED_BODY_AFTER_MS}: it may be shed.
   */
  get trickling(): boolean {
    const elapsed = Date.now() - this.#started;
    return elapsed > SHED_BODY_AFTER_MS && this.#bytes * 1000 < MIN_BODY_RATE * elapsed;
  }

  buffered(): Uint8Array {
    return this.#reader.buffered();
  }

  consume(n: number): void {
    this.#bytes += n;
    this.#reader.consume(n);
  }

  /** Waits for body bytes under the body deadline; throws once the connection is over. */
  async fill(): Promise<boolean> {
    const clock = this.#clock;
    clock.arm("body");
    clock.bringForward(this.#started + this.#bodyTimeoutMs + (this.#bytes * 1000) / MIN_BODY_RATE);
    const more = await this.#reader.fill();
    if (clock.over) throw new Deno.errors.BadResource("Connection closed");
    clock.arm("busy");
    return more;
  }
}
