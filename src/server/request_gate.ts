/**
 * The per-request checks between a parsed head and its exchange: who the
 * client is (behind a trusted proxy), whether it is banned, its rate-limit
 * token and its request id; and the strikes its rejections count.
 * @module
 */

import type { RequestHead } from "../http/head_parser.ts";
import { HttpError, type SecurityReason } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { fieldValue } from "../http/request.ts";
import type { ServerContext } from "./context.ts";

/** A request let through the gate. */
export interface Admitted {
  /** The client's address: the peer, or who a trusted proxy names. */
  client: string;
  /** Why it is answered with an error instead of served (a 429, or a 403 for a ban), or `null`. */
  refusal: HttpError | null;
  requestId: string;
}

/**
 * Checks the request `head` that `peer` sent; `null` when the peer itself is
 * banned (the connection is then closed without an answer). A banned client
 * behind a trusted proxy gets a 403 instead: the proxy's connection carries
 * other clients' requests, and a proxy that saw its upstream close on it would
 * count the instance as failing.
 *
 * @example
 * ```ts
 * import { admitRequest } from "./request_gate.ts";
 * import type { ServerContext } from "./context.ts";
 * import type { RequestHead } from "../http/head_parser.ts";
 * declare const ctx: ServerContext, head: RequestHead;
 * const admitted = admitRequest(ctx, "192.0.2.7", head);
 * if (admitted?.refusal === null) console.log("serve", admitted.requestId);
 * ```
 */
export function admitRequest(
  ctx: ServerContext,
  peer: string,
  head: RequestHead,
): Admitted | null {
  const client = ctx.proxies.clientAddress(peer, head.fields);
  const banned = ctx.admission.banned(client);
  if (banned && client === peer) return null;
  ctx.proxyWarning.notice(peer, head.fields);
  const requestId = ctx.common.requestId(fieldValue(head.fields, "x-request-id"));
  if (banned) return { client, refusal: _bannedBehindProxy(), requestId };
  const retryAfter = ctx.admission.takeToken(client);
  return { client, refusal: retryAfter > 0 ? _tooMany(retryAfter) : null, requestId };
}

/**
 * Counts a security rejection against `client`, which came through `peer`;
 * true when it started a ban. A trusted proxy is never struck for what its
 * clients send.
 */
export function strike(
  ctx: ServerContext,
  peer: string,
  client: string,
  reason: SecurityReason,
): boolean {
  if (client === peer && ctx.proxies.trusts(peer)) return false;
  return ctx.admission.strike(client, reason);
}

function _tooMany(retryAfter: number): HttpError {
  return new HttpError(STATUS_CODE.TooManyRequests, "Too many requests", {
    reason: "rate",
    headers: [["Retry-After", String(retryAfter)]],
  });
}

function _bannedBehindProxy(): HttpError {
  return new HttpError(STATUS_CODE.Forbidden, "Forbidden", { reason: "ban" });
}
