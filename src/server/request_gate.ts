/**
 * The per-request checks between a parsed head and its exchange: who the
 * client is (behind a trusted proxy), whether it is banned, its rate-limit
 * token and its request id; and the strikes its rejections count.
 * @module
 */

import type { RequestHead } from "../http/head_parser.ts";
import type { SecurityReason } from "../http/http_error.ts";
import { fieldValue } from "../http/request.ts";
import type { ServerContext } from "./context.ts";

/** A request let through the gate. */
export interface Admitted {
  /** The client's address: the peer, or who a trusted proxy names. */
  client: string;
  /** 0, or the seconds for a 429's `Retry-After` when the rate limit refuses it. */
  retryAfter: number;
  requestId: string;
}

/**
 * Checks the request `head` that `peer` sent; `null` when its client is
 * banned (the connection is then closed without an answer).
 *
 * @example
 * ```ts
 * import { admitRequest } from "./request_gate.ts";
 * import type { ServerContext } from "./context.ts";
 * import type { RequestHead } from "../http/head_parser.ts";
 * declare const ctx: ServerContext, head: RequestHead;
 * const admitted = admitRequest(ctx, "192.0.2.7", head);
 * if (admitted?.retryAfter === 0) console.log("serve", admitted.requestId);
 * ```
 */
export function admitRequest(
  ctx: ServerContext,
  peer: string,
  head: RequestHead,
): Admitted | null {
  const client = ctx.proxies.clientAddress(peer, head.fields);
  if (ctx.admission.banned(client)) return null;
  ctx.proxyWarning.notice(peer, head.fields);
  const retryAfter = ctx.admission.takeToken(client);
  const requestId = ctx.common.requestId(fieldValue(head.fields, "x-request-id"));
  return { client, retryAfter, requestId };
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
