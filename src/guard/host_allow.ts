/**
 * The Host allow-list (`docs/security.md`): which authorities a request may name.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import { STATUS_CODE } from "../http/status.ts";

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
 * Checks request authorities against the allow-list: the fixed names, and the
 * address the client connected to (bound to 0.0.0.0, a LAN client typing
 * `http://192.168.1.10:8080/` names the address it reached).
 *
 * @example
 * ```ts
 * import { HostAllowList, hostOfAddress } from "./host_allow.ts";
 * const hosts = new HostAllowList({ boundHost: "0.0.0.0", boundPort: 8080 });
 * hosts.check("localhost:8080"); // passes
 * hosts.check("192.168.1.10:8080", hostOfAddress("192.168.1.10")); // passes
 * ```
 */
export class HostAllowList {
  #names: Set<string>;
  #suffixes: string[];
  #port: number;
  /** The last authority allowed by a fixed name: allowed on every connection. */
  #lastAllowed: string | null = null;
  /** The last authority allowed as a connection's own address, and that address. */
  #lastOwn: string | null = null;
  #lastOwnLocal: string | null = null;

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

  /**
   * Whether `authority` (`host[:port]`, already syntax-checked) is allowed on
   * a connection whose local address, as {@linkcode hostOfAddress} writes it,
   * is `local`.
   */
  allows(authority: string, local: string | null = null): boolean {
    // A client repeats its Host on every request: the last one allowed is remembered,
    // one allowed as the connection's own address only for that same address.
    if (authority === this.#lastAllowed) return true;
    if (authority === this.#lastOwn && local === this.#lastOwnLocal) return true;
    const { host, port } = _split(authority.toLowerCase());
    if (port !== null && port !== this.#port) return false;
    if (this.#names.has(host) || this.#matchesSuffix(host)) {
      this.#lastAllowed = authority;
      return true;
    }
    if (local === null || host !== local) return false;
    this.#lastOwn = authority;
    this.#lastOwnLocal = local;
    return true;
  }

  /** Throws 403 (reason `host`) when `authority` is not allowed; `local` as for {@linkcode allows}. */
  check(authority: string, local: string | null = null): void {
    if (!this.allows(authority, local)) {
      throw new HttpError(STATUS_CODE.Forbidden, "Host not allowed", { reason: "host" });
    }
  }

  #matchesSuffix(host: string): boolean {
    return this.#suffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  }
}

/**
 * A local address as a Host names it: lowercase, IPv6 in brackets, an
 * IPv4-mapped IPv6 address (an IPv4 client of a socket bound to `::`) as IPv4.
 *
 * @example
 * ```ts
 * import { hostOfAddress } from "./host_allow.ts";
 * hostOfAddress("::ffff:192.168.1.10"); // "192.168.1.10"
 * hostOfAddress("FE80::1"); // "[fe80::1]"
 * ```
 */
export function hostOfAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  return lower.includes(":") ? `[${lower}]` : lower;
}

function _split(authority: string): { host: string; port: number | null } {
  const close = authority.startsWith("[") ? authority.indexOf("]") : -1;
  const colon = authority.indexOf(":", close + 1);
  if (colon < 0) return { host: authority, port: null };
  const portText = authority.slice(colon + 1);
  return { host: authority.slice(0, colon), port: portText === "" ? null : Number(portText) };
}
