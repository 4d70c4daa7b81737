/**
 * The table of command-line flags: names, defaults and help text. `config.ts`
 * turns parsed values into a `Config`; this file only describes the flags.
 * @module
 */

/** One command-line flag. */
export interface FlagSpec {
  /** Long name without the dashes. */
  name: string;
  /** One-letter alias. */
  short?: string;
  /** `boolean` flags take no value. */
  type: "string" | "boolean";
  /** Repeatable flags collect every value. */
  multiple?: boolean;
  /** The default, as the user would write it; `undefined` means unset. */
  default?: string;
  /** Placeholder shown in `--help`. */
  value?: string;
  /** Section of `--help`. */
  group: string;
  /** One line of help. */
  help: string;
}

/** Every flag bastion accepts, in `--help` order. */
// deno-fmt-ignore
export const FLAGS: readonly FlagSpec[] = [
  { name: "port", short: "p", type: "string", default: "8080", value: "PORT", group: "Listen", help: "TCP port (0 picks a free one)" },
  { name: "host", short: "H", type: "string", default: "127.0.0.1", value: "ADDR", group: "Listen", help: "address to bind (:: and 0.0.0.0 allowed)" },
  { name: "workers", short: "w", type: "string", default: "1", value: "N", group: "Listen", help: "worker threads sharing the port (1-256)" },
  { name: "cert", type: "string", value: "FILE", group: "Listen", help: "TLS certificate (PEM); needs --key" },
  { name: "key", type: "string", value: "FILE", group: "Listen", help: "TLS private key (PEM); needs --cert" },
  { name: "root", type: "string", default: "resources", value: "DIR", group: "Files", help: "web root" },
  { name: "upload-dir", type: "string", value: "DIR", group: "Files", help: "where uploads are stored (default <root>/uploads)" },
  { name: "read-only", type: "boolean", group: "Files", help: "no uploads: no upload dir, no write permission" },
  { name: "profile", type: "string", default: "web", value: "NAME", group: "Files", help: "content types: web (every type mime-db knows) or seed" },
  { name: "type", type: "string", multiple: true, value: "EXT=MIME", group: "Files", help: "serve EXT inline as MIME (repeatable)" },
  { name: "attachment", type: "string", multiple: true, value: "EXT", group: "Files", help: "serve EXT as a download (repeatable)" },
  { name: "cache-control", type: "string", default: "no-cache", value: "VALUE", group: "Files", help: "Cache-Control for files" },
  { name: "dir-listing", type: "boolean", group: "Files", help: "list directories without an index.html" },
  { name: "file-cache", type: "string", default: "64MiB", value: "SIZE", group: "Files", help: "memory for small hot files, or off" },
  { name: "file-cache-ttl", type: "string", default: "1s", value: "DURATION", group: "Files", help: "how long a cached file is trusted before it is checked again" },
  { name: "allowed-host", type: "string", multiple: true, value: "NAME", group: "Security", help: "accept this Host (*.example.com for subdomains; repeatable)" },
  { name: "header", type: "string", multiple: true, value: "'Name: value'", group: "Security", help: "add or replace a response header (repeatable)" },
  { name: "cors", type: "string", value: "ORIGIN", group: "Security", help: "allow cross-origin requests from ORIGIN (or *)" },
  { name: "trust-proxy", type: "string", multiple: true, value: "CIDR", group: "Security", help: "honour X-Forwarded-For from this proxy (repeatable)" },
  { name: "upload-token-file", type: "string", value: "FILE", group: "Security", help: "require 'Authorization: Bearer <token>' for uploads" },
  { name: "metrics-public", type: "boolean", group: "Security", help: "serve /metrics to non-loopback clients" },
  { name: "max-head", type: "string", default: "8KiB", value: "SIZE", group: "Limits", help: "request head size" },
  { name: "max-uri", type: "string", default: "4096", value: "SIZE", group: "Limits", help: "request-target length" },
  { name: "max-headers", type: "string", default: "100", value: "N", group: "Limits", help: "header fields per request" },
  { name: "max-body", type: "string", default: "1MiB", value: "SIZE", group: "Limits", help: "request body size" },
  { name: "max-json-depth", type: "string", default: "64", value: "N", group: "Limits", help: "nesting depth of uploaded JSON" },
  { name: "upload-quota", type: "string", default: "1GiB", value: "SIZE", group: "Limits", help: "total size of stored uploads" },
  { name: "upload-inflight", type: "string", default: "256MiB", value: "SIZE", group: "Limits", help: "upload bodies being received at once, per worker" },
  { name: "max-connections", type: "string", default: "4096", value: "N", group: "Limits", help: "open connections per process" },
  { name: "max-connections-per-ip", type: "string", default: "256", value: "N", group: "Limits", help: "open connections per client address" },
  { name: "queue", type: "string", default: "128", value: "N", group: "Limits", help: "connections waiting for a slot" },
  { name: "queue-timeout", type: "string", default: "5s", value: "DURATION", group: "Limits", help: "longest wait in the queue" },
  { name: "max-requests-per-connection", type: "string", default: "100", value: "N", group: "Limits", help: "requests on one keep-alive connection" },
  { name: "rate-limit", type: "string", default: "1000/s:2000", value: "RATE", group: "Limits", help: "per-client token bucket N/s:BURST, or off" },
  { name: "ban", type: "string", default: "20/60s:300s", value: "RULE", group: "Limits", help: "ban after N rejections in WINDOW for DURATION, or off" },
  { name: "shared-state", type: "string", value: "URL", group: "Fleet", help: "share bans, rate limits and the upload quota through Redis: redis://[user@]host:port[/db], or rediss://" },
  { name: "shared-state-password-file", type: "string", value: "FILE", group: "Fleet", help: "the Redis password, in a file" },
  { name: "shared-state-prefix", type: "string", default: "bastion:", value: "PREFIX", group: "Fleet", help: "the start of every Redis key bastion writes" },
  { name: "header-timeout", type: "string", default: "10s", value: "DURATION", group: "Timeouts", help: "time to send a complete head" },
  { name: "body-timeout", type: "string", default: "10s", value: "DURATION", group: "Timeouts", help: "longest stall while receiving a body" },
  { name: "send-timeout", type: "string", default: "30s", value: "DURATION", group: "Timeouts", help: "longest stall while the client reads" },
  { name: "idle-timeout", type: "string", default: "30s", value: "DURATION", group: "Timeouts", help: "keep-alive idle time between requests" },
  { name: "shutdown-timeout", type: "string", default: "10s", value: "DURATION", group: "Timeouts", help: "grace period for in-flight requests on SIGTERM" },
  { name: "log-format", type: "string", default: "text", value: "FORMAT", group: "Logging", help: "text or json" },
  { name: "log-level", type: "string", default: "info", value: "LEVEL", group: "Logging", help: "debug, info, warn or error" },
  { name: "print-command", type: "boolean", group: "Other", help: "print the deno run command (permission flags included) for this configuration and exit" },
  { name: "help", short: "h", type: "boolean", group: "Other", help: "show this help" },
  { name: "version", short: "V", type: "boolean", group: "Other", help: "show the version" },
];

/**
 * The known flag closest to an unknown one (`prot` → `port`), or `null` when
 * none is close: a few typing slips apart, or the start of a flag's name.
 *
 * @example
 * ```ts
 * import { closestFlag } from "./config_flags.ts";
 * closestFlag("prot"); // "port"
 * ```
 */
export function closestFlag(name: string): string | null {
  const prefixed = FLAGS.filter((flag) => name.length >= 3 && flag.name.startsWith(name));
  if (prefixed.length > 0) {
    return prefixed.reduce((shortest, flag) =>
      flag.name.length < shortest.name.length ? flag : shortest
    ).name;
  }
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const flag of FLAGS) {
    const distance = _editDistance(name, flag.name);
    if (distance < bestDistance) [best, bestDistance] = [flag.name, distance];
  }
  return best;
}

/** Levenshtein distance, a swap of two neighbours counting as one edit. */
function _editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

/**
 * Renders the `--help` text from {@linkcode FLAGS}.
 *
 * @example
 * ```ts
 * import { helpText } from "./config_flags.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  const lines = [
    "bastion — a hardened HTTP/1.1 file server",
    "",
    "Usage: bastion [PORT] [HOST] [WORKERS] [FLAGS]",
  ];
  let group = "";
  for (const flag of FLAGS) {
    if (flag.group !== group) {
      group = flag.group;
      lines.push("", `${group}:`);
    }
    const names = (flag.short ? `-${flag.short}, ` : "    ") + `--${flag.name}` +
      (flag.value ? ` ${flag.value}` : "");
    const fallback = flag.default === undefined ? "" : ` (default ${flag.default})`;
    lines.push(`  ${names.padEnd(40)} ${flag.help}${fallback}`);
  }
  return lines.join("\n");
}
