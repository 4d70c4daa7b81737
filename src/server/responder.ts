/**
 * How one connection answers: writes under `--send-timeout`, the
 * `100 Continue`, and outcomes, whose error responses look as the handler
 * says (text or JSON) and are recorded once sent.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import type { RequestHead } from "../http/head_parser.ts";
import { serializeHead } from "../http/response.ts";
import type { ServerContext } from "./context.ts";
import { headOptions, type Outcome, type OutcomeOrigin, sendOutcome } from "./outcome.ts";
import type { PhaseClock } from "./phase_clock.ts";

/** Anything that writes like a `Deno.Conn`. */
export interface Writable {
  write(bytes: Uint8Array): Promise<number>;
}

/** Options of {@linkcode Responder}. */
export interface ResponderOptions {
  conn: Writable;
  clock: PhaseClock;
  ctx: ServerContext;
  /** The connection's tag in log lines (`w1#c7`). */
  tag: string;
  /** The socket peer's address: the client of a failure outside any head. */
  peer: string;
}

/**
 * Writes and records one connection's answers.
 *
 * @example
 * ```ts
 * import { Responder } from "./responder.ts";
 * import { HttpError } from "../http/http_error.ts";
 * import type { ServerContext } from "./context.ts";
 * import { PhaseClock } from "./phase_clock.ts";
 * declare const conn: Deno.Conn, ctx: ServerContext;
 * const clock = new PhaseClock(ctx.config);
 * const responder = new Responder({ conn, clock, ctx, tag: "w1#c1", peer: "127.0.0.1" });
 * await responder.send(responder.failure(new HttpError(400), responder.origin()), true);
 * ```
 */
export class Responder {
  #conn: Writable;
  #clock: PhaseClock;
  #ctx: ServerContext;
  readonly tag: string;
  #peer: string;

  constructor(options: ResponderOptions) {
    this.#conn = options.conn;
    this.#clock = options.clock;
    this.#ctx = options.ctx;
    this.tag = options.tag;
    this.#peer = options.peer;
  }

  /** Whether the connection has closed: then a failure is thrown, not answered. */
  get closed(): boolean {
    return this.#clock.phase === "closed";
  }

  /** Where a failure outside any parsed head comes from: the peer, now. */
  origin(head: RequestHead | null = null): OutcomeOrigin {
    const requestId = this.#ctx.common.requestId(undefined);
    return { head, requestId, started: performance.now(), client: this.#peer };
  }

  /**
   * The outcome for a failure: an {@linkcode HttpError}'s response as the
   * handler has it look, or a 500 (logged, never shown) for anything else.
   */
  failure(error: unknown, origin: OutcomeOrigin): Outcome {
    if (!(error instanceof HttpError)) {
      this.#ctx.log.error("request failed", { conn: this.tag, error: String(error) });
      error = new HttpError(STATUS_CODE.InternalServerError, "Internal Server Error", {
        close: true,
      });
    }
    const httpError = error as HttpError;
    return {
      ...origin,
      request: null,
      response: this.#ctx.app.errorResponse(httpError, origin.head?.target ?? null),
      error: httpError,
      close: httpError.close,
    };
  }

  /** Answers `error` to the request with `head` (or none), asking for a close. */
  answerError(error: unknown, head: RequestHead | null = null): Promise<void> {
    return this.send(this.failure(error, this.origin(head)), true);
  }

  /** Writes `outcome`'s response (with `Connection: close` when `close`), then records it. */
  send(outcome: Outcome, close: boolean): Promise<void> {
    return sendOutcome(this.#ctx, this.tag, (bytes) => this.write(bytes), outcome, close);
  }

  /** Writes a `100 Continue` for a request with this head. */
  async sendContinue(head: Pick<RequestHead, "version" | "method">, requestId: string) {
    const options = headOptions(this.#ctx, requestId, false, head);
    await this.write(
      serializeHead({ status: 100, headers: [], framing: [] }, options),
    );
  }

  /** Writes all of `bytes`, each write under `--send-timeout`. */
  async write(bytes: Uint8Array): Promise<void> {
    const previous = this.#clock.phase;
    let offset = 0;
    while (offset < bytes.length) {
      this.#clock.writing();
      offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
    }
    this.#clock.written(previous);
  }
}
