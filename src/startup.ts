/**
 * Start-up checks and the banner: the web root exists, the permission flags
 * cover it, the upload directory is ready and swept of stale temporaries.
 * Every failure is a {@linkcode StartupError}: one line, exit code 2.
 * @module
 */

import { shownSharedState } from "./config_shared_state.ts";
import type { Config } from "./config.ts";
import type { Prepared } from "./types.ts";
import { tokenFromText } from "./guard/upload_auth.ts";
import {
  pathList,
  permissionPlan,
  shownPath,
  TOKEN_VARIABLE,
  workerModules,
} from "./permissions.ts";
import { storedUploadBytes } from "./shared/upload_quota.ts";
import { UploadStore } from "./handlers/upload_store.ts";
import { formatDuration, formatSize } from "./units.ts";

/** A reason the server cannot start: one line for the user, exit code 2. */
export class StartupError extends Error {
  override name = "StartupError";
}

/**
 * Checks permissions, directories, the token and TLS files. `main` is the
 * server's entry module when it is a file workers must be allowed to read.
 *
 * @example
 * ```ts
 * import { prepare } from "./startup.ts";
 * import type { Config } from "./config.ts";
 * declare const config: Config;
 * const { realRoot } = await prepare(config);
 * ```
 */
export async function prepare(config: Config, main: string | null = null): Promise<Prepared> {
  _requirePermission({ name: "read", path: config.root }, `--allow-read=${_shown(config.root)}`);
  _requirePermission({ name: "net", host: config.host }, `--allow-net`);
  if (config.workers > 1 && main !== null) _requireWorkerModules(config, main);
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(config.root);
    if (!(await Deno.stat(realRoot)).isDirectory) throw new Deno.errors.NotADirectory();
  } catch {
    throw new StartupError(`Web root not found or not a directory: ${_shown(config.root)}`);
  }
  const tls = config.cert && config.key
    ? {
      cert: await _readSecret(config.cert, "--cert"),
      key: await _readSecret(config.key, "--key"),
    }
    : null;
  if (config.readOnly) return { realRoot, uploadBytes: 0, uploadToken: null, tls };
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
  return { realRoot, uploadBytes, uploadToken: await _uploadToken(config), tls };
}

/** Each worker loads the server's modules itself, under the process's permissions. */
function _requireWorkerModules(config: Config, main: string): void {
  const modules = workerModules(main);
  const missing = modules.filter((path) =>
    Deno.permissions.querySync({ name: "read", path }).state !== "granted"
  );
  if (missing.length === 0) return;
  const read = pathList(permissionPlan(config, { main }).read, Deno.cwd());
  throw new StartupError(
    `Missing permission: --workers ${config.workers} loads ${
      missing.map(_shown).join(" and ")
    } in each worker: run with --allow-read=${read}`,
  );
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

/**
 * The Redis password of `--shared-state-password-file` (its first line), or
 * `null` without one. Throws {@linkcode StartupError} when it cannot be read.
 *
 * @example
 * ```ts
 * import { sharedStatePassword } from "./startup.ts";
 * import type { Config } from "./config.ts";
 * declare const config: Config;
 * const password = await sharedStatePassword(config);
 * ```
 */
export async function sharedStatePassword(config: Config): Promise<string | null> {
  const file = config.sharedState?.passwordFile ?? null;
  if (file === null) return null;
  const password = (await _readSecret(file, "--shared-state-password-file")).split(/\r?\n/)[0];
  if (password === "") throw new StartupError(`--shared-state-password-file is empty: ${file}`);
  return password;
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
 * ```ts
 * import { bannerFields } from "./startup.ts";
 * import type { Config } from "./config.ts";
 * declare const config: Config;
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
    profile: config.profile,
    uploads: config.readOnly ? "off (read-only)" : config.uploadDir,
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
    "rate limit": config.rateLimit === null
      ? "off"
      : `${config.rateLimit.rate}/s, burst ${config.rateLimit.burst}`,
    ...(config.sharedState === null ? {} : {
      "shared state": `${shownSharedState(config.sharedState)} (${config.sharedState.prefix})`,
    }),
  };
}

/**
 * The permission flags the process runs under, as `deno run` would spell them.
 *
 * @example
 * ```ts
 * import { grantedPermissions } from "./startup.ts";
 * import type { Config } from "./config.ts";
 * declare const config: Config;
 * grantedPermissions(config); // "--allow-net --allow-read=resources --allow-write=resources/uploads"
 * ```
 */
export function grantedPermissions(config: Config, module: string | null = null): string {
  const flags: string[] = [];
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  const plan = permissionPlan(config, { main: module, tokenFromEnv: true });
  for (const name of ["net", "read", "write", "env", "run", "ffi", "sys", "import"] as const) {
    if (granted({ name })) flags.push(`--allow-${name}`);
    else if (name === "read" || name === "write") {
      const paths = plan[name].filter((path) => granted({ name, path }));
      if (paths.length > 0) flags.push(`--allow-${name}=${pathList(paths, Deno.cwd())}`);
    } else if (name === "env") {
      const names = plan.env.filter((variable) => granted({ name, variable }));
      if (names.length > 0) flags.push(`--allow-env=${names}`);
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
  return shownPath(path, Deno.cwd());
}
