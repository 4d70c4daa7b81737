/**
 * `deno task compile [-- FLAGS]`: builds `dist/bastion` (or `--output FILE`),
 * one executable with bastion's FLAGS and exactly the permissions they need
 * baked in. Relative paths stay relative, so the binary serves them from the
 * directory it is started in. Without a reachable `denort` runtime it ends
 * with one line saying where to get one.
 * @module
 */

import { fileURLToPath } from "node:url";
import { ConfigError, parseCommand } from "../src/config.ts";
import { escapeControl } from "../src/log.ts";
import { permissionFlags, permissionPlan, RUNTIME_FLAGS, shownPath } from "../src/permissions.ts";

const EXIT_USAGE = 2;
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const DEFAULT_OUTPUT = "dist/bastion";

/** The arguments of `deno compile` for bastion's `args`, written to `output`. */
function compileArguments(args: string[], output: string): string[] {
  const command = parseCommand(args);
  if (command.kind !== "run") throw new ConfigError("Give flags to serve with, not --help");
  // Workers load the embedded modules: no module files to be allowed to read.
  const plan = permissionPlan(command.config);
  const cwd = Deno.cwd();
  const own = args[0] === "--" ? args.slice(1) : args;
  return [
    "compile",
    "--no-prompt",
    ...RUNTIME_FLAGS,
    ...permissionFlags(plan, cwd),
    "--output",
    output,
    shownPath(MAIN, cwd),
    ...own,
  ];
}

/** One line for a build that could not get Deno's runtime, or `null` for another failure. */
function runtimeMissing(stderr: string): string | null {
  const version = Deno.version.deno;
  const where = `the denort-${Deno.build.target}.zip asset of Deno's v${version} release ` +
    `(github.com/denoland/deno/releases), unzipped, or the one deno compile caches under ` +
    `$DENO_DIR/dl/release/v${version}/ on a machine that reaches Deno's servers`;
  const given = Deno.env.get("DENORT_BIN");
  if (given && /Could not find denort/i.test(stderr)) {
    return `DENORT_BIN=${given} is not a file: point it at the denort of Deno ${version}, ${where}`;
  }
  if (!given && /denort|dl\.deno\.land|error sending request|dns error/i.test(stderr)) {
    return `deno compile could not download Deno's runtime (denort): set DENORT_BIN to the ` +
      `denort of Deno ${version}: ${where}`;
  }
  return null;
}

async function compile(args: string[]): Promise<number> {
  const at = args.indexOf("--output");
  const output = at >= 0 ? args[at + 1] : DEFAULT_OUTPUT;
  if (output === undefined) throw new ConfigError("--output needs a file name");
  const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;
  const build = await new Deno.Command(Deno.execPath(), {
    args: compileArguments(rest, output),
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (build.success) return 0;
  const stderr = new TextDecoder().decode(build.stderr);
  const line = runtimeMissing(stderr);
  if (line === null) await Deno.stderr.write(build.stderr);
  else console.error(`bastion: ${line}`);
  return build.code === 0 ? 1 : build.code;
}

if (import.meta.main) {
  try {
    Deno.exit(await compile(Deno.args));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`bastion: ${escapeControl(error.message)}`);
    Deno.exit(EXIT_USAGE);
  }
}
