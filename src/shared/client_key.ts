/**
 * The key a client address is counted under in the {@linkcode ClientTable}:
 * an IPv4 address as itself, IPv4-mapped IPv6 (`::ffff:a.b.c.d`, in either
 * spelling) as that IPv4 address, and any other IPv6 address as its /64. One
 * subscriber usually holds a whole /64, so keying per address would give it
 * 2^64 rate limits and bans to walk through.
 * @module
 */

import { isIP } from "node:net";
import { ipBytes } from "../ip_address.ts";

/**
 * The table key of `address`; text that is no IP address is its own key.
 *
 * @example
 * ```ts
 * import { clientKey } from "./client_key.ts";
 * clientKey("::ffff:127.0.0.1"); // "127.0.0.1"
 * clientKey("2001:db8:1:2::7"); // "2001:db8:1:2::/64"
 * ```
 */
export function clientKey(address: string): string {
  if (!address.includes(":") || isIP(address) !== 6) return address;
  const bytes = ipBytes(address);
  if (bytes === null) return address;
  if (bytes.length === 4) return bytes.join(".");
  if (_isMapped(bytes)) return bytes.subarray(-4).join(".");
  const groups = [0, 2, 4, 6].map((i) => ((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return `${groups.join(":")}::/64`;
}

/** Whether 16 bytes are `::ffff:0:0/96`, an IPv4 address in IPv6 clothing. */
function _isMapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((byte) => byte === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
}
