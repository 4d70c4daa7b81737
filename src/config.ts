/**
 * Command-line flags and defaults → one frozen, validated {@linkcode Config}.
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { closestFlag, FLAGS } from "./config_flags.ts";
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

/** Everything the server needs to know, validated once at start-up. */
export interface Config {
  port: number;
  host: string;
  workers: number;
  cert: string | null;
  key: string | null;
  /** Absolute path of the web root. */
  root: string;
  /** Absolute path of the upload directory (unused when `readOnly`). */
  uploadDir: string;
  /** Uploads off: no upload directory, no write permission. */
  readOnly: boolean;
  profile: "seed" | "web";
  /** Extension (lowercase, no dot) → inline MIME type, from `--type`. */
  types: ReadonlyMap<string, string>;
  /** Extensions served as downloads, from `--attachment`. */
  attachments: ReadonlySet<string>;
  cacheControl: string;
  dirListing: boolean;
  /** Bytes of small files kept in memory, 0 when `--file-cache off`. */
  fileCache: number;
  fileCacheTtlMs: number;
  allowedHosts: readonly string[];
  /** Response headers added or replaced by `--header`. */
  extraHeaders: readonly (readonly [string, string])[];
  cors: string | null;
  trustProxy: readonly string[];
  uploadTokenFile: string | null;
  metricsPublic: boolean;
  maxHead: number;
  maxUri: number;
  maxHeaders: number;
  maxBody: number;
  maxJsonDepth: number;
  uploadQuota: number;
  /** Bytes of upload bodies being received at once, per worker. */
  uploadInflight: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  queue: number;
  queueTimeoutMs: number;
  maxRequestsPerConnection: number;
  rateLimit: RateLimit | null;
  ban: BanRule | null;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  sendTimeoutMs: number;
  idleTimeoutMs: number;
  shutdownTimeoutMs: number;
  logFormat: "text" | "json";
  logLevel: "debug" | "info" | "warn" | "error";
}

/** What the command line asks for. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "print-command"; config: Config }
  | { kind: "run"; config: Config };

/** A bad flag or value: one line for the user, exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";

  constructor(message: string) {
    super(escapeControl(message));
  }
}

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
 * Parses command-line arguments (flags and the positional `PORT HOST WORKERS`).
 * Throws {@linkcode ConfigError} with a one-line message on any bad input.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./config.ts";
 * const command = parseCommand(["8000", "--profile", "web"]);
 * ```
 */
export function parseCommand(args: string[]): Command {
  // `deno task serve -- --port 9000` hands bastion the `--` itself: a leading
  // one is the task runner's separator, not the end of bastion's flags.
  const values = _parseFlags(args[0] === "--" ? args.slice(1) : args);
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const config = Object.freeze(_buildConfig(values));
  return values["print-command"] ? { kind: "print-command", config } : { kind: "run", config };
}

type Values = Record<string, string | boolean | string[] | undefined>;

function _parseFlags(args: string[]): Values {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const flag of FLAGS) {
    options[flag.name] = {
      type: flag.type,
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(_flagError(error as Error & { code?: string }));
  }
  const values = { ...parsed.values } as Values;
  const positionals = parsed.positionals;
  if (positionals.length > 3) {
    throw new ConfigError(`Too many positional arguments: "${positionals.slice(3).join(" ")}"`);
  }
  ["port", "host", "workers"].forEach((name, index) => {
    if (positionals[index] === undefined) return;
    if (values[name] !== undefined) {
      throw new ConfigError(
        `The ${name} is given twice: as --${name} and as a positional argument`,
      );
    }
    values[name] = positionals[index];
  });
  return values;
}

/** One line for what `parseArgs` refused, pointing at `--help`. */
function _flagError(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^'=]*)/.exec(error.message);
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) {
    const flag = unknown[1];
    const near = flag.startsWith("--") ? closestFlag(flag.slice(2)) : null;
    return near === null
      ? `Unknown flag ${flag}: see --help`
      : `Unknown flag ${flag}: did you mean --${near}? See --help`;
  }
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(error.message);
  if (missing) return `Missing value for ${missing[1]}: see --help`;
  const noValue = /^Option '(--[\w-]+)' does not take an argument/.exec(error.message);
  if (noValue) return `${noValue[1]} takes no value: see --help`;
  return `${error.message.split("\n")[0]}: see --help`;
}

function _buildConfig(values: Values): Config {
  const str = (name: string) => {
    const value = values[name] ?? FLAGS.find((flag) => flag.name === name)?.default;
    return typeof value === "string" ? value : null;
  };
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const root = resolve(str("root")!);
  const config: Config = {
    port: _integer("port", str("port")!, 0, 65535),
    host: _bindHost(str("host")!),
    workers: _integer("workers", str("workers")!, 1, 256),
    cert: str("cert"),
    key: str("key"),
    root,
    uploadDir: str("upload-dir") === null ? resolve(root, "uploads") : resolve(str("upload-dir")!),
    readOnly: values["read-only"] === true,
    profile: _choice("profile", str("profile")!, ["seed", "web"]),
    types: _types(list("type")),
    attachments: new Set(list("attachment").map((ext) => _extension("attachment", ext))),
    cacheControl: _headerValue("cache-control", str("cache-control")!),
    dirListing: values["dir-listing"] === true,
    fileCache: str("file-cache") === "off" ? 0 : _size("file-cache", str("file-cache")!),
    fileCacheTtlMs: _duration("file-cache-ttl", str("file-cache-ttl")!),
    allowedHosts: list("allowed-host").map(_allowedHost),
    extraHeaders: list("header").map(_extraHeader),
    cors: str("cors"),
    trustProxy: list("trust-proxy").map(_cidr),
    uploadTokenFile: str("upload-token-file"),
    metricsPublic: values["metrics-public"] === true,
    maxHead: _size("max-head", str("max-head")!),
    maxUri: _size("max-uri", str("max-uri")!),
    maxHeaders: _integer("max-headers", str("max-headers")!, 1, 100_000),
    maxBody: _size("max-body", str("max-body")!),
    maxJsonDepth: _integer("max-json-depth", str("max-json-depth")!, 1, 100_000),
    uploadQuota: _size("upload-quota", str("upload-quota")!),
    uploadInflight: _size("upload-inflight", str("upload-inflight")!),
    maxConnections: _integer("max-connections", str("max-connections")!, 1, 1_000_000),
    maxConnectionsPerIp: _integer(
      "max-connections-per-ip",
      str("max-connections-per-ip")!,
      1,
      1_000_000,
    ),
    queue: _integer("queue", str("queue")!, 1, 1_000_000),
    queueTimeoutMs: _duration("queue-timeout", str("queue-timeout")!),
    maxRequestsPerConnection: _integer(
      "max-requests-per-connection",
      str("max-requests-per-connection")!,
      1,
      1_000_000,
    ),
    rateLimit: _rateLimit(str("rate-limit")!),
    ban: _ban(str("ban")!),
    headerTimeoutMs: _duration("header-timeout", str("header-timeout")!),
    bodyTimeoutMs: _duration("body-timeout", str("body-timeout")!),
    sendTimeoutMs: _duration("send-timeout", str("send-timeout")!),
    idleTimeoutMs: _duration("idle-timeout", str("idle-timeout")!),
    shutdownTimeoutMs: _duration("shutdown-timeout", str("shutdown-timeout")!),
    logFormat: _choice("log-format", str("log-format")!, ["text", "json"]),
    logLevel: _choice("log-level", str("log-level")!, ["debug", "info", "warn", "error"]),
  };
  if ((config.cert === null) !== (config.key === null)) {
    throw new ConfigError("--cert and --key go together: give both or neither");
  }
  if (config.readOnly && (values["upload-dir"] !== undefined || config.uploadTokenFile !== null)) {
    throw new ConfigError(
      "--read-only takes no uploads: drop --upload-dir and --upload-token-file",
    );
  }
  if (config.maxBody > config.uploadQuota) {
    throw new ConfigError("--max-body must not be above --upload-quota");
  }
  return config;
}

function _integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected a whole number from ${min} to ${max})`,
    );
  }
  return Number(text);
}

function _size(name: string, text: string): number {
  const bytes = parseSize(text);
  if (bytes === null || bytes <= 0) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected a size above 0, e.g. 512, 8KiB, 1MiB)`,
    );
  }
  return bytes;
}

function _duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms < 1 || ms > MAX_DURATION_MS) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected 1ms to 60m in ms, s or m, e.g. 500ms, 10s, 5m)`,
    );
  }
  return ms;
}

function _choice<T extends string>(name: string, text: string, choices: T[]): T {
  if (!choices.includes(text as T)) {
    throw new ConfigError(`Invalid --${name}: "${text}" (expected ${choices.join(" or ")})`);
  }
  return text as T;
}

function _bindHost(text: string): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const ipv6 = host.includes(":") && /^[0-9A-Fa-f:.]+$/.test(host);
  if (!ipv6 && !HOST_NAME.test(host)) throw new ConfigError(`Invalid --host: "${text}"`);
  return host.toLowerCase();
}

function _allowedHost(text: string): string {
  const host = text.toLowerCase();
  if (HOST_NAME.test(host) || /^\[[0-9a-f:.]+\]$/.test(host)) return host;
  throw new ConfigError(`Invalid --allowed-host: "${text}" (expected a name, *.name or [IPv6])`);
}

function _extension(name: string, text: string): string {
  const ext = text.replace(/^\./, "").toLowerCase();
  if (!/^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*$/.test(ext)) {
    throw new ConfigError(
      `Invalid --${name}: "${text}" (expected an extension such as txt or tar.gz)`,
    );
  }
  return ext;
}

function _types(entries: string[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const entry of entries) {
    const equals = entry.indexOf("=");
    const mime = entry.slice(equals + 1).trim();
    if (equals < 1 || !/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/.test(mime)) {
      throw new ConfigError(`Invalid --type: "${entry}" (expected EXT=MIME, e.g. txt=text/plain)`);
    }
    types.set(_extension("type", entry.slice(0, equals)), mime);
  }
  return types;
}

function _headerValue(name: string, text: string): string {
  const control = [...text].some((char) => {
    const code = char.charCodeAt(0);
    return (code < 32 && code !== 9) || code === 127;
  });
  if (control) {
    throw new ConfigError(`Invalid --${name}: control characters are not allowed`);
  }
  return text.trim();
}

function _extraHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  const name = text.slice(0, colon);
  if (colon < 1 || !TOKEN.test(name)) {
    throw new ConfigError(`Invalid --header: "${text}" (expected "Name: value")`);
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ConfigError(`Invalid --header: ${name} is set by the server itself`);
  }
  return [name, _headerValue("header", text.slice(colon + 1))];
}

function _cidr(text: string): string {
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

function _rateLimit(text: string): RateLimit | null {
  if (text === "off") return null;
  const match = /^(\d+)\/s:(\d+)$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(
      `Invalid --rate-limit: "${text}" (expected N/s:BURST such as 100/s:200, or off)`,
    );
  }
  return { rate: Number(match[1]), burst: Number(match[2]) };
}

function _ban(text: string): BanRule | null {
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
