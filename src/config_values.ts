/**
 * One flag's value, read and checked: each reader returns the value in the
 * form the {@linkcode Config} holds, or throws a {@linkcode ConfigError}
 * naming the flag and what it expects, on one line.
 * @module
 */

import { escapeControl } from "./log.ts";
import { parseDuration, parseSize } from "./units.ts";

/** A token bucket: `rate` tokens per second, at most `burst` stored. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** `count` security rejections within `windowMs` ban an address for `banMs`. */
export interface BanRule {
  count: number;
  windowMs: number;
  banMs: number;
}

/** A bad flag or value: one line for the user, exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";

  constructor(message: string) {
    super(escapeControl(message));
  }
}

/** The longest duration any flag takes: an hour. */
const MAX_DURATION_MS = 3_600_000;
/** Headers that frame or identify responses; `--header` may not touch them. */
const RESERVED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "trailer",
  "te",
  "date",
  "server",
  "x-request-id",
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HOST_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * A whole number from `min` to `max`.
 *
 * @example
 * ```ts
 * import { integer } from "./config_values.ts";
 * integer("workers", "4", 1, 256); // 4
 * ```
 */
export function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected a whole number from ${min} to ${max})`,
    );
  }
  return Number(text);
}

/**
 * A size above 0, with an optional unit (`8KiB`, `1MiB`), in bytes.
 *
 * @example
 * ```ts
 * import { size } from "./config_values.ts";
 * size("max-body", "1MiB"); // 1048576
 * ```
 */
export function size(name: string, text: string): number {
  const bytes = parseSize(text);
  if (bytes === null || bytes <= 0) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected a size above 0, e.g. 512, 8KiB, 1MiB)`,
    );
  }
  return bytes;
}

/**
 * A duration from 1 ms to 60 min (`500ms`, `10s`, `5m`), in milliseconds.
 *
 * @example
 * ```ts
 * import { duration } from "./config_values.ts";
 * duration("header-timeout", "10s"); // 10000
 * ```
 */
export function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms < 1 || ms > MAX_DURATION_MS) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected 1ms to 60m in ms, s or m, e.g. 500ms, 10s, 5m)`,
    );
  }
  return ms;
}

/**
 * One of `choices`.
 *
 * @example
 * ```ts
 * import { choice } from "./config_values.ts";
 * choice("log-format", "json", ["text", "json"]); // "json"
 * ```
 */
export function choice<T extends string>(name: string, text: string, choices: T[]): T {
  if (!choices.includes(text as T)) {
    throw new ConfigError(`Invalid --${name}: "${text}" (expected ${choices.join(" or ")})`);
  }
  return text as T;
}

/**
 * An address or name to bind, lowercased; `[…]` around IPv6 removed.
 *
 * @example
 * ```ts
 * import { bindHost } from "./config_values.ts";
 * bindHost("[::1]"); // "::1"
 * ```
 */
export function bindHost(text: string): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const ipv6 = host.includes(":") && /^[0-9A-Fa-f:.]+$/.test(host);
  if (!ipv6 && !HOST_NAME.test(host)) throw new ConfigError(`Invalid --host: "${text}"`);
  return host.toLowerCase();
}

/**
 * A Host the server answers to: a name, `*.name`, or `[IPv6]`, lowercased.
 *
 * @example
 * ```ts
 * import { allowedHost } from "./config_values.ts";
 * allowedHost("*.Example.org"); // "*.example.org"
 * ```
 */
export function allowedHost(text: string): string {
  const host = text.toLowerCase();
  if (HOST_NAME.test(host) || /^\[[0-9a-f:.]+\]$/.test(host)) return host;
  throw new ConfigError(`Invalid --allowed-host: "${text}" (expected a name, *.name or [IPv6])`);
}

/**
 * A file extension without its dot, lowercased (`tar.gz` allowed).
 *
 * @example
 * ```ts
 * import { extension } from "./config_values.ts";
 * extension("type", ".TAR.GZ"); // "tar.gz"
 * ```
 */
export function extension(name: string, text: string): string {
  const ext = text.replace(/^\./, "").toLowerCase();
  if (!/^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*$/.test(ext)) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected an extension such as txt or tar.gz)`,
    );
  }
  return ext;
}

/**
 * `--type EXT=MIME` entries as extension → type.
 *
 * @example
 * ```ts
 * import { types } from "./config_values.ts";
 * types(["md=text/markdown"]).get("md"); // "text/markdown"
 * ```
 */
export function types(entries: string[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    const mime = entry.slice(equals + 1).trim();
    if (equals < 1 || !/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/.test(mime)) {
      throw new ConfigError(`Invalid --type: "${entry}" (expected EXT=MIME, e.g. txt=text/plain)`);
    }
    types.set(extension("type", entry.slice(0, equals)), mime);
  }
  return types;
}

/**
 * A header value without control characters, trimmed.
 *
 * @example
 * ```ts
 * import { headerValue } from "./config_values.ts";
 * headerValue("cache-control", " no-cache "); // "no-cache"
 * ```
 */
export function headerValue(name: string, text: string): string {
  const control = [...text].some((char) => {
    const code = char.charCodeAt(0);
    return (code < 32 && code !== 9) || code === 127;
  });
  if (control) {
    throw new ConfigError(`Invalid --${name}: control characters are not allowed`);
  }
  return text.trim();
}

/**
 * `--header "Name: value"`, refusing names the server sets itself.
 *
 * @example
 * ```ts
 * import { extraHeader } from "./config_values.ts";
 * extraHeader("X-Frame-Options: DENY"); // ["X-Frame-Options", "DENY"]
 * ```
 */
export function extraHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  const name = text.slice(0, colon);
  if (colon < 1 || !TOKEN.test(name)) {
    throw new ConfigError(`Invalid --header: "${text}" (expected "Name: value")`);
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ConfigError(`Invalid --header: ${name} is set by the server itself`);
  }
  return [name, headerValue("header", text.slice(colon + 1))];
}

/**
 * An address or CIDR range of trusted proxies, lowercased.
 *
 * @example
 * ```ts
 * import { cidr } from "./config_values.ts";
 * cidr("10.0.0.0/8"); // "10.0.0.0/8"
 * ```
 */
export function cidr(text: string): string {
  const match = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?$/.exec(text);
  const ipv4 = match && /^\d{1,3}(\.\d{1,3}){3}$/.test(match[1]) &&
    match[1].split(".").every((part) => Number(part) <= 255);
  const ipv6 = match && match[1].includes(":");
  const bits = match?.[2] === undefined ? null : Number(match[2]);
  if (!match || (!ipv4 && !ipv6) || (bits !== null && bits > (ipv4 ? 32 : 128))) {
    throw new ConfigError(`Invalid --trust-proxy: "${text}" (expected an address or CIDR)`);
  }
  return text.toLowerCase();
}

/**
 * `N/s:BURST`, or `off` (`null`).
 *
 * @example
 * ```ts
 * import { rateLimit } from "./config_values.ts";
 * rateLimit("100/s:200"); // { rate: 100, burst: 200 }
 * ```
 */
export function rateLimit(text: string): RateLimit | null {
  if (text === "off") return null;
  const match = /^(\d+)\/s:(\d+)$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(
      `Invalid --rate-limit: "${text}" (expected N/s:BURST such as 100/s:200, or off)`,
    );
  }
  return { rate: Number(match[1]), burst: Number(match[2]) };
}

/**
 * `N/WINDOW:DURATION`, or `off` (`null`).
 *
 * @example
 * ```ts
 * import { ban } from "./config_values.ts";
 * ban("20/60s:300s"); // { count: 20, windowMs: 60000, banMs: 300000 }
 * ```
 */
export function ban(text: string): BanRule | null {
  if (text === "off") return null;
  const match = /^(\d+)\/([^:]+):(.+)$/.exec(text);
  const windowMs = match ? parseDuration(match[2]) : null;
  const banMs = match ? parseDuration(match[3]) : null;
  if (
    !match || Number(match[1]) < 1 || windowMs === null || banMs === null ||
    windowMs < 1 || banMs < 1 || windowMs > MAX_DURATION_MS || banMs > MAX_DURATION_MS
  ) {
    throw new ConfigError(
      `Invalid --ban: "${text}" (expected N/WINDOW:DURATION such as 20/60s:300s, or off)`,
    );
  }
  return { count: Number(match[1]), windowMs, banMs };
}
