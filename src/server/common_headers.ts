/**
 * The headers every response carries (`docs/protocol.md`, `docs/security.md`): Date, Server, X-Request-Id
 * and the security headers, and the set of names `--header` replaces.
 * @module
 */

import { type SecurityHeaderOptions, securityHeaders } from "../guard/security_headers.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Builds common response headers; the Date value is cached per second.
 *
 * @example
 * ```ts
 * import { CommonHeaders } from "./common_headers.ts";
 * const common = new CommonHeaders({});
 * common.forResponse(common.requestId(undefined));
 * ```
 */
export class CommonHeaders {
  /** Server and the security headers, encoded once: the same on every response. */
  readonly fixed: Uint8Array;
  /** Lowercase names of headers that replace a handler's own (from `--header`). */
  readonly overrides: ReadonlySet<string>;
  #date = "";
  #dateSecond = -1;
  #prefix = crypto.randomUUID().slice(0, 8);
  #counter = 0;

  constructor(options: SecurityHeaderOptions) {
    const lines = [["Server", "bastion"], ...securityHeaders(options)]
      .map(([name, value]) => `${name}: ${value}\r\n`);
    this.fixed = new TextEncoder().encode(lines.join(""));
    this.overrides = new Set((options.extra ?? []).map(([name]) => name.toLowerCase()));
  }

  /** The client's request id if it is 1–64 of `[A-Za-z0-9._-]`, else a fresh one. */
  requestId(offered: string | undefined): string {
    if (offered !== undefined && REQUEST_ID.test(offered)) return offered;
    return `${this.#prefix}${(++this.#counter).toString(16).padStart(8, "0")}`;
  }

  /** The common headers that change from one response to the next (besides {@linkcode fixed}). */
  forResponse(requestId: string): [string, string][] {
    return [["Date", this.#httpDate()], ["X-Request-Id", requestId]];
  }

  #httpDate(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.#dateSecond) {
      this.#dateSecond = second;
      this.#date = new Date(second * 1000).toUTCString();
    }
    return this.#date;
  }
}
