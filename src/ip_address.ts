/**
 * IP addresses as bytes, for the layers that compare them (trusted proxy
 * ranges, the client table's keys).
 * @module
 */

import { isIP } from "node:net";

/**
 * The 4 or 16 bytes of an IP address (IPv4-mapped IPv6 as IPv4), or `null`.
 * An IPv6 address may end in a dotted IPv4 part (`64:ff9b::192.0.2.1`).
 *
 * @example
 * ```ts
 * import { ipBytes } from "./ip_address.ts";
 * ipBytes("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * ipBytes("::ffff:10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function ipBytes(address: string): Uint8Array | null {
  const kind = isIP(address);
  if (kind === 4) return new Uint8Array(address.split(".").map(Number));
  if (kind !== 6) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return ipBytes(mapped[1]);
  const text = _hexTail(address);
  const [head, tail = ""] = text.split("::");
  const groups = (part: string) => part === "" ? [] : part.split(":");
  const left = groups(head);
  const right = groups(tail);
  const all = text.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 255;
  });
  return bytes;
}

/** `address` with a dotted IPv4 tail written as two hex groups (`::ffff:7f00:1`). */
function _hexTail(address: string): string {
  return address.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_, a, b, c, d) => `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`,
  );
}
