/**
 * Cross-origin access (`docs/security.md`) when `--cors ORIGIN` is given: response headers
 * for GET/HEAD/POST from that origin (or any, with `*`) and preflight answers.
 * @module
 */

import { fieldValue } from "../http/request.ts";

/** Methods a cross-origin page may use. */
const CORS_METHODS = new Set(["GET", "HEAD", "POST"]);
const ALLOWED_HEADERS = "Content-Type, Authorization, X-Request-Id";
const MAX_AGE_SECONDS = "600";

/**
 * CORS policy for one configured origin.
 *
 * @example
 * ```ts
 * import { CorsPolicy } from "./cors.ts";
 * const cors = new CorsPolicy("https://app.example");
 * cors.headers([["origin", "https://app.example"]], "GET");
 * ```
 */
export class CorsPolicy {
  #origin: string;

  constructor(origin: string) {
    this.#origin = origin;
  }

  /** Whether `fields` make a preflight request (OPTIONS with Origin and a requested method). */
  static isPreflight(method: string, fields: [string, string][]): boolean {
    return method === "OPTIONS" && fieldValue(fields, "origin") !== undefined &&
      fieldValue(fields, "access-control-request-method") !== undefined;
  }

  /** Headers for an actual (non-preflight) response; none when the origin is not allowed. */
  headers(fields: [string, string][], method: string): [string, string][] {
    const allowed = this.#allowedOrigin(fields);
    if (allowed === null || !CORS_METHODS.has(method)) return this.#vary();
    return [["Access-Control-Allow-Origin", allowed], ...this.#vary()];
  }

  /**
   * Headers for a preflight answer to a resource allowing `allow` methods;
   * none when the origin or the requested method is not allowed.
   */
  preflight(fields: [string, string][], allow: string): [string, string][] {
    const allowed = this.#allowedOrigin(fields);
    const method = fieldValue(fields, "access-control-request-method") ?? "";
    const methods = allow.split(", ").filter((name) => CORS_METHODS.has(name));
    if (allowed === null || !methods.includes(method)) return this.#vary();
    return [
      ["Access-Control-Allow-Origin", allowed],
      ["Access-Control-Allow-Methods", methods.join(", ")],
      ["Access-Control-Allow-Headers", ALLOWED_HEADERS],
      ["Access-Control-Max-Age", MAX_AGE_SECONDS],
      ...this.#vary(),
    ];
  }

  #allowedOrigin(fields: [string, string][]): string | null {
    const origin = fieldValue(fields, "origin");
    if (origin === undefined) return null;
    if (this.#origin === "*") return "*";
    return origin === this.#origin ? origin : null;
  }

  #vary(): [string, string][] {
    return this.#origin === "*" ? [] : [["Vary", "Origin"]];
  }
}
