/**
 * The warning for forwarded headers from a peer that is not a trusted proxy
 * (`docs/security.md`): such a peer is likely a reverse proxy the operator forgot to
 * name with `--trust-proxy`, and then all its clients share one rate limit
 * and one ban.
 * @module
 */

import type { TrustedProxies } from "./trust_proxy.ts";

/** Options of {@linkcode ProxyWarning}. */
export interface ProxyWarningOptions {
  /** Who is trusted already: no warning for them. */
  proxies: TrustedProxies;
  /** Writes the warning (a logger's `warn`). */
  warn(message: string, fields: Record<string, string>): void;
  /** Least time between two warnings. @default 60_000 */
  intervalMs?: number;
  /** How many peers are remembered as told about; the oldest is forgotten first. @default 1024 */
  maxPeers?: number;
  /** The clock, in milliseconds. @default Date.now */
  now?: () => number;
}

/**
 * Warns once per peer address, and at most once per `intervalMs` in all,
 * when a peer that is not trusted sends `X-Forwarded-For` or `Forwarded`.
 *
 * @example
 * ```ts
 * import { ProxyWarning } from "./proxy_warning.ts";
 * import { TrustedProxies } from "./trust_proxy.ts";
 * const warning = new ProxyWarning({
 *   proxies: new TrustedProxies([]),
 *   warn: (message) => console.warn(message),
 * });
 * warning.notice("10.0.0.5", [["x-forwarded-for", "203.0.113.9"]]); // warns
 * warning.notice("10.0.0.5", [["x-forwarded-for", "203.0.113.9"]]); // silent
 * ```
 */
export class ProxyWarning {
  #proxies: TrustedProxies;
  #warn: (message: string, fields: Record<string, string>) => void;
  #intervalMs: number;
  #maxPeers: number;
  #now: () => number;
  /** Peers warned about, or found trusted: nothing more to say about them. */
  #settled = new Set<string>();
  #quietUntil = -Infinity;

  constructor(options: ProxyWarningOptions) {
    this.#proxies = options.proxies;
    this.#warn = options.warn;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#maxPeers = options.maxPeers ?? 1024;
    this.#now = options.now ?? Date.now;
  }

  /** Looks at one request's fields (names lowercased) from socket peer `peer`. */
  notice(peer: string, fields: readonly [string, string][]): void {
    // Indexed, not destructured: most requests carry neither field, and pay only this loop.
    for (let i = 0; i < fields.length; i++) {
      const name = fields[i][0];
      if (name === "x-forwarded-for") return this.#forwarded(peer, "X-Forwarded-For");
      if (name === "forwarded") return this.#forwarded(peer, "Forwarded");
    }
  }

  #forwarded(peer: string, header: string): void {
    if (this.#settled.has(peer)) return;
    if (this.#proxies.trusts(peer)) return this.#settle(peer);
    // A peer not told about for the quiet time is told about later, when it sends again.
    const now = this.#now();
    if (now < this.#quietUntil) return;
    this.#quietUntil = now + this.#intervalMs;
    this.#settle(peer);
    this.#warn(
      `${header} from ${peer}, which is not a trusted proxy: a reverse proxy seems to be ` +
        `in front; without --trust-proxy ${peer} all its clients share one rate limit and one ban`,
      { peer, header },
    );
  }

  #settle(peer: string): void {
    if (this.#settled.size >= this.#maxPeers) {
      this.#settled.delete(this.#settled.values().next().value!);
    }
    this.#settled.add(peer);
  }
}
