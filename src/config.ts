/**
 * Command-line flags and defaults → one frozen, validated {@linkcode Config}.
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { closestFlag, FLAGS } from "./config_flags.ts";
import {
  allowedHost,
  ban,
  bindHost,
  choice,
  cidr,
  ConfigError,
  duration,
  extension,
  extraHeader,
  headerValue,
  integer,
  type RateLimit,
  rateLimit,
  size,
  types,
} from "./config_values.ts";
import type { BanRule } from "./config_values.ts";

import { sharedState, type SharedStateConfig } from "./config_shared_state.ts";

export { type BanRule, ConfigError, type RateLimit } from "./config_values.ts";
export type { SharedStateConfig } from "./config_shared_state.ts";

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
  /** Where a fleet shares its state; `null` without `--shared-state`. */
  sharedState: SharedStateConfig | null;
}

/** What the command line asks for. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "print-command"; config: Config }
  | { kind: "run"; config: Config };

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

/** The flags' values, with each flag's default where it was not given. */
class _Flags {
  #values: Values;

  constructor(values: Values) {
    this.#values = values;
  }

  /** A string flag's value or default; `null` for none. */
  text(name: string): string | null {
    const value = this.#values[name] ?? FLAGS.find((flag) => flag.name === name)?.default;
    return typeof value === "string" ? value : null;
  }

  /** A string flag that always has a value (it has a default). */
  value(name: string): string {
    return this.text(name)!;
  }

  /** A repeatable flag's values. */
  list(name: string): string[] {
    return (this.#values[name] as string[] | undefined) ?? [];
  }

  /** Whether a boolean flag is set. */
  on(name: string): boolean {
    return this.#values[name] === true;
  }

  /** Whether the flag was given at all. */
  given(name: string): boolean {
    return this.#values[name] !== undefined;
  }
}

function _buildConfig(values: Values): Config {
  const flags = new _Flags(values);
  const config: Config = {
    ..._serving(flags),
    ..._policy(flags),
    ..._limits(flags),
    ..._timeouts(flags),
    logFormat: choice("log-format", flags.value("log-format"), ["text", "json"]),
    logLevel: choice("log-level", flags.value("log-level"), ["debug", "info", "warn", "error"]),
    sharedState: sharedState(
      flags.text("shared-state"),
      flags.text("shared-state-password-file"),
      flags.value("shared-state-prefix"),
    ),
  };
  if ((config.cert === null) !== (config.key === null)) {
    throw new ConfigError("--cert and --key go together: give both or neither");
  }
  if (config.readOnly && (flags.given("upload-dir") || config.uploadTokenFile !== null)) {
    throw new ConfigError(
      "--read-only takes no uploads: drop --upload-dir and --upload-token-file",
    );
  }
  if (config.maxBody > config.uploadQuota) {
    throw new ConfigError("--max-body must not be above --upload-quota");
  }
  return config;
}

/** Where and what to serve. */
function _serving(flags: _Flags) {
  const root = resolve(flags.value("root"));
  const uploadDir = flags.text("upload-dir");
  return {
    port: integer("port", flags.value("port"), 0, 65535),
    host: bindHost(flags.value("host")),
    workers: integer("workers", flags.value("workers"), 1, 256),
    cert: flags.text("cert"),
    key: flags.text("key"),
    root,
    uploadDir: uploadDir === null ? resolve(root, "uploads") : resolve(uploadDir),
    readOnly: flags.on("read-only"),
    profile: choice("profile", flags.value("profile"), ["seed", "web"]),
    types: types(flags.list("type")),
    attachments: new Set(flags.list("attachment").map((ext) => extension("attachment", ext))),
    cacheControl: headerValue("cache-control", flags.value("cache-control")),
    dirListing: flags.on("dir-listing"),
    fileCache: flags.value("file-cache") === "off"
      ? 0
      : size("file-cache", flags.value("file-cache")),
    fileCacheTtlMs: duration("file-cache-ttl", flags.value("file-cache-ttl")),
  };
}

/** Who is answered, and with what headers. */
function _policy(flags: _Flags) {
  return {
    allowedHosts: flags.list("allowed-host").map(allowedHost),
    extraHeaders: flags.list("header").map(extraHeader),
    cors: flags.text("cors"),
    trustProxy: flags.list("trust-proxy").map(cidr),
    uploadTokenFile: flags.text("upload-token-file"),
    metricsPublic: flags.on("metrics-public"),
    rateLimit: rateLimit(flags.value("rate-limit")),
    ban: ban(flags.value("ban")),
  };
}

/** Sizes and counts. */
function _limits(flags: _Flags) {
  const count = (name: string, max = 1_000_000) => integer(name, flags.value(name), 1, max);
  return {
    maxHead: size("max-head", flags.value("max-head")),
    maxUri: size("max-uri", flags.value("max-uri")),
    maxHeaders: count("max-headers", 100_000),
    maxBody: size("max-body", flags.value("max-body")),
    maxJsonDepth: count("max-json-depth", 100_000),
    uploadQuota: size("upload-quota", flags.value("upload-quota")),
    uploadInflight: size("upload-inflight", flags.value("upload-inflight")),
    maxConnections: count("max-connections"),
    maxConnectionsPerIp: count("max-connections-per-ip"),
    queue: count("queue"),
    maxRequestsPerConnection: count("max-requests-per-connection"),
  };
}

/** Every timeout, in milliseconds. */
function _timeouts(flags: _Flags) {
  const ms = (name: string) => duration(name, flags.value(name));
  return {
    queueTimeoutMs: ms("queue-timeout"),
    headerTimeoutMs: ms("header-timeout"),
    bodyTimeoutMs: ms("body-timeout"),
    sendTimeoutMs: ms("send-timeout"),
    idleTimeoutMs: ms("idle-timeout"),
    shutdownTimeoutMs: ms("shutdown-timeout"),
  };
}
