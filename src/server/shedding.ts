/**
 * Making room under pressure: when the connection cap is reached, or the
 * process runs out of file descriptors, connections that hold no request in
 * progress (silent, idle between requests, or with only part of a head), or
 * whose request body trickles in slower than a minimum rate, are
 * closed oldest first: first those of addresses holding more connections than
 * a browser opens to one host, then of any address holding several, then an
 * address's only one; so idle sockets never starve a working client.
 * @module
 */

import { clientKey } from "../shared/client_key.ts";

/** What shedding needs of a connection. */
export interface Sheddable {
  /** True while it holds no request in progress, or a body that trickles in. */
  readonly sheddable: boolean;
  /** The socket peer's address. */
  readonly peer: string;
  close(): void;
}

/** More than a browser opens to one host (6): above it, an address is crowding. */
export const CROWDING = 8;

/**
 * Closes up to `count` idle connections, in the order given (oldest first):
 * first those whose address holds more than {@linkcode CROWDING} connections
 * (`held`), then more than one, then any. Returns how many it closed.
 *
 * @example
 * ```ts
 * import { shedIdle } from "./shedding.ts";
 * const open = [
 *   { sheddable: true, peer: "192.0.2.7", close() {} },
 *   { sheddable: false, peer: "192.0.2.9", close() {} },
 *   { sheddable: true, peer: "192.0.2.9", close() {} },
 * ];
 * shedIdle(open, 1, (peer) => peer === "192.0.2.9" ? 2 : 1); // 1: the third
 * ```
 */
export function shedIdle(
  connections: Iterable<Sheddable>,
  count: number,
  held: (peer: string) => number,
): number {
  let shed = 0;
  for (const above of [CROWDING, 1, 0]) {
    for (const connection of connections) {
      if (shed >= count) return shed;
      if (!connection.sheddable || held(connection.peer) <= above) continue;
      connection.close();
      shed++;
    }
  }
  return shed;
}

/**
 * Open connections per client, kept as they open and close (one worker's).
 * A client is what the client table counts ({@linkcode clientKey}): an IPv6
 * client per /64, so that its many addresses do not each look like a lone one.
 *
 * @example
 * ```ts
 * import { PeerCounts } from "./shedding.ts";
 * const counts = new PeerCounts();
 * counts.add("2001:db8::7");
 * counts.held("2001:db8::9"); // 1: the same /64
 * ```
 */
export class PeerCounts {
  #counts = new Map<string, number>();

  add(peer: string): void {
    const key = clientKey(peer);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  delete(peer: string): void {
    const key = clientKey(peer);
    const count = (this.#counts.get(key) ?? 0) - 1;
    if (count > 0) this.#counts.set(key, count);
    else this.#counts.delete(key);
  }

  /** Connections the client `peer` belongs to holds. */
  held(peer: string): number {
    return this.#counts.get(clientKey(peer)) ?? 0;
  }
}
