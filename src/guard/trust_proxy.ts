/**
 * Who the client is (`docs/security.md`): the socket peer, unless that peer is a proxy
 * named by `--trust-proxy`; then the nearest untrusted address in
 * `X-Forwarded-For` (or `Forwarded: for=`), walking from the right.
 * @module
 */

import { ipBytes } from "../ip_address.ts";

interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/**
 * A set of trusted proxy networks.
 *
 * @example
 * ```ts
 * import { TrustedProxies } from "./trust_proxy.ts";
 * const proxies = new TrustedProxies(["127.0.0.1/32"]);
 * proxies.clientAddress("127.0.0.1", [["x-forwarded-for", "203.0.113.9"]]); // "203.0.113.9"
 * ```
 */
export class TrustedProxies {
  #networks: Cidr[];

  constructor(cidrs: readonly string[]) {
    this.#networks = cidrs.map(_parseCidr);
  }

  /** Whether `address` lies in a trusted network. */
  trusts(address: string): boolean {
    const bytes = ipBytes(address);
    return bytes !== null && this.#networks.some((network) => _contains(network, bytes));
  }

  /** The client's address for a request that arrived from socket peer `peer`. */
  clientAddress(peer: string, fields: readonly [string, string][]): string {
    if (this.#networks.length === 0 || !this.trusts(peer)) return peer;
    const hops = _forwardedHops(fields);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (ipBytes(hop) === null) return peer;
      if (!this.trusts(hop)) return hop;
    }
    return hops[0] ?? peer;
  }
}

function _parseCidr(text: string): Cidr {
  const [address, bitsText] = text.split("/");
  const bytes = ipBytes(address);
  if (bytes === null) throw new Error(`Invalid address: ${text}`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  return { bytes, bits: Math.min(bits, bytes.length * 8) };
}

function _contains(network: Cidr, bytes: Uint8Array): boolean {
  if (network.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < network.bits; bit += 8) {
    const take = Math.min(8, network.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((network.bytes[bit / 8] & mask) !== (bytes[bit / 8] & mask)) return false;
  }
  return true;
}

/** The address in a `for=` node: quotes, brackets and a port removed. */
function _forNode(node: string): string {
  const text = node.replace(/^"|"$/g, "");
  if (text.startsWith("[")) return text.slice(1, text.indexOf("]"));
  return text.replace(/:\d+$/, "");
}

/** Addresses from X-Forwarded-For, else from Forwarded `for=`, left to right. */
function _forwardedHops(fields: readonly [string, string][]): string[] {
  const xff = fields.filter(([name]) => name === "x-forwarded-for").map(([, value]) => value);
  if (xff.length > 0) return xff.join(",").split(",").map((hop) => hop.trim());
  const hops: string[] = [];
  for (const [name, value] of fields) {
    if (name !== "forwarded") continue;
    for (const match of value.matchAll(/for=("[^"]*"|[^,;\s]+)/gi)) hops.push(_forNode(match[1]));
  }
  return hops;
}
