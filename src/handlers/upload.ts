/**
 * POST /upload (`docs/protocol.md`): content type, a share of the in-flight budget, the
 * body streamed to disk with its JSON checked as it arrives, atomic storage,
 * and the 201 answer.
 * @module
 */

import type { Exchange } from "../http/handler.ts";
import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";
import { fieldValue, fieldValues, type Request } from "../http/request.ts";
import type { HttpResponse } from "../http/response.ts";
import type { BearerAuth } from "../guard/upload_auth.ts";
import { JsonChecker } from "./json_check.ts";
import type { UploadQuota } from "../shared/upload_quota.ts";
import type { Received, UploadStore } from "./upload_store.ts";

/** Options of {@linkcode handleUpload}. */
export interface UploadOptions {
  store: UploadStore;
  quota: UploadQuota;
  /** `null` when uploads need no token. */
  auth: BearerAuth | null;
  /** Deepest JSON nesting accepted. */
  maxDepth: number;
  /**
   * Bytes of upload bodies being received at once (`--upload-inflight`, per
   * worker): each upload holds its declared length, or `maxBody` when chunked,
   * from its head to its end (all of it, if more). A budget of the same kind
   * as the quota.
   */
  inflight: UploadQuota;
  /** The body limit: what a chunked body may grow to. */
  maxBody: number;
}

/**
 * Seconds a client is told to wait when the in-flight budget is spent: a share
 * comes free as soon as any upload in flight ends, unlike a connection slot.
 */
const BUSY_RETRY_AFTER = "1";

const JSON_TYPE = /^application\/json[ \t]*(;[ \t]*charset[ \t]*=[ \t]*("utf-8"|utf-8)[ \t]*)?$/i;
const encoder = new TextEncoder();

/**
 * Whether a Content-Type value is `application/json`, optionally with
 * `charset=utf-8`, in any case and spacing.
 *
 * @example
 * ```ts
 * import { isJsonContentType } from "./upload.ts";
 * isJsonContentType("Application/JSON ; charset=UTF-8"); // true
 * ```
 */
export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && JSON_TYPE.test(value.trim());
}

/**
 * Stores the request's JSON body and answers 201 with its location.
 *
 * @example
 * ```ts
 * import { handleUpload } from "./upload.ts";
 * import type { Exchange } from "../http/handler.ts";
 * import type { UploadOptions } from "./upload.ts";
 * declare const exchange: Exchange, store: UploadOptions["store"];
 * declare const quota: UploadOptions["quota"], inflight: UploadOptions["inflight"];
 * const response = await handleUpload(exchange, {
 *   store, quota, auth: null, maxDepth: 64, inflight, maxBody: 1048576,
 * });
 * ```
 */
export async function handleUpload(
  exchange: Exchange,
  options: UploadOptions,
): Promise<HttpResponse> {
  const { request, body } = exchange;
  options.auth?.check(fieldValue(request.fields, "authorization"));
  const types = fieldValues(request.fields, "content-type");
  if (types.length !== 1 || !isJsonContentType(types[0])) {
    throw new HttpError(STATUS_CODE.UnsupportedMediaType, "Content-Type must be application/json", {
      reason: "type",
    });
  }
  if (request.body.kind === "none") throw new HttpError(STATUS_CODE.BadRequest, "Empty body");
  const share = _inflightShare(request, options);
  try {
    await exchange.sendContinue();
    const received = await options.store.receive(body, new JsonChecker(options.maxDepth));
    return _created(await _store(received, options));
  } finally {
    options.inflight.release(share);
  }
}

/** The 201 answer for a stored upload. */
function _created(name: string): HttpResponse {
  const filepath = `/uploads/${name}`;
  return {
    status: 201,
    headers: [["Location", filepath], ["Content-Type", "application/json"]],
    body: encoder.encode(
      JSON.stringify({ status: "success", message: "File created successfully", filepath }),
    ),
  };
}

/**
 * Takes the request's share of the in-flight budget, or refuses it with 503
 * and closes. A body larger than the whole budget takes all of it: it is
 * received alone.
 */
function _inflightShare(request: Request, options: UploadOptions): number {
  const claim = request.body.kind === "length" ? request.body.length : options.maxBody;
  const share = Math.min(claim, options.inflight.limit);
  if (!options.inflight.reserve(share)) {
    // Closed, not drained: under a flood of uploads, reading bodies only to
    // drop them would cost the time that the ones in flight and every other
    // client need.
    throw new HttpError(STATUS_CODE.ServiceUnavailable, "Too many uploads in progress", {
      close: true,
      headers: [["Retry-After", BUSY_RETRY_AFTER]],
    });
  }
  return share;
}

/** Publishes a received body within the quota (507 beyond it, and the temporary goes). */
async function _store(received: Received, options: UploadOptions): Promise<string> {
  if (!options.quota.reserve(received.size)) {
    await options.store.discard(received);
    throw new HttpError(STATUS_CODE.InsufficientStorage, "Upload quota exhausted");
  }
  try {
    return await options.store.publish(received);
  } catch (error) {
    options.quota.release(received.size);
    throw error;
  }
}
