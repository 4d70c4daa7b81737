/**
 * What came of one request (its response, or the error that replaced it),
 * and how it is recorded: the access line, the security event, the metrics.
 * @module
 */

import type { RequestHead } from "../http/head_parser.ts";
import type { HttpError } from "../http/http_error.ts";
import type { Request } from "../http/request.ts";
import {
  type BodyStream,
  type HttpResponse,
  type WriteOptions,
  writeResponse,
} from "../http/response.ts";
import { sanitizeForLog } from "../log.ts";
import type { ServerContext } from "./context.ts";

/** Releases a response's stream (a file handle) that will not be sent. */
export function releaseResponse(response: HttpResponse): void {
  if (response.body !== null && !(response.body instanceof Uint8Array)) response.body.close();
}

/** One answered (or refused) request. */
export interface Outcome {
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

/** What went out of a response: its body bytes, and whether it was cut short and by what. */
export interface Sent {
  body: number;
  /** `body`: the body stream failed; `conn`: the connection did; `null`: sent whole. */
  cut: "body" | "conn" | null;
}

/** Where an outcome comes from: the head (if any), the request id, the start time, the client. */
export interface OutcomeOrigin {
  head: RequestHead | null;
  requestId: string;
  started: number;
  client: string;
}

/**
 * Records a sent outcome: one access line (marked when cut short), a
 * security event when the error has a reason, and the metrics.
 *
 * @example
 * ```ts
 * import { recordOutcome } from "./outcome.ts";
 * import type { Outcome } from "./outcome.ts";
 * import type { ServerContext } from "./context.ts";
 * declare const context: ServerContext, outcome: Outcome;
 * recordOutcome(context, "w1#c1", outcome, { body: 2048, cut: null });
 * ```
 */
export function recordOutcome(
  ctx: ServerContext,
  tag: string,
  outcome: Outcome,
  sent: Sent,
): void {
  const { head, error } = outcome;
  const requestLine = head ? `${head.method} ${head.target} ${head.version}` : "-";
  const status = outcome.response.status;
  const durationMs = performance.now() - outcome.started;
  ctx.log.access({
    tag,
    client: outcome.client,
    requestLine: sanitizeForLog(requestLine),
    status,
    bytes: sent.body,
    durationMs,
    requestId: outcome.requestId,
    cut: sent.cut,
  });
  ctx.metrics.request(head?.method ?? "OTHER", status, sent.body, durationMs);
  if (error?.reason) {
    ctx.metrics.rejection(error.reason);
    ctx.log.security(error.reason, {
      conn: tag,
      client: outcome.client,
      status,
      request: requestLine,
      detail: error.message,
      rid: outcome.requestId,
    });
  }
}

/**
 * The options every response of this server is written with: the common
 * headers (Date, X-Request-Id, and the fixed ones), `Connection: close` when
 * asked, the request's HTTP version, and no body for HEAD.
 */
export function headOptions(
  ctx: ServerContext,
  requestId: string,
  close: boolean,
  head: Pick<RequestHead, "version" | "method"> | null,
  progress?: { body: number },
): WriteOptions {
  return {
    close,
    version: head?.version ?? "HTTP/1.1",
    common: ctx.common.forResponse(requestId),
    fixed: ctx.common.fixed,
    overrides: ctx.common.overrides,
    head: head?.method === "HEAD",
    progress,
  };
}

/**
 * Writes an outcome's response through `write`, then records it (also when
 * the write failed midway: the log says how many body bytes went out, and
 * that the response was cut short, by its body or by the connection).
 *
 * @example
 * ```ts
 * import { sendOutcome } from "./outcome.ts";
 * import type { Outcome } from "./outcome.ts";
 * import type { ServerContext } from "./context.ts";
 * declare const context: ServerContext, outcome: Outcome, conn: Deno.Conn;
 * await sendOutcome(context, "w1#c1", (bytes) => conn.write(bytes).then(() => {}), outcome, false);
 * ```
 */
export async function sendOutcome(
  ctx: ServerContext,
  tag: string,
  write: (bytes: Uint8Array) => Promise<void>,
  outcome: Outcome,
  close: boolean,
): Promise<void> {
  const sent: Sent = { body: 0, cut: null };
  try {
    await writeResponse(
      { write },
      _watched(outcome.response, sent),
      headOptions(ctx, outcome.requestId, close, outcome.head, sent),
    );
  } catch (error) {
    sent.cut ??= "conn";
    throw error;
  } finally {
    recordOutcome(ctx, tag, outcome, sent);
  }
}

/** `response` with a streamed body that notes in `sent` when it fails (bytes are left as they are). */
function _watched(response: HttpResponse, sent: Sent): HttpResponse {
  const { body } = response;
  if (body === null || body instanceof Uint8Array) return response;
  return {
    ...response,
    body: { length: body.length, chunks: () => _noting(body, sent), close: () => body.close() },
  };
}

/** The body's pieces; a failure of the body itself (not of the writer) is noted as `cut: "body"`. */
async function* _noting(body: BodyStream, sent: Sent): AsyncGenerator<Uint8Array> {
  try {
    yield* body.chunks();
  } catch (error) {
    sent.cut = "body";
    throw error;
  }
}
