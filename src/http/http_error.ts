/**
 * The one error type for HTTP failures: it knows its status, whether the
 * connection must close, and the reason code a security log line carries.
 * @module
 */

import { type HeaderPairs, withHeaders } from "./headers.ts";
import type { HttpResponse } from "./response.ts";
import { STATUS_CODE, STATUS_TEXT } from "./status.ts";

const encoder = new TextEncoder();

/** Reason codes of security events (`docs/security.md`). */
export const SECURITY_REASONS = [
  "parse",
  "traversal",
  "host",
  "limit",
  "timeout",
  "type",
  "rate",
  "ban",
  "auth",
] as const;

/** Why a request was refused, for the security log and metrics. */
export type SecurityReason = typeof SECURITY_REASONS[number];

/** Options of {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /** Close the connection after the response. @default false */
  close?: boolean;
  /** Log as a security event with this reason. @default undefined */
  reason?: SecurityReason;
  /** Extra response headers such as `Allow`. @default [] */
  headers?: readonly (readonly [string, string])[];
}

/**
 * An HTTP failure that becomes a short error response.
 *
 * @example
 * ```ts
 * import { HttpError } from "./http_error.ts";
 * throw new HttpError(400, "Bad request line", { close: true, reason: "parse" });
 * ```
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly close: boolean;
  readonly reason: SecurityReason | undefined;
  readonly headers: readonly (readonly [string, string])[];

  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    super(message ?? STATUS_TEXT[status] ?? "Error");
    this.status = status;
    this.close = options.close ?? false;
    this.reason = options.reason;
    this.headers = options.headers ?? [];
  }

  /** The same error with `extra` headers added (see {@linkcode withHeaders}). */
  withHeaders(extra: HeaderPairs): HttpError {
    return new HttpError(this.status, this.message, {
      close: this.close,
      reason: this.reason,
      headers: withHeaders(this.headers, extra),
    });
  }

  /**
   * The short error response: plain text, or `{"status":"error","message":…}`
   * when `json` is set. Never a stack trace or a file-system path.
   */
  toResponse(json = false): HttpResponse {
    const text = STATUS_TEXT[this.status] ?? "Error";
    const body = json
      ? JSON.stringify({ status: "error", message: this.message })
      : (this.message === text ? text : `${text}: ${this.message}`) + "\n";
    const type = json ? "application/json" : "text/plain; charset=utf-8";
    return {
      status: this.status,
      headers: [...this.headers, ["Content-Type", type]],
      body: encoder.encode(body),
    };
  }
}

/**
 * Shorthand for the 400 every malformed message gets: close, reason `parse`.
 *
 * @example
 * ```ts
 * import { badRequest } from "./http_error.ts";
 * throw badRequest("Invalid header name");
 * ```
 */
export function badRequest(message: string): HttpError {
  return new HttpError(STATUS_CODE.BadRequest, message, { close: true, reason: "parse" });
}
