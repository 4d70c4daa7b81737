/**
 * Start-up checks and the banner: the web root exists, the permission flags
 * cover it, the upload directory is ready and swept of stale temporaries.
 * Every failure is a {@linkcode StartupError}: one line, exit code 2.
 * @module
 */

import { relative } from "node:path";
import type { Config } from "./config.ts";
import { tokenFromText } from "./guard/upload_auth.ts";
import { storedUploadBytes } from "./handlers/upload_quota.ts";
import { UploadStore } from "./handlers/upload_store.ts";
import { formatDuration, formatSize } from "./units.ts";

/** A reason the server cannot start: one line for the user, exit code 2. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** What start-up found, for the server. */
export interface Prepared {
  /** The web root's real path. */
  realRoot: string;
  /** Bytes of uploads already stored, for the quota. */
  uploadBytes: number;
  /** The upload token, or `null` when uploads need none. */
  uploadToken: string | null;
  /** PEM certificate and key when serving TLS. */
  tls: { cert: string; key: string } | null;
}

/** The environment variable that may carry the upload token. */
export const TOKEN_VARIABLE = "BASTION_UPLOAD_TOKEN";

/**
 * Checks permissions, directories, the token and TLS files.
 *
 * @example
 * ```ts ignore
 * import { prepare } from "./startup.ts";
 * const { realRoot } = await prepare(config);
 * ```
 */
export async function prepare(config: Config): Promise<Prepared> {
  _requirePermission({ name: "read", path: config.root }, `--allow-read=${_shown(config.root)}`);
  _requirePermission({ name: "net", host: config.host }, `--allow-net`);
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(config.root);
    if (!(await Deno.stat(realRoot)).isDirectory) throw new Deno.errors.NotADirectory();
  } catch {
    throw new StartupError(`Web root not found or not a directory: ${_shown(config.root)}`);
  }
  _requirePermission(
    { name: "read", path: config.uploadDir },
    `--allow-read=${_shown(config.uploadDir)}`,
  );
  _requirePermission(
    { name: "write", path: config.uploadDir },
    `--allow-write=${_shown(config.uploadDir)}`,
  );
  let uploadBytes: number;
  try {
    await Deno.mkdir(config.uploadDir, { recursive: true });
    await new UploadStore(config.uploadDir).removeStaleTemps();
    uploadBytes = await storedUploadBytes(config.uploadDir);
  } catch (error) {
    throw new StartupError(
      `Upload directory unusable: ${_shown(config.uploadDir)} (${(error as Error).name})`,
    );
  }
  const tls = config.cert && config.key
    ? {
      cert: await _readSecret(config.cert, "--cert"),
      key: await _readSecret(config.key, "--key"),
    }
    : null;
  return { realRoot, uploadBytes, uploadToken: await _uploadToken(config), tls };
}

async function _uploadToken(config: Config): Promise<string | null> {
  const permission = Deno.permissions.querySync({ name: "env", variable: TOKEN_VARIABLE });
  const fromEnv = permission.state === "granted" ? Deno.env.get(TOKEN_VARIABLE) : undefined;
  if (config.uploadTokenFile !== null && fromEnv !== undefined) {
    throw new StartupError(`Give the upload token once: --upload-token-file or ${TOKEN_VARIABLE}`);
  }
  const text = config.uploadTokenFile !== null
    ? await _readSecret(config.uploadTokenFile, "--upload-token-file")
    : fromEnv;
  if (text === undefined) return null;
  try {
    return tokenFromText(text);
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

async function _readSecret(path: string, flag: string): Promise<string> {
  _requirePermission({ name: "read", path }, `--allow-read=${path}`);
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new StartupError(`Cannot read ${flag} file: ${path} (${(error as Error).name})`);
  }
}

/**
 * The start-up banner's facts, for a text line or a JSON object.
 *
 * @example
 * ```ts ignore
 * import { bannerFields } from "./startup.ts";
 * bannerFields(config, { hostname: "127.0.0.1", port: 8080, transport: "tcp" });
 * ```
 */
export function bannerFields(
  config: Config,
  addr: Deno.NetAddr,
  module: string | null = null,
): Record<string, unknown> {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const scheme = config.cert ? "https" : "http";
  return {
    url: `${scheme}://${host}:${addr.port}/`,
    workers: config.workers,
    root: config.root,
    uploads: config.uploadDir,
    limits:
      `head ${formatSize(config.maxHead)}, uri ${config.maxUri}, headers ${config.maxHeaders}, ` +
      `body ${formatSize(config.maxBody)}, json depth ${config.maxJsonDepth}, ` +
      `requests/conn ${config.maxRequestsPerConnection}`,
    timeouts:
      `header ${formatDuration(config.headerTimeoutMs)}, body ${
        formatDuration(config.bodyTimeoutMs)
      }, ` +
      `send ${formatDuration(config.sendTimeoutMs)}, idle ${formatDuration(config.idleTimeoutMs)}`,
    permissions: grantedPermissions(config, module),
  };
}

/**
 * The permission flags the process runs under, as `deno run` would spell them.
 *
 * @example
 * ```ts ignore
 * import { grantedPermissions } from "./startup.ts";
 * grantedPermissions(config); // "--allow-net --allow-read=resources --allow-write=resources/uploads"
 * ```
 */
export function grantedPermissions(config: Config, module: string | null = null): string {
  const flags: string[] = [];
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  for (const name of ["net", "read", "write", "env", "run", "ffi", "sys", "import"] as const) {
    if (granted({ name })) flags.push(`--allow-${name}`);
    else if (name === "read" && granted({ name, path: config.root })) {
      const paths = [config.root];
      if (module !== null && granted({ name, path: module })) paths.push(module);
      flags.push(`--allow-read=${paths.map(_shown).join(",")}`);
    } else if (name === "write" && granted({ name, path: config.uploadDir })) {
      flags.push(`--allow-write=${_shown(config.uploadDir)}`);
    }
  }
  return flags.join(" ");
}

function _requirePermission(descriptor: Deno.PermissionDescriptor, flag: string): void {
  if (Deno.permissions.querySync(descriptor).state !== "granted") {
    throw new StartupError(`Missing permission: run with ${flag}`);
  }
}

function _shown(path: string): string {
  const shown = relative(Deno.cwd(), path);
  return shown === "" ? "." : shown.startsWith("..") ? path : shown;
}
