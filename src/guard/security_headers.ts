/**
 * The security headers every response carries (`docs/security.md`), with `--header`
 * additions and replacements applied.
 * @module
 */

/** Options of {@linkcode securityHeaders}. */
export interface SecurityHeaderOptions {
  /** Served over TLS: add HSTS. @default false */
  tls?: boolean;
  /** `--header` entries: each adds a header or replaces one of the same name. @default [] */
  extra?: readonly (readonly [string, string])[];
}

const BASE_HEADERS: readonly [string, string][] = [
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
];

/**
 * The security headers for every response, `--header` entries merged in.
 *
 * @example
 * ```ts
 * import { securityHeaders } from "./security_headers.ts";
 * securityHeaders({ extra: [["X-Frame-Options", "SAMEORIGIN"]] });
 * ```
 */
export function securityHeaders(options: SecurityHeaderOptions = {}): [string, string][] {
  const headers: [string, string][] = BASE_HEADERS.map(([name, value]) => [name, value]);
  if (options.tls) {
    headers.push(["Strict-Transport-Security", "max-age=31536000; includeSubDomains"]);
  }
  for (const [name, value] of options.extra ?? []) {
    const index = headers.findIndex(([existing]) => existing.toLowerCase() === name.toLowerCase());
    if (index >= 0) headers[index] = [name, value];
    else headers.push([name, value]);
  }
  return headers;
}
