/**
 * POST /upload (SPEC §4): content type, body, JSON validation, atomic storage,
 * and the 201 answer.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { fieldValue, fieldValues } from "../http/request.ts";
import type { HttpResponse } from "../http/response.ts";
import type { BearerAuth } from "../guard/upload_auth.ts";
import type { Exchange } from "./app.ts";
import { validateJson } from "./json_check.ts";
import type { UploadQuota } from "./upload_quota.ts";
import type { UploadStore } from "./upload_store.ts";

/** Options of {@linkcode handleUpload}. */
export interface UploadOptions {
  store: UploadStore;
  quota: UploadQuota;
  /** `null` when uploads need no token. */
  auth: BearerAuth | null;
  /** Deepest JSON nesting accepted. */
  maxDepth: number;
}

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
 * ```ts ignore
 * import { handleUpload } from "./upload.ts";
 * const response = await handleUpload(exchange, { store, quota, auth: null, maxDepth: 64 });
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
    throw new HttpError(415, "Content-Type must be application/json", { reason: "type" });
  }
  if (request.body.kind === "none") throw new HttpError(400, "Empty body");
  await exchange.sendContinue();
  const bytes = await body.readAll();
  validateJson(bytes, options.maxDepth);
  if (!options.quota.reserve(bytes.length)) {
    throw new HttpError(507, "Upload quota exhausted");
  }
  let name: string;
  try {
    name = await options.store.save(bytes);
  } catch (error) {
    options.quota.release(bytes.length);
    throw error;
  }
  const filepath = `/uploads/${name}`;
  return {
    status: 201,
    headers: [["Location", filepath], ["Content-Type", "application/json"]],
    body: encoder.encode(
      JSON.stringify({ status: "success", message: "File created successfully", filepath }),
    ),
  };
}
