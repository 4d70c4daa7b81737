/**
 * What the server asks of whatever answers its requests: one request in, a
 * response description out; and, for a request refused before or while it
 * was handled, the look of the error. The server knows only this interface;
 * `handlers/app.ts` implements it.
 * @module
 */

import type { BodyReader } from "./body_reader.ts";
import type { HttpError } from "./http_error.ts";
import type { Request } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/** The request-scoped things a handler may use. */
export interface Exchange {
  readonly request: Request;
  /** The client's address (socket peer, or the forwarded one behind a trusted proxy). */
  readonly client: string;
  /** The address the client connected to, as a Host names it (`[…]` for IPv6): an allowed host. */
  readonly local: string | null;
  readonly body: BodyReader;
  /** Sends `100 Continue` if the client asked for it; call just before reading the body. */
  sendContinue(): Promise<void>;
}

/**
 * Answers requests.
 *
 * @example
 * ```ts
 * import type { Handler } from "./handler.ts";
 * import type { HttpError } from "./http_error.ts";
 * const hello: Handler = {
 *   handle: () => Promise.resolve({ status: 200, headers: [], body: new TextEncoder().encode("hi") }),
 *   errorResponse: (error: HttpError) => error.toResponse(),
 * };
 * ```
 */
export interface Handler {
  /** Answers one request; throws {@linkcode HttpError} for a refusal. */
  handle(exchange: Exchange): Promise<HttpResponse>;
  /**
   * The response for `error`, refusing a request for `target` (`null` when no
   * head could be read): plain text or JSON, as the handler's clients expect.
   */
  errorResponse(error: HttpError, target: string | null): HttpResponse;
}
