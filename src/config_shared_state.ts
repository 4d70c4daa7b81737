/**
 * `--shared-state redis://[user@]host:port[/db]` (or `rediss://` for TLS),
 * `--shared-state-password-file` and `--shared-state-prefix`: where a fleet
 * of bastion instances keeps the state they share (`docs/deployment.md`).
 * @module
 */

import { ConfigError } from "./config_values.ts";

/** Where the fleet's shared state lives. */
export interface SharedStateConfig {
  /** `redis:` or `rediss:` (TLS). */
  tls: boolean;
  host: string;
  port: number;
  /** ACL user, or `null` for the default user. */
  user: string | null;
  db: number;
  /** A file holding the password (its first line), or `null` for none. */
  passwordFile: string | null;
  /** Every key bastion writes starts with it. */
  prefix: string;
}

/** Key prefixes: letters, digits and `:_.-`, 1 to 64 of them. */
const PREFIX = /^[A-Za-z0-9:_.-]{1,64}$/;

/**
 * The shared-state settings from the flags' values; `null` without `--shared-state`.
 * Throws {@linkcode ConfigError} on a bad URL, a password in it, or a bad prefix.
 *
 * @example
 * ```ts
 * import { sharedState } from "./config_shared_state.ts";
 * sharedState("redis://10.0.0.5:6379/2", null, "bastion:")?.db; // 2
 * ```
 */
export function sharedState(
  url: string | null,
  passwordFile: string | null,
  prefix: string,
): SharedStateConfig | null {
  if (url === null) {
    if (passwordFile !== null) {
      throw new ConfigError("--shared-state-password-file needs --shared-state");
    }
    return null;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--shared-state: not a URL: ${url}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ConfigError("--shared-state takes redis://host:port or rediss://host:port");
  }
  if (parsed.password !== "") {
    throw new ConfigError(
      "--shared-state: no password in the URL (it would show in ps): use --shared-state-password-file",
    );
  }
  if (parsed.hostname === "" || parsed.search !== "" || parsed.hash !== "") {
    throw new ConfigError("--shared-state takes redis://[user@]host:port[/db], nothing more");
  }
  const db = parsed.pathname === "" || parsed.pathname === "/" ? "0" : parsed.pathname.slice(1);
  if (!/^\d{1,2}$/.test(db)) throw new ConfigError(`--shared-state: bad database number: ${db}`);
  if (!PREFIX.test(prefix)) {
    throw new ConfigError("--shared-state-prefix: 1 to 64 letters, digits or :_.-");
  }
  return {
    tls: parsed.protocol === "rediss:",
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port === "" ? 6379 : Number(parsed.port),
    user: parsed.username === "" ? null : decodeURIComponent(parsed.username),
    db: Number(db),
    passwordFile,
    prefix,
  };
}

/**
 * The settings as a URL to show (banner, logs): never a password.
 *
 * @example
 * ```ts
 * import { sharedState, shownSharedState } from "./config_shared_state.ts";
 * shownSharedState(sharedState("redis://a@h:7/1", null, "b:")!); // "redis://a@h:7/1"
 * ```
 */
export function shownSharedState(config: SharedStateConfig): string {
  const user = config.user === null ? "" : `${encodeURIComponent(config.user)}@`;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return `${config.tls ? "rediss" : "redis"}://${user}${host}:${config.port}/${config.db}`;
}
