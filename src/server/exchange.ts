/**
 * One request's exchange on a connection: the head interpreted, the handler's
 * answer, and the request body settled either way (read to its end so that
 * the connection can be reused, or the connection marked to close). A refusal
 * (a 429, a handler's HttpError, a framing error in the body) becomes its
 * outcome here; only a closed connection makes it throw.
 * @module
 */

import { type BodyLimits, BodyReader, type ByteSource } from "../http/body_reader.ts";
import type { Handler } from "../http/handler.ts";
import { HttpError } from "../http/http_error.ts";
import { interpretHead, type Request } from "../http/request.ts";
import { type Outcome, type OutcomeOrigin, releaseResponse } from "./outcome.ts";
import type { Responder } from "./responder.ts";

/** What an exchange works with: the handler, and the connection's bytes in and out. */
export interface ExchangeIo {
  handler: Handler;
  bodyLimits: BodyLimits;
  /** The connection's read buffer, as the source of the request body. */
  body: ByteSource;
  /** Writes the `100 Continue`; makes failures into outcomes. */
  responder: Responder;
  /** The connection's local address, as a Host names it; `null` when unknown. */
  local: string | null;
}

/**
 * Interprets the head, lets the handler answer, and settles the body either
 * way; a `refusal` (a 429 or 403 from the request gate) answers it instead.
 *
 * @example
 * ```ts
 * import { exchange } from "./exchange.ts";
 * import type { ExchangeIo } from "./exchange.ts";
 * import type { RequestHead } from "../http/head_parser.ts";
 * declare const io: ExchangeIo, head: RequestHead;
 * const outcome = await exchange(io, {
 *   head, requestId: "r1", started: performance.now(), client: "192.0.2.7",
 * }, null);
 * ```
 */
export async function exchange(
  io: ExchangeIo,
  origin: OutcomeOrigin,
  refusal: HttpError | null,
): Promise<Outcome> {
  let request: Request | null = null;
  let body: BodyReader | null = null;
  let continued: Continuer | null = null;
  try {
    request = interpretHead(origin.head!);
    body = new BodyReader(io.body, request.body, io.bodyLimits);
    // After the body reader exists, so the refusal path drains or closes for the body.
    if (refusal !== null) throw refusal;
    if (request.expectContinue) continued = new Continuer(io.responder, request, origin.requestId);
    const response = await io.handler.handle({
      request,
      client: origin.client,
      local: io.local,
      body,
      sendContinue: continued === null ? _noContinue : continued.send,
    });
    try {
      const close = await _finishBody(body, continued !== null && !continued.sent);
      return { ...origin, request, response, error: null, close };
    } catch (error) {
      releaseResponse(response);
      throw error;
    }
  } catch (error) {
    const refused = { error, origin, request, body, continueSent: continued?.sent ?? false };
    return await _refused(io.responder, refused);
  }
}

/** A request's `100 Continue`, sent at most once, when the handler is about to read the body. */
class Continuer {
  sent = false;
  #responder: Responder;
  #request: Request;
  #requestId: string;

  constructor(responder: Responder, request: Request, requestId: string) {
    this.#responder = responder;
    this.#request = request;
    this.#requestId = requestId;
  }

  send = async (): Promise<void> => {
    if (this.sent) return;
    this.sent = true;
    await this.#responder.sendContinue(this.#request, this.#requestId);
  };
}

/** `sendContinue` of a request that did not ask for `100 Continue` (most of them). */
function _noContinue(): Promise<void> {
  return Promise.resolve();
}

/** A request refused before or while it was handled. */
interface Refused {
  error: unknown;
  origin: OutcomeOrigin;
  request: Request | null;
  body: BodyReader | null;
  continueSent: boolean;
}

/** The outcome for a refused request, with its body drained, or the connection marked to close. */
async function _refused(responder: Responder, refused: Refused): Promise<Outcome> {
  const { error, origin, request, body } = refused;
  if (responder.closed) throw error;
  let outcome = responder.failure(error, origin);
  if (!outcome.close && body?.pending) {
    try {
      outcome.close = await _finishBody(body, request!.expectContinue && !refused.continueSent);
    } catch (framingError) {
      if (responder.closed) throw framingError;
      outcome = responder.failure(framingError, origin);
    }
  }
  outcome.request = request;
  return outcome;
}

/**
 * Reads what is left of a body so the connection can be reused: `true`
 * means close instead. A framing error in the rest (bad chunk, too large)
 * is thrown, so that it, not the handler's answer, is what the client gets.
 */
async function _finishBody(body: BodyReader, awaitingContinue: boolean): Promise<boolean> {
  if (!body.pending) return false;
  if (awaitingContinue) return true;
  await body.discard();
  return false;
}
