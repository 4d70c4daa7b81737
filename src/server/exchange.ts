/**
 * One request's exchange on a connection: the head interpreted, the app's
 * answer, and the request body settled either way (read to its end so that
 * the connection can be reused, or the connection marked to close). A refusal
 * (a 429, a handler's HttpError, a framing error in the body) becomes its
 * outcome here; only a closed connection makes it throw.
 * @module
 */

import { BodyReader, type ByteSource } from "../http/body_reader.ts";
import { HttpError } from "../http/http_error.ts";
import { interpretHead, type Request } from "../http/request.ts";
import type { ServerContext } from "./context.ts";
import { type Outcome, type OutcomeOrigin, releaseResponse } from "./outcome.ts";

/** What an exchange needs from its connection. */
export interface ExchangeSite {
  ctx: ServerContext;
  /** The connection's local address, as a Host names it; `null` when unknown. */
  local: string | null;
  /** The connection's read buffer, as the source of the request body. */
  bodySource: ByteSource;
  /** Writes a `100 Continue` for `request`. */
  sendContinue(request: Request, requestId: string): Promise<void>;
  /** The outcome for a failure. */
  failure(error: unknown, origin: OutcomeOrigin): Outcome;
  /** Whether the connection has closed: then a failure is thrown, not answered. */
  closed(): boolean;
}

/**
 * Interprets the head, lets the app answer, and settles the body either way;
 * `retryAfter` above 0 refuses the request with a 429 instead.
 *
 * @example
 * ```ts ignore
 * import { exchange } from "./exchange.ts";
 * const outcome = await exchange(site, { head, requestId, started, client }, 0);
 * ```
 */
export async function exchange(
  site: ExchangeSite,
  origin: OutcomeOrigin,
  retryAfter: number,
): Promise<Outcome> {
  let request: Request | null = null;
  let body: BodyReader | null = null;
  let continued: Continuer | null = null;
  try {
    request = interpretHead(origin.head!);
    body = new BodyReader(site.bodySource, request.body, site.ctx.bodyLimits);
    // After the body reader exists, so the refusal path drains or closes for the body.
    if (retryAfter > 0) {
      throw new HttpError(429, "Too many requests", {
        reason: "rate",
        headers: [["Retry-After", String(retryAfter)]],
      });
    }
    if (request.expectContinue) continued = new Continuer(site, request, origin.requestId);
    const response = await site.ctx.app.handle({
      request,
      client: origin.client,
      local: site.local,
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
    return await _refused(site, error, origin, request, body, continued?.sent ?? false);
  }
}

/** A request's `100 Continue`, sent at most once, when the handler is about to read the body. */
class Continuer {
  sent = false;
  #site: ExchangeSite;
  #request: Request;
  #requestId: string;

  constructor(site: ExchangeSite, request: Request, requestId: string) {
    this.#site = site;
    this.#request = request;
    this.#requestId = requestId;
  }

  send = async (): Promise<void> => {
    if (this.sent) return;
    this.sent = true;
    await this.#site.sendContinue(this.#request, this.#requestId);
  };
}

/** `sendContinue` of a request that did not ask for `100 Continue` (most of them). */
function _noContinue(): Promise<void> {
  return Promise.resolve();
}

/** The outcome for a refused request, with its body drained, or the connection marked to close. */
async function _refused(
  site: ExchangeSite,
  error: unknown,
  origin: OutcomeOrigin,
  request: Request | null,
  body: BodyReader | null,
  continueSent: boolean,
): Promise<Outcome> {
  if (site.closed()) throw error;
  let outcome = site.failure(error, origin);
  if (!outcome.close && body?.pending) {
    try {
      outcome.close = await _finishBody(body, request!.expectContinue && !continueSent);
    } catch (framingError) {
      if (site.closed()) throw framingError;
      outcome = site.failure(framingError, origin);
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
