/**
 * The least Deno permissions a configuration needs, and the `deno run` line
 * that grants exactly those: read the web root, the TLS files and the token
 * file (and, with workers, the server's own modules); write the upload
 * directory unless read-only; listen on the network. The launcher, the compile
 * script, `--print-command` and the banner all take their flags from here.
 * @module
 */

import { dirname, isAbsolute, join, relative } from "node:path";
import type { Config } from "./config.ts";

/** The environment variable that may carry the upload token. */
export const TOKEN_VARIABLE = "BASTION_UPLOAD_TOKEN";

/** Runtime flags every run of the server takes, besides its permissions. */
export const RUNTIME_FLAGS: readonly string[] = [
  // Deno 2.9 needs it for `reusePort`, which workers share the port with.
  "--unstable-net",
  // Smaller young generation: less memory per idle worker (`docs/performance.md`, Memory).
  "--v8-flags=--max-semi-space-size=8",
];

/** The environment variable the Redis client (`@redis/client`) reads. */
export const REDIS_CLIENT_VARIABLE = "REDIS_DEBUG_MAINTENANCE";

/** What the server process may touch. */
export interface PermissionPlan {
  /** Paths to read, absolute. */
  read: string[];
  /** Paths to write, absolute; empty when read-only. */
  write: string[];
  /** Environment variables to read. */
  env: string[];
}

/** Options of {@linkcode permissionPlan}. */
export interface PlanOptions {
  /** The server's entry module (`main.ts`), whose tree workers load. @default null */
  main?: string | null;
  /** Whether the upload token comes from {@linkcode TOKEN_VARIABLE}. @default false */
  tokenFromEnv?: boolean;
}

/**
 * The permissions `config` needs.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./config.ts";
 * import { permissionPlan } from "./permissions.ts";
 * const command = parseCommand(["--read-only"]);
 * if (command.kind === "run") permissionPlan(command.config).write; // []
 * ```
 */
export function permissionPlan(config: Config, options: PlanOptions = {}): PermissionPlan {
  const read = [config.root];
  const write: string[] = [];
  if (!config.readOnly) {
    if (!_inside(config.root, config.uploadDir)) read.push(config.uploadDir);
    write.push(config.uploadDir);
  }
  const passwordFile = config.sharedState?.passwordFile ?? null;
  for (const file of [config.cert, config.key, config.uploadTokenFile, passwordFile]) {
    if (file !== null) read.push(file);
  }
  if (config.workers > 1 && options.main) read.push(...workerModules(options.main));
  const env = options.tokenFromEnv && !config.readOnly ? [TOKEN_VARIABLE] : [];
  // The Redis client reads this one variable of its own when it connects.
  if (config.sharedState !== null) env.push(REDIS_CLIENT_VARIABLE);
  return { read, write, env };
}

/**
 * The files a worker thread must be allowed to read to load the server: the
 * entry module and the `src/` tree beside it (npm packages need no grant).
 *
 * @example
 * ```ts
 * import { workerModules } from "./permissions.ts";
 * workerModules("/opt/bastion/main.ts"); // ["/opt/bastion/main.ts", "/opt/bastion/src"]
 * ```
 */
export function workerModules(main: string): string[] {
  return [main, join(dirname(main), "src")];
}

/**
 * The plan as `deno run` flags, paths shown relative to `cwd` when inside it.
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * permissionFlags({ read: ["/srv/www"], write: [], env: [] }, "/srv");
 * // ["--allow-net", "--allow-read=www"]
 * ```
 */
export function permissionFlags(plan: PermissionPlan, cwd: string): string[] {
  const flags = ["--allow-net"];
  if (plan.read.length > 0) flags.push(`--allow-read=${pathList(plan.read, cwd)}`);
  if (plan.write.length > 0) flags.push(`--allow-write=${pathList(plan.write, cwd)}`);
  if (plan.env.length > 0) flags.push(`--allow-env=${plan.env.join(",")}`);
  return flags;
}

/**
 * Paths as one `--allow-read=` or `--allow-write=` value: each shown as
 * {@linkcode shownPath} does, once, comma-separated.
 *
 * @example
 * ```ts
 * import { pathList } from "./permissions.ts";
 * pathList(["/srv/www", "/srv/www", "/etc/c.pem"], "/srv"); // "www,/etc/c.pem"
 * ```
 */
export function pathList(paths: readonly string[], cwd: string): string {
  return [...new Set(paths.map((path) => shownPath(path, cwd)))].join(",");
}

/**
 * The arguments of `deno` that run `main` with exactly the plan's permissions,
 * passing on bastion's own `args` (less a leading `--` and `--print-command`).
 *
 * @example
 * ```ts
 * import { runArguments } from "./permissions.ts";
 * const plan = { read: ["/srv/www"], write: [], env: [] };
 * runArguments(plan, { main: "/opt/bastion/main.ts", args: ["--read-only"], cwd: "/srv" });
 * ```
 */
export function runArguments(
  plan: PermissionPlan,
  options: { main: string; args: readonly string[]; cwd: string },
): string[] {
  return [
    "run",
    "--no-prompt",
    ...RUNTIME_FLAGS,
    ...permissionFlags(plan, options.cwd),
    shownPath(options.main, options.cwd),
    ...options.args.filter((arg, index) =>
      arg !== "--print-command" && !(index === 0 && arg === "--")
    ),
  ];
}

/**
 * The `deno run` line, for a shell, that serves `config` with exactly the
 * permissions it needs (`--print-command`). `args` are bastion's own.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./config.ts";
 * import { printedCommand } from "./permissions.ts";
 * const command = parseCommand(["--read-only"]);
 * if (command.kind === "run") printedCommand(command.config, ["--read-only"], "/opt/main.ts");
 * ```
 */
export function printedCommand(config: Config, args: readonly string[], main: string): string {
  const plan = permissionPlan(config, { main, tokenFromEnv: tokenInEnvironment() });
  return shellLine(["deno", ...runArguments(plan, { main, args, cwd: Deno.cwd() })]);
}

/**
 * Whether {@linkcode TOKEN_VARIABLE} is set (and this process may see it).
 *
 * @example
 * ```ts
 * import { tokenInEnvironment } from "./permissions.ts";
 * tokenInEnvironment();
 * ```
 */
export function tokenInEnvironment(): boolean {
  const permission = Deno.permissions.querySync({ name: "env", variable: TOKEN_VARIABLE });
  return permission.state === "granted" && Deno.env.get(TOKEN_VARIABLE) !== undefined;
}

/**
 * One command line for a shell, each word quoted where it needs to be.
 *
 * @example
 * ```ts
 * import { shellLine } from "./permissions.ts";
 * shellLine(["deno", "run", "--header", "X-A: b"]); // `deno run --header 'X-A: b'`
 * ```
 */
export function shellLine(words: readonly string[]): string {
  return words.map((word) =>
    /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
  ).join(" ");
}

/**
 * `path` relative to `cwd` when it lies inside it, else absolute.
 *
 * @example
 * ```ts
 * import { shownPath } from "./permissions.ts";
 * shownPath("/srv/www", "/srv"); // "www"
 * ```
 */
export function shownPath(path: string, cwd: string): string {
  const shown = relative(cwd, path);
  return shown === "" ? "." : _outside(shown) ? path : shown;
}

function _inside(parent: string, path: string): boolean {
  return !_outside(relative(parent, path));
}

/** Whether a relative path climbs out of its base. */
function _outside(rest: string): boolean {
  return rest === ".." || rest.startsWith("../") || isAbsolute(rest);
}
