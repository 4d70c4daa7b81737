/**
 * One client connection's life: read a head under the header timeout, hand the
 * request to the app, write the answer under the send timeout, keep alive or
 * close, and answer pipelined requests in order.
 * @module
 */

import { BufferPool } from "../http/buffer_pool.ts";
import { HeadScanner } from "../http/head_scanner.ts";
import { parseHead, type RequestHead } from "../http/head_parser.ts";
import { HttpError, type SecurityReason } from "../http/http_error.ts";
import { hostOfAddress } from "../guard/host_allow.ts";
import { fieldValue, type Request } from "../http/request.ts";
import { serializeHead } from "../http/response.ts";
import type { ServerContext } from "./context.ts";
import type { Expiring } from "./deadlines.ts";
import { exchange, type ExchangeSite } from "./exchange.ts";
import { fairTurn, leaveTurns, newTicket, turnWorking } from "./fair_turn.ts";
import {
  failureOutcome,
  headOptions,
  type Outcome,
  type OutcomeOrigin,
  sendOutcome,
} from "./outcome.ts";
import { SocketReader } from "./socket_reader.ts";
import type { SocketConn } from "./tls_listener.ts";

/** What the connection is waiting for; it decides what a passed deadline means. */
type Phase = "fresh" | "idle" | "head" | "body" | "busy" | "write" | "closed";

/**
 * The slowest average a request body may arrive at, in bytes per second, once
 * `--body-timeout` has passed: Apache's mod_reqtimeout takes the same 500.
 */
const MIN_BODY_RATE = 500;
/** Under pressure, a body below that rate may be shed after this long. */
const SHED_BODY_AFTER_MS = 2000;

/**
 * First read buffers, reused from connection to connection: most requests fit
 * in 512 bytes, and a reader grows its own buffer for more.
 */
const READ_BUFFERS = new BufferPool(512, 256);

/** Whether buffered bytes hold more than empty lines: the start of a request head. */
function _startsHead(buffered: Uint8Array): boolean {
  for (const byte of buffered) if (byte !== 13 && byte !== 10) return true;
  return false;
}

/**
 * Serves one accepted connection until it closes.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * new Connection(conn, 1, context).run(() => console.log("closed"));
 * ```
 */
export class Connection implements Expiring {
  deadline = Infinity;
  #conn: SocketConn;
  #ctx: ServerContext;
  #tag: string;
  /** The socket peer's address. */
  #peer: string;
  /** The address the client connected to, as a Host names it; `null` when unknown. */
  #local: string | null;
  #reader: SocketReader;
  #scanner: HeadScanner;
  #phase: Phase = "fresh";
  #served = 0;
  /** Its place in the fair turns. */
  #ticket = newTicket();
  #headEnd = 0;
  /** A 408 is being sent: nothing more is read or answered. */
  #timedOut = false;
  /** When the current request's head was read, and its body bytes taken since. */
  #bodyStarted = 0;
  #bodyBytes = 0;
  /** The request being answered, for a 408 sent while its body is read. */
  #current: RequestHead | null = null;
  #done: ((connection: Connection) => void) | undefined;

  constructor(conn: SocketConn, id: number, ctx: ServerContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#tag = `w${ctx.workerId}#c${id}`;
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.#peer = remote.hostname ?? "-";
    const local = (conn.localAddr as Deno.NetAddr).hostname;
    this.#local = local ? hostOfAddress(local) : null;
    const { config } = ctx;
    this.#reader = new SocketReader(conn, {
      pool: READ_BUFFERS,
      maxSize: Math.max(65536, config.maxHead + 1024),
    });
    this.#scanner = new HeadScanner(config);
  }

  /** Whether the connection waits between requests (safe to close at shutdown). */
  get idle(): boolean {
    return this.#phase === "fresh" || this.#phase === "idle" || this.#phase === "head";
  }

  /**
   * Whether it may be closed to make room under pressure: idle, or receiving
   * a body slower than {@linkcode MIN_BODY_RATE} after {@linkcode SHED_BODY_AFTER_MS}.
   */
  get sheddable(): boolean {
    if (this.idle) return true;
    if (this.#phase !== "body") return false;
    const elapsed = Date.now() - this.#bodyStarted;
    return elapsed > SHED_BODY_AFTER_MS && this.#bodyBytes * 1000 < MIN_BODY_RATE * elapsed;
  }

  /** The socket peer's address. */
  get peer(): string {
    return this.#peer;
  }

  /**
   * Serves requests until the connection should close, closes it, then calls
   * `done`. Between requests nothing of the connection waits in a suspended
   * async function: with thousands of idle keep-alive connections, each
   * suspended frame (its registers, promise and resume closures) costs memory.
   */
  run(done: (connection: Connection) => void): void {
    this.#done = done;
    this.#ctx.sweeper.add(this);
    // Under turns a new connection waits for one too: when many connections
    // open at once, their first requests take turns with everyone else's.
    const turn = fairTurn(this.#ctx.sweeper.size, this.#ticket);
    if (turn === undefined) this.#awaitRequest();
    else turn.then(this.#resumed);
  }

  #resumed = (): void => this.#awaitRequest();

  #awaitRequest(): void {
    if (this.#reader.length > 0) {
      this.#serveBuffered();
      return;
    }
    this.#arm(this.#served === 0 ? "fresh" : "idle");
    this.#reader.fill().then(this.#arrived, this.#broken);
  }

  #arrived = (more: boolean): void => {
    if (!more || this.#timedOut || this.#phase === "closed") this.#finish();
    else this.#serveBuffered();
  };

  #broken = (error: unknown): void => this.#finish(error);

  /** Serves the requests whose bytes have arrived, then waits for more. */
  async #serveBuffered(): Promise<void> {
    try {
      do {
        // Closed while it waited for a turn (at the end of a drain): a request
        // already buffered is not answered, as nothing would reach the client.
        if (this.#phase === "closed") return this.#finish();
        if (!(await this.#serveOne())) return this.#finish();
        const turn = fairTurn(this.#ctx.sweeper.size, this.#ticket);
        if (turn !== undefined) await turn;
      } while (this.#reader.length > 0);
    } catch (error) {
      return this.#finish(error);
    }
    this.#awaitRequest();
  }

  #finish(error?: unknown): void {
    if (error !== undefined && this.#phase !== "closed") {
      this.#ctx.log.debug("connection error", { conn: this.#tag, error: String(error) });
    }
    this.close();
    leaveTurns(this.#ticket);
    // No read is pending here: each way to this point waited for the last read to settle.
    this.#reader.release();
    this.#ctx.sweeper.delete(this);
    const done = this.#done;
    this.#done = undefined;
    // Nothing awaits this call: an error here would be an unhandled rejection.
    try {
      done?.(this);
    } catch (failure) {
      this.#ctx.log.error("connection failed", { conn: this.#tag, error: String(failure) });
    }
  }

  /** Closes the socket now; pending reads and writes fail. */
  close(): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    this.deadline = Infinity;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Answers `error` (a 503 at admission) without reading anything, then closes. */
  async refuse(error: HttpError): Promise<void> {
    this.#ctx.sweeper.add(this);
    try {
      const outcome = this.#failure(error, this.#bare());
      await this.#send(outcome, true);
    } catch {
      /* the client went away */
    } finally {
      this.close();
      this.#reader.release();
      this.#ctx.sweeper.delete(this);
    }
  }

  expire(): void {
    const phase = this.#phase;
    if (phase === "head" || phase === "body") {
      this.#timeOut(phase);
    } else if (phase !== "busy") {
      this.close();
    }
  }

  async #serveOne(): Promise<boolean> {
    // Usually the whole head has arrived with the first read: no need to wait in #readHead.
    const ended = this.#headBuffered() ? null : await this.#readHead();
    if (ended !== null) return ended;
    turnWorking(this.#ticket);
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await this.#handle(started);
    } catch (error) {
      if (this.#phase === "closed") return false;
      outcome = this.#failure(error, { ...this.#bare(), started });
    }
    if (this.#timedOut) return false;
    if (outcome.error?.reason && this.#strike(outcome.client, outcome.error.reason)) {
      outcome.close = true;
    }
    const keepAlive = !outcome.close && outcome.request?.keepAlive === true &&
      !this.#ctx.draining() &&
      ++this.#served < this.#ctx.config.maxRequestsPerConnection;
    await this.#send(outcome, !keepAlive);
    this.#current = null;
    return keepAlive;
  }

  /**
   * Whether a complete head is buffered already (its end noted); any other
   * case, a malformed head included, is left to {@linkcode #readHead}.
   */
  #headBuffered(): boolean {
    if (this.#reader.length === 0) return false;
    this.#scanner.reset();
    let end: number;
    try {
      end = this.#scanner.scan(this.#reader.buffered(), this.#reader.length);
    } catch {
      return false;
    }
    if (end < 0) return false;
    this.#arm("head");
    this.#headEnd = end;
    return true;
  }

  /** Reads until a complete head is buffered: `null` then, else whether to go on. */
  async #readHead(): Promise<boolean | null> {
    this.#scanner.reset();
    const waiting = this.#served === 0 ? "fresh" : "idle";
    this.#arm(_startsHead(this.#reader.buffered()) ? "head" : waiting);
    for (;;) {
      let end: number;
      try {
        end = this.#scanner.scan(this.#reader.buffered(), this.#reader.length);
      } catch (error) {
        const outcome = this.#failure(error, this.#bare());
        this.#ctx.admission.takeToken(this.#peer);
        if (outcome.error?.reason) this.#strike(this.#peer, outcome.error.reason);
        await this.#send(outcome, true);
        return false;
      }
      if (end >= 0) {
        this.#headEnd = end;
        return null;
      }
      if (!(await this.#reader.fill()) || this.#timedOut || this.#phase === "closed") return false;
      // Empty lines before a request line are tolerated: they start no header timeout.
      if (this.#phase !== "head" && _startsHead(this.#reader.buffered())) this.#arm("head");
    }
  }

  /** The exchange's outcome; a head that does not parse or a banned client throws at once. */
  #handle(started: number): Promise<Outcome> {
    const head = this.#parse();
    const client = this.#ctx.proxies.clientAddress(this.#peer, head.fields);
    if (this.#ctx.admission.banned(client)) {
      this.close();
      throw new Error("Banned client");
    }
    this.#ctx.proxyWarning.notice(this.#peer, head.fields);
    const retryAfter = this.#ctx.admission.takeToken(client);
    const requestId = this.#ctx.common.requestId(fieldValue(head.fields, "x-request-id"));
    this.#current = head;
    return exchange(this.#site(), { head, requestId, started, client }, retryAfter);
  }

  /** Parses the buffered head (a parse error still takes a token) and consumes it. */
  #parse(): RequestHead {
    const end = this.#headEnd;
    try {
      return parseHead(this.#reader.buffered(), this.#scanner.headStart, end);
    } catch (error) {
      this.#ctx.admission.takeToken(this.#peer);
      throw error;
    } finally {
      this.#reader.consume(end);
      this.#bodyStarted = Date.now();
      this.#bodyBytes = 0;
      this.#arm("busy");
    }
  }

  /** Writes a `100 Continue`. */
  async #sendContinue(request: Request, requestId: string): Promise<void> {
    await this.#write(
      serializeHead(100, [], [], headOptions(this.#ctx, requestId, false, request)),
    );
  }

  #failure(error: unknown, origin: OutcomeOrigin): Outcome {
    return failureOutcome(error, origin, this.#ctx.log, this.#tag);
  }

  /** Where a failure outside any parsed head comes from: the peer, now. */
  #bare(): OutcomeOrigin {
    const requestId = this.#ctx.common.requestId(undefined);
    return { head: null, requestId, started: performance.now(), client: this.#peer };
  }

  #send(outcome: Outcome, close: boolean): Promise<void> {
    return sendOutcome(this.#ctx, this.#tag, (bytes) => this.#write(bytes), outcome, close);
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const previous = this.#phase;
    const timeout = this.#ctx.config.sendTimeoutMs;
    this.#phase = "write";
    let offset = 0;
    while (offset < bytes.length) {
      this.deadline = Date.now() + timeout;
      offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
    }
    if (this.#phase === "write" && previous !== "closed") this.#arm(previous);
  }

  /** What one request's exchange needs of this connection. */
  #site(): ExchangeSite {
    const reader = this.#reader;
    return {
      ctx: this.#ctx,
      local: this.#local,
      bodySource: {
        buffered: () => reader.buffered(),
        consume: (n) => {
          this.#bodyBytes += n;
          reader.consume(n);
        },
        fill: async () => {
          this.#armBody();
          const more = await reader.fill();
          if (this.#timedOut || this.#phase === "closed") {
            throw new Deno.errors.BadResource("Connection closed");
          }
          this.#arm("busy");
          return more;
        },
      },
      sendContinue: (request, requestId) => this.#sendContinue(request, requestId),
      failure: (error, origin) => this.#failure(error, origin),
      closed: () => this.#phase === "closed",
    };
  }

  /**
   * Waits for body bytes: no progress for `--body-timeout` is a 408, and so is
   * a body slower on average than {@linkcode MIN_BODY_RATE} once that time has
   * passed (a trickle of a byte now and then would otherwise hold a slot for ever).
   */
  #armBody(): void {
    this.#arm("body");
    const earned = this.#ctx.config.bodyTimeoutMs + (this.#bodyBytes * 1000) / MIN_BODY_RATE;
    this.deadline = Math.min(this.deadline, this.#bodyStarted + earned);
  }

  #arm(phase: Exclude<Phase, "closed">): void {
    if (this.#phase === "closed") return;
    this.#phase = phase;
    const { config } = this.#ctx;
    const timeout = phase === "fresh" || phase === "head"
      ? config.headerTimeoutMs
      : phase === "idle"
      ? config.idleTimeoutMs
      : phase === "body"
      ? config.bodyTimeoutMs
      : Infinity;
    this.deadline = timeout === Infinity ? Infinity : Date.now() + timeout;
  }

  #timeOut(phase: "head" | "body"): void {
    this.#timedOut = true;
    const error = new HttpError(408, "Request timeout", { close: true, reason: "timeout" });
    const head = phase === "body" ? this.#current : null;
    // Only a partial head counts towards a ban; a stalled body does not (SPEC §6).
    if (phase === "head") this.#strike(this.#peer, "timeout");
    this.#send(this.#failure(error, { ...this.#bare(), head }), true)
      .catch(() => {})
      .finally(() => this.close());
  }

  /**
   * Counts a security rejection against `client`; true when it started a ban.
   * A trusted proxy is never struck for what its clients send.
   */
  #strike(client: string, reason: SecurityReason): boolean {
    if (client === this.#peer && this.#ctx.proxies.trusts(this.#peer)) return false;
    return this.#ctx.admission.strike(client, reason);
  }
}
