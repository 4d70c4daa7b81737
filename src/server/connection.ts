/**
 * One client connection's life, as one loop a reader can follow: read a head
 * (under the header timeout), parse it, exchange (body and handler), write the
 * answer (under the send timeout), record it; then keep alive or close, and
 * answer pipelined requests in order. Between requests, and before the first
 * one, the connection takes its fair turn.
 * @module
 */

import { BufferPool } from "../http/buffer_pool.ts";
import type { RequestHead } from "../http/head_parser.ts";
import { HttpError, type SecurityReason } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { hostOfAddress } from "../guard/host_allow.ts";
import { BodyFeed } from "./body_feed.ts";
import type { ServerContext } from "./context.ts";
import type { Expiring } from "./deadlines.ts";
import { exchange, type ExchangeIo } from "./exchange.ts";
import { FairTurns } from "./fair_turn.ts";
import { HeadReader } from "./head_reader.ts";
import type { Outcome } from "./outcome.ts";
import { PhaseClock } from "./phase_clock.ts";
import { admitRequest, strike } from "./request_gate.ts";
import { Responder } from "./responder.ts";
import { SocketReader } from "./socket_reader.ts";
import type { SocketConn } from "./tls_listener.ts";

/** First read buffers, reused: most requests fit in 512 bytes; a reader grows its own for more. */
const READ_BUFFERS = new BufferPool(512, 256);

/**
 * Serves one accepted connection until it closes.
 *
 * @example
 * ```ts
 * import { Connection } from "./connection.ts";
 * import type { ServerContext } from "./context.ts";
 * declare const conn: Deno.TcpConn, context: ServerContext;
 * new Connection(conn, 1, context).run(() => console.log("closed"));
 * ```
 */
export class Connection implements Expiring {
  #conn: SocketConn;
  #ctx: ServerContext;
  /** The socket peer's address. */
  #peer: string;
  #reader: SocketReader;
  #heads: HeadReader;
  #clock: PhaseClock;
  /** The body of the request being answered; `null` between requests. */
  #feed: BodyFeed | null = null;
  #responder: Responder;
  /** The address the client connected to, as a Host names it; `null` when unknown. */
  #local: string | null;
  #served = 0;
  /** Its place in the fair turns. */
  #ticket = FairTurns.ticket();
  /** The request being answered, for a 408 sent while its body is read. */
  #current: RequestHead | null = null;
  #done: ((connection: Connection) => void) | undefined;

  constructor(conn: SocketConn, id: number, ctx: ServerContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#peer = (conn.remoteAddr as Deno.NetAddr).hostname ?? "-";
    const local = (conn.localAddr as Deno.NetAddr).hostname;
    const { config } = ctx;
    this.#reader = new SocketReader(conn, {
      pool: READ_BUFFERS,
      maxSize: Math.max(65536, config.maxHead + 1024),
    });
    this.#clock = new PhaseClock(config);
    this.#heads = new HeadReader(this.#reader, this.#clock, { limits: config, parser: ctx.parser });
    const tag = `w${ctx.workerId}#c${id}`;
    this.#responder = new Responder({ conn, clock: this.#clock, ctx, tag, peer: this.#peer });
    this.#local = local ? hostOfAddress(local) : null;
  }

  /** When the current wait ends; the deadline sweeper clears it as it expires the connection. */
  get deadline(): number {
    return this.#clock.deadline;
  }

  set deadline(at: number) {
    this.#clock.deadline = at;
  }

  /** Whether the connection waits between requests (safe to close at shutdown). */
  get idle(): boolean {
    return this.#clock.waiting;
  }

  /** Whether it may be closed to make room under pressure: idle, or its body trickles in. */
  get sheddable(): boolean {
    return this.idle || (this.#clock.phase === "body" && this.#feed?.trickling === true);
  }

  /** The socket peer's address. */
  get peer(): string {
    return this.#peer;
  }

  /**
   * Serves requests until the connection should close, closes it, then calls
   * `done`. Between requests nothing of the connection waits in a suspended
   * async function (a suspended frame per idle keep-alive connection costs
   * memory): a read callback resumes it.
   */
  run(done: (connection: Connection) => void): void {
    this.#done = done;
    this.#ctx.sweeper.add(this);
    // A new connection takes a turn too: when many open at once, their first
    // requests take turns with everyone else's.
    const turn = this.#ctx.turns.wait(this.#ctx.sweeper.size, this.#ticket);
    if (turn === undefined) this.#awaitRequest();
    else turn.then(this.#resumed);
  }

  #resumed = (): void => this.#awaitRequest();

  #awaitRequest(): void {
    if (this.#reader.length > 0) {
      this.#serveBuffered();
      return;
    }
    this.#clock.arm(this.#served === 0 ? "fresh" : "idle");
    this.#reader.fill().then(this.#arrived, this.#broken);
  }

  #arrived = (more: boolean): void => {
    if (!more || this.#clock.over) this.#finish();
    else this.#serveBuffered();
  };

  #broken = (error: unknown): void => this.#finish(error);

  /** Serves the requests whose bytes have arrived, then waits for more. */
  async #serveBuffered(): Promise<void> {
    try {
      do {
        // Closed while it waited for a turn (at the end of a drain): a request
        // already buffered is not answered, as nothing would reach the client.
        if (this.#clock.phase === "closed") return this.#finish();
        if (!(await this.#serveOne())) return this.#finish();
        const turn = this.#ctx.turns.wait(this.#ctx.sweeper.size, this.#ticket);
        if (turn !== undefined) await turn;
      } while (this.#reader.length > 0);
    } catch (error) {
      return this.#finish(error);
    }
    this.#awaitRequest();
  }

  /**
   * One request, start to end: its head read, parsed and exchanged, the
   * answer written and recorded. Returns whether to serve another.
   */
  async #serveOne(): Promise<boolean> {
    // Usually the whole head came with the first read: then there is nothing to wait for.
    let end = this.#heads.buffered();
    if (end < 0) {
      try {
        end = await this.#heads.read(this.#served === 0);
      } catch (error) {
        // A read that failed (the client went away, or a timeout or shedding
        // closed the connection) ends the connection; only a bad head is answered.
        if (!(error instanceof HttpError) || this.#clock.over) throw error;
        await this.#refuseHead(error);
        return false;
      }
      if (end < 0) return false;
    }
    this.#ctx.turns.working(this.#ticket);
    const started = performance.now();
    let outcome: Outcome | null;
    try {
      outcome = await this.#exchange(end, started);
    } catch (error) {
      if (this.#clock.phase === "closed") return false;
      outcome = this.#responder.failure(error, { ...this.#responder.origin(), started });
    }
    // A banned client is dropped without an answer.
    if (outcome === null) return false;
    if (this.#clock.timedOut) return false;
    if (outcome.error?.reason && this.#strike(outcome.client, outcome.error.reason)) {
      outcome.close = true;
    }
    const keepAlive = !outcome.close && outcome.request?.keepAlive === true &&
      !this.#ctx.draining() &&
      ++this.#served < this.#ctx.config.maxRequestsPerConnection;
    await this.#responder.send(outcome, !keepAlive);
    this.#current = null;
    this.#feed = null;
    return keepAlive;
  }

  /** Answers a head that cannot be read (malformed, too large), which takes a token and may strike. */
  async #refuseHead(error: unknown): Promise<void> {
    const outcome = this.#responder.failure(error, this.#responder.origin());
    this.#ctx.admission.takeToken(this.#peer);
    if (outcome.error?.reason) this.#strike(this.#peer, outcome.error.reason);
    await this.#responder.send(outcome, true);
  }

  /**
   * The exchange's outcome for the head ending at `end`; `null` for a banned
   * client, whose connection is closed. A head that does not parse (it still
   * takes a token) throws at once.
   */
  #exchange(end: number, started: number): Promise<Outcome | null> {
    let head: RequestHead;
    try {
      head = this.#heads.parse(end);
    } catch (error) {
      this.#ctx.admission.takeToken(this.#peer);
      throw error;
    } finally {
      this.#clock.arm("busy");
    }
    const admitted = admitRequest(this.#ctx, this.#peer, head);
    if (admitted === null) {
      this.close();
      return Promise.resolve(null);
    }
    this.#current = head;
    const { app: handler, bodyLimits, config } = this.#ctx;
    const body = this.#feed = new BodyFeed(this.#reader, this.#clock, config.bodyTimeoutMs);
    const io: ExchangeIo = {
      handler,
      bodyLimits,
      body,
      responder: this.#responder,
      local: this.#local,
    };
    const { client, requestId, refusal } = admitted;
    return exchange(io, { head, requestId, started, client }, refusal);
  }

  #finish(error?: unknown): void {
    if (error !== undefined && this.#clock.phase !== "closed") {
      this.#ctx.log.debug("connection error", { conn: this.#responder.tag, error: String(error) });
    }
    this.close();
    this.#ctx.turns.leave(this.#ticket);
    // No read is pending here: each way to this point waited for the last read to settle.
    this.#reader.release();
    this.#ctx.sweeper.delete(this);
    const done = this.#done;
    this.#done = undefined;
    // Nothing awaits this call: an error here would be an unhandled rejection.
    try {
      done?.(this);
    } catch (failure) {
      this.#ctx.log.error("connection failed", {
        conn: this.#responder.tag,
        error: String(failure),
      });
    }
  }

  /** Closes the socket now; pending reads and writes fail. */
  close(): void {
    if (!this.#clock.close()) return;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Answers `error` (a 503 at admission) without reading anything, then closes. */
  async refuse(error: HttpError): Promise<void> {
    this.#ctx.sweeper.add(this);
    try {
      await this.#responder.answerError(error);
    } catch {
      /* the client went away */
    } finally {
      this.close();
      this.#reader.release();
      this.#ctx.sweeper.delete(this);
    }
  }

  /** The deadline passed: a head or body wait is a 408; any other wait closes. */
  expire(): void {
    const { phase } = this.#clock;
    if (phase === "head" || phase === "body") this.#timeOut(phase);
    else if (phase !== "busy") this.close();
  }

  #timeOut(phase: "head" | "body"): void {
    this.#clock.timedOut = true;
    const error = new HttpError(STATUS_CODE.RequestTimeout, "Request timeout", {
      close: true,
      reason: "timeout",
    });
    const head = phase === "body" ? this.#current : null;
    // Only a partial head counts towards a ban; a stalled body does not.
    if (phase === "head") this.#strike(this.#peer, "timeout");
    this.#responder.answerError(error, head).catch(() => {}).finally(() => this.close());
  }

  #strike(client: string, reason: SecurityReason): boolean {
    return strike(this.#ctx, this.#peer, client, reason);
  }
}
