/**
 * bastion's launcher, behind `deno task serve`: reads the same flags as the
 * server, works out the least permissions that configuration needs (read the
 * root, TLS and token files, and the modules workers load; write the upload
 * directory unless read-only; net) and runs `main.ts` under exactly those in a
 * child process. Only this process may start programs; the server never can.
 * @module
 */

import { fileURLToPath } from "node:url";
import { ConfigError, parseCommand } from "./src/config.ts";
import { escapeControl } from "./src/log.ts";
import {
  permissionPlan,
  printedCommand,
  runArguments,
  tokenInEnvironment,
} from "./src/permissions.ts";

const EXIT_USAGE = 2;
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
/** Signals passed on to the server; a hang-up stops it like a TERM. */
const FORWARDED = [["SIGINT", "SIGINT"], ["SIGTERM", "SIGTERM"], ["SIGHUP", "SIGTERM"]] as const;
/**
 * A terminal's Ctrl-C reaches this process twice, from the terminal and from
 * `deno task`; the server counts a second signal as "stop now", so copies
 * this close together are passed on once.
 */
const SAME_SIGNAL_MS = 300;
/** Descriptors besides connections: files being sent, logs, the runtime's own. */
const FILES_HEADROOM = 64;

async function launch(args: string[]): Promise<number> {
  const command = parseCommand(args);
  if (command.kind === "print-command") {
    console.log(printedCommand(command.config, args, MAIN));
    return 0;
  }
  // --help and --version need no permission at all.
  const plan = command.kind === "run"
    ? permissionPlan(command.config, { main: MAIN, tokenFromEnv: tokenInEnvironment() })
    : { read: [], write: [], env: [] };
  if (command.kind === "run") await _warnOfFileLimit(command.config.maxConnections);
  // Its own session: a terminal's Ctrl-C reaches the server once, through us.
  const child = new Deno.Command(Deno.execPath(), {
    args: runArguments(plan, { main: MAIN, args, cwd: Deno.cwd() }),
    stdin: "null",
    detached: true,
  }).spawn();
  let lastSent = -Infinity;
  for (const [signal, sent] of FORWARDED) {
    Deno.addSignalListener(signal, () => {
      if (performance.now() - lastSent < SAME_SIGNAL_MS) return;
      lastSent = performance.now();
      try {
        child.kill(sent);
      } catch {
        // Already gone: its status is on its way.
      }
    });
  }
  const status = await child.status;
  return status.signal === null ? status.code : 128 + _signalNumber(status.signal);
}

/**
 * Warns when the open-files limit the server inherits is below what its
 * connection cap needs (the server itself may not read its limits: that
 * takes --allow-all). Out of descriptors, it would shed idle connections.
 */
async function _warnOfFileLimit(maxConnections: number): Promise<void> {
  const { stdout, success } = await new Deno.Command("sh", {
    args: ["-c", "ulimit -n"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => ({ stdout: new Uint8Array(), success: false }));
  const limit = Number(new TextDecoder().decode(stdout).trim());
  const needed = maxConnections + FILES_HEADROOM;
  if (!success || !Number.isInteger(limit) || limit >= needed) return;
  console.error(
    `bastion: warning: the open-files limit is ${limit}, below --max-connections ` +
      `${maxConnections} + ${FILES_HEADROOM}: raise it (ulimit -n ${needed}, or LimitNOFILE= ` +
      "in a systemd unit)",
  );
}

function _signalNumber(signal: Deno.Signal): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ??
    0;
}

if (import.meta.main) {
  try {
    Deno.exit(await launch(Deno.args));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`bastion: ${escapeControl(error.message)}`);
    Deno.exit(EXIT_USAGE);
  }
}
