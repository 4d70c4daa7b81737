/**
 * One client connection's life: read a head under the header timeout, hand the
 * request to the app, write the answer under the send timeout, keep alive or
 * close, and answer pipelined requests in order.
 * @module
 */

import { App } from "../handlers/app.ts";
import { BodyReader, type ByteSource } from "../http/body_reader.ts";
import { HeadScanner } from "../http/head_scanner.ts";
import { parseHead, type RequestHead } from "../http/head_parser.ts";
import { HttpError, type SecurityReason } from "../http/http_error.ts";
import { fieldValue, interpretHead, type Request } from "../http/request.ts";
import { type HttpResponse, serializeHead, writeResponse } from "../http/response.ts";
import { sanitizeForLog } from "../log.ts";
import type { ServerContext } from "./context.ts";
import type { Expiring } from "./deadlines.ts";
import { SocketReader } from "./socket_reader.ts";
import type { SocketConn } from "./tls_listener.ts";

/** What the connection is waiting for; it decides what a passed deadline means. */
type Phase = "fresh" | "idle" | "head" | "body" | "busy" | "write" | "closed";

/** Whether buffered bytes hold more than empty lines: the start of a request head. */
function _startsHead(buffered: Uint8Array): boolean {
  for (const byte of buffered) if (byte !== 13 && byte !== 10) return true;
  return false;
}

/** Releases a response's stream (a file handle) that will not be sent. */
function _release(response: HttpResponse): void {
  if (response.body !== null && !(response.body instanceof Uint8Array)) response.body.close();
}

/** One answered (or refused) request, for the logs. */
interface Outcome {
  /** The parsed head, when there was one (for the log, HEAD and the version). */
  head: RequestHead | null;
  /** The interpreted request, when the head was valid (for keep-alive). */
  request: Request | null;
  response: HttpResponse;
  error: HttpError | null;
  close: boolean;
  requestId: string;
  started: number;
  /** The client's address (the socket peer, or behind a trusted proxy the forwarded one). */
  client: string;
}

/**
 * Serves one accepted connection until it closes.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * await new Connection(conn, 1, context).run();
 * ```
 */
export class Connection implements Expiring {
  deadline = Infinity;
  #conn: SocketConn;
  #ctx: ServerContext;
  #tag: string;
  /** The socket peer's address. */
  #peer: string;
  #reader: SocketReader;
  #scanner: HeadScanner;
  #phase: Phase = "fresh";
  #served = 0;
  #headEnd = 0;
  /** A 408 is being sent: nothing more is read or answered. */
  #timedOut = false;
  /** The request being answered, for a 408 sent while its body is read. */
  #current: RequestHead | null = null;

  constructor(conn: SocketConn, id: number, ctx: ServerContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#tag = `w${ctx.workerId}#c${id}`;
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.#peer = remote.hostname ?? "-";
    const { config } = ctx;
    this.#reader = new SocketReader(conn, {
      initialSize: 1024,
      maxSize: Math.max(65536, config.maxHead + 1024),
    });
    this.#scanner = new HeadScanner(config);
  }

  /** Whether the connection waits between requests (safe to close at shutdown). */
  get idle(): boolean {
    return this.#phase === "fresh" || this.#phase === "idle" || this.#phase === "head";
  }

  /** Serves requests until the connection should close, then closes it. */
  async run(): Promise<void> {
    this.#ctx.sweeper.add(this);
    try {
      while (await this.#serveOne()) { /* next request */ }
    } catch (error) {
      if (this.#phase !== "closed") {
        this.#ctx.log.debug("connection error", { conn: this.#tag, error: String(error) });
      }
    } finally {
      this.close();
      this.#ctx.sweeper.delete(this);
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
      const outcome = this.#failure(error, null, this.#ctx.common.requestId(undefined), 0);
      outcome.started = performance.now();
      await this.#send(outcome, true);
    } catch {
      /* the client went away */
    } finally {
      this.close();
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
    const ended = await this.#readHead();
    if (ended !== null) return ended;
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await this.#handle(started);
    } catch (error) {
      if (this.#phase === "closed") return false;
      outcome = this.#failure(error, null, this.#ctx.common.requestId(undefined), started);
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
        const requestId = this.#ctx.common.requestId(undefined);
        const outcome = this.#failure(error, null, requestId, performance.now());
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

  async #handle(started: number): Promise<Outcome> {
    const end = this.#headEnd;
    let head: RequestHead;
    try {
      head = parseHead(this.#reader.buffered(), this.#scanner.headStart, end);
    } catch (error) {
      this.#ctx.admission.takeToken(this.#peer);
      throw error;
    } finally {
      this.#reader.consume(end);
    }
    this.#arm("busy");
    const client = this.#ctx.proxies.clientAddress(this.#peer, head.fields);
    if (this.#ctx.admission.banned(client)) {
      this.close();
      throw new Error("Banned client");
    }
    const retryAfter = this.#ctx.admission.takeToken(client);
    const requestId = this.#ctx.common.requestId(fieldValue(head.fields, "x-request-id"));
    let request: Request | null = null;
    let body: BodyReader | null = null;
    let continueSent = false;
    try {
      this.#current = head;
      request = interpretHead(head);
      body = new BodyReader(this.#bodySource(), request.body, this.#ctx.bodyLimits);
      // After the body reader exists, so the refusal path drains or closes for the body.
      if (retryAfter > 0) {
        throw new HttpError(429, "Too many requests", {
          reason: "rate",
          headers: [["Retry-After", String(retryAfter)]],
        });
      }
      const exchange = {
        request,
        client,
        body,
        sendContinue: async () => {
          if (!request!.expectContinue || continueSent) return;
          continueSent = true;
          await this.#write(
            serializeHead(100, [], [], this.#headOptions(requestId, false, request!)),
          );
        },
      };
      const response = await this.#ctx.app.handle(exchange);
      try {
        const close = await this.#finishBody(body, request.expectContinue && !continueSent);
        return { head, request, response, error: null, close, requestId, started, client };
      } catch (error) {
        _release(response);
        throw error;
      }
    } catch (error) {
      if (this.#phase === "closed") throw error;
      let outcome = this.#failure(error, head, requestId, started, client);
      if (!outcome.close && body?.pending) {
        try {
          outcome.close = await this.#finishBody(body, request!.expectContinue && !continueSent);
        } catch (framingError) {
          if ((this.#phase as Phase) === "closed") throw framingError;
          outcome = this.#failure(framingError, head, requestId, started, client);
        }
      }
      outcome.request = request;
      return outcome;
    }
  }

  /**
   * Reads what is left of a body so the connection can be reused: `true`
   * means close instead. A framing error in the rest (bad chunk, too large)
   * is thrown, so that it, not the handler's answer, is what the client gets.
   */
  async #finishBody(body: BodyReader, awaitingContinue: boolean): Promise<boolean> {
    if (!body.pending) return false;
    if (awaitingContinue) return true;
    await body.discard();
    return false;
  }

  #failure(
    error: unknown,
    head: RequestHead | null,
    requestId: string,
    started: number,
    client = this.#peer,
  ): Outcome {
    if (!(error instanceof HttpError)) {
      this.#ctx.log.error("request failed", { conn: this.#tag, error: String(error) });
      error = new HttpError(500, "Internal server error", { close: true });
    }
    const httpError = error as HttpError;
    const json = head !== null && App.wantsJson(head.target);
    return {
      head,
      request: null,
      response: httpError.toResponse(json),
      error: httpError,
      close: httpError.close,
      requestId,
      started,
      client,
    };
  }

  async #send(outcome: Outcome, close: boolean): Promise<void> {
    const progress = { body: 0 };
    try {
      await writeResponse(
        { write: (chunk) => this.#write(chunk) },
        outcome.response,
        {
          ...this.#headOptions(outcome.requestId, close, outcome.head),
          head: outcome.head?.method === "HEAD",
          progress,
        },
      );
    } finally {
      this.#log(outcome, progress.body);
    }
  }

  #headOptions(requestId: string, close: boolean, head: RequestHead | null) {
    return {
      close,
      version: head?.version ?? "HTTP/1.1",
      common: this.#ctx.common.forResponse(requestId),
      overrides: this.#ctx.common.overrides,
    };
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const previous = this.#phase;
    const timeout = this.#ctx.config.sendTimeoutMs;
    this.#phase = "write";
    let offset = 0;
    while (offset < bytes.length) {
      this.deadline = Date.now() + timeout;
      offset += await this.#conn.write(bytes.subarray(offset));
    }
    if (this.#phase === "write" && previous !== "closed") this.#arm(previous);
  }

  #bodySource(): ByteSource {
    const reader = this.#reader;
    return {
      buffered: () => reader.buffered(),
      consume: (n) => reader.consume(n),
      fill: async () => {
        this.#arm("body");
        const more = await reader.fill();
        if (this.#timedOut || this.#phase === "closed") {
          throw new Deno.errors.BadResource("Connection closed");
        }
        this.#arm("busy");
        return more;
      },
    };
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
    this.deadline = Date.now() + timeout;
  }

  #timeOut(phase: "head" | "body"): void {
    this.#timedOut = true;
    const requestId = this.#ctx.common.requestId(undefined);
    const error = new HttpError(408, "Request timeout", { close: true, reason: "timeout" });
    const head = phase === "body" ? this.#current : null;
    // Only a partial head counts towards a ban; a stalled body does not (SPEC §6).
    if (phase === "head") this.#strike(this.#peer, "timeout");
    this.#send(this.#failure(error, head, requestId, performance.now()), true)
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

  #log(outcome: Outcome, bytes: number): void {
    const { head, error } = outcome;
    const requestLine = head ? `${head.method} ${head.target} ${head.version}` : "-";
    const status = outcome.response.status;
    const durationMs = performance.now() - outcome.started;
    this.#ctx.log.access({
      tag: this.#tag,
      client: outcome.client,
      requestLine: sanitizeForLog(requestLine),
      status,
      bytes,
      durationMs,
      requestId: outcome.requestId,
    });
    this.#ctx.metrics.request(head?.method ?? "OTHER", status, bytes, durationMs);
    if (status === 201) this.#ctx.metrics.upload();
    if (error?.reason) {
      this.#ctx.metrics.rejection(error.reason);
      this.#ctx.log.security(error.reason, {
        conn: this.#tag,
        client: outcome.client,
        status,
        request: requestLine,
        detail: error.message,
        rid: outcome.requestId,
      });
    }
  }
}
