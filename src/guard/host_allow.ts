/**
 * The Host allow-list (SPEC §5): which authorities a request may name.
 * @module
 */

import { HttpError } from "../http/http_error.ts";

/** Options of {@linkcode HostAllowList}. */
export interface HostAllowOptions {
  /** The address the server is bound to. */
  boundHost: string;
  /** The port the server is bound to (the real one when 0 was asked for). */
  boundPort: number;
  /** `--allowed-host` entries, lowercase; `*.name` matches subdomains. @default [] */
  allowed?: readonly string[];
}

/**
 * Checks request authorities against the allow-list.
 *
 * @example
 * ```ts
 * import { HostAllowList } from "./host_allow.ts";
 * const hosts = new HostAllowList({ boundHost: "127.0.0.1", boundPort: 8080 });
 * hosts.check("localhost:8080"); // passes
 * ```
 */
export class HostAllowList {
  #names: Set<string>;
  #suffixes: string[];
  #port: number;
  #lastAllowed: string | null = null;

  constructor(options: HostAllowOptions) {
    const bound = options.boundHost.includes(":") ? `[${options.boundHost}]` : options.boundHost;
    this.#names = new Set(["localhost", "127.0.0.1", "[::1]", bound.toLowerCase()]);
    this.#suffixes = [];
    for (const name of options.allowed ?? []) {
      if (name.startsWith("*.")) this.#suffixes.push(name.slice(1));
      else this.#names.add(name);
    }
    this.#port = options.boundPort;
  }

  /** Whether `authority` (`host[:port]`, already syntax-checked) is allowed. */
  allows(authority: string): boolean {
    // A client repeats its Host on every request: the last one allowed is remembered.
    if (authority === this.#lastAllowed) return true;
    const { host, port } = _split(authority.toLowerCase());
    if (port !== null && port !== this.#port) return false;
    const allowed = this.#names.has(host) ||
      this.#suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
    if (allowed) this.#lastAllowed = authority;
    return allowed;
  }

  /** Throws 403 (reason `host`) when `authority` is not allowed. */
  check(authority: string): void {
    if (!this.allows(authority)) {
      throw new HttpError(403, "Host not allowed", { reason: "host" });
    }
  }
}

function _split(authority: string): { host: string; port: number | null } {
  const close = authority.startsWith("[") ? authority.indexOf("]") : -1;
  const colon = authority.indexOf(":", close + 1);
  if (colon < 0) return { host: authority, port: null };
  const portText = authority.slice(colon + 1);
  return { host: authority.slice(0, colon), port: portText === "" ? null : Number(portText) };
}
