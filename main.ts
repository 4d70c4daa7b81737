/**
 * bastion: read flags → Config; check start-up conditions; serve; handle signals.
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { type Config, ConfigError, parseCommand } from "./src/config.ts";
import { helpText } from "./src/config_flags.ts";
import { startBastion } from "./src/assemble.ts";
import { escapeControl, Logger } from "./src/log.ts";
import { createShared } from "./src/shared/shared_state.ts";
import { startFleet } from "./src/shared/fleet_sync.ts";
import { inWorker, reusePortUnavailable, runWorker, WorkerPool } from "./src/server/workers.ts";
import { printedCommand } from "./src/permissions.ts";
import { bannerFields, prepare, sharedStatePassword, StartupError } from "./src/startup.ts";
import { VERSION } from "./src/version.ts";

const EXIT_USAGE = 2;

async function main(args: string[]): Promise<void> {
  const command = parseCommand(args);
  if (command.kind === "help") return console.log(helpText());
  if (command.kind === "version") return console.log(`bastion ${VERSION}`);
  const module = new URL(import.meta.url);
  // A compiled binary's modules are embedded: no file for workers to be allowed to read.
  const main = module.protocol === "file:" && !Deno.build.standalone ? fromFileUrl(module) : null;
  if (command.kind === "print-command") {
    return console.log(printedCommand(command.config, args, fromFileUrl(module)));
  }
  let { config } = command;
  if (config.workers > 1) {
    const unavailable = reusePortUnavailable();
    if (unavailable !== null) throw new StartupError(unavailable);
    if (config.port === 0) config = { ...config, port: _freePort(config.host) };
  }
  const prepared = await prepare(config, main);
  // With workers, the main thread logs as w0; each worker logs as itself.
  const log = new Logger({
    format: config.logFormat,
    level: config.logLevel,
    worker: config.workers > 1 ? 0 : 1,
  });
  const shared = createShared(config, prepared.uploadBytes);
  const fleet = config.sharedState === null
    ? null
    : startFleet(config.sharedState, await sharedStatePassword(config), {
      table: shared.clients,
      quota: config.readOnly ? null : shared.quota,
      rateLimit: config.rateLimit,
      ban: config.ban,
      log,
    });
  const startedAt = Date.now();
  const server = await _listen(config, async () => {
    if (config.workers === 1) return startBastion({ config, log, prepared, shared, startedAt });
    const pool = new WorkerPool({ module, config, prepared, shared, log, startedAt });
    return { addr: await pool.start(), shutdown: () => pool.shutdown() };
  });
  // Before the banner: whoever sees it may send a signal at once.
  _onSignals(async () => {
    await server.shutdown();
    await fleet?.stop();
    log.always("bastion stopped");
    await log.flush();
    Deno.exit(0);
  });
  _announce(log, config, bannerFields(config, server.addr, main));
  await log.flush();
}

/** The start-up banner (one line, or a JSON object), and a warning for an open bind. */
function _announce(log: Logger, config: Config, banner: ReturnType<typeof bannerFields>): void {
  if (config.logFormat === "json") log.always("bastion started", banner);
  else {
    log.always(
      `bastion listening on ${banner.url} | workers ${banner.workers} | root ${banner.root} | ` +
        `profile ${banner.profile} | uploads ${banner.uploads} | limits ${banner.limits} | ` +
        `rate limit ${banner["rate limit"]} | timeouts ${banner.timeouts} | ` +
        (banner["shared state"] ? `shared state ${banner["shared state"]} | ` : "") +
        `permissions ${banner.permissions}`,
    );
  }
  if ((config.host === "0.0.0.0" || config.host === "::") && config.allowedHosts.length === 0) {
    log.warn(
      "bound to all interfaces without --allowed-host: a Host is accepted only as localhost " +
        "or the address the client connected to; add --allowed-host NAME for a domain",
    );
  }
}

/** Starts listening; bind failures (also those a worker reports by name) become one line. */
async function _listen<T>(config: Config, start: () => Promise<T> | T): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "AddrInUse") {
      throw new StartupError(`Port ${config.port} on ${config.host} is already in use`);
    }
    if (name === "NotCapable" || name === "PermissionDenied") {
      throw new StartupError(`Cannot listen on ${config.host}:${config.port}: permission denied`);
    }
    if (name === "AddrNotAvailable") {
      throw new StartupError(`Cannot listen on ${config.host}: address not available`);
    }
    throw error;
  }
}

/** A free port for the workers to share when port 0 was asked for. */
function _freePort(hostname: string): number {
  const probe = Deno.listen({ hostname, port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  return port;
}

function _onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) Deno.exit(1);
    stopping = true;
    stop();
  };
  Deno.addSignalListener("SIGINT", handler);
  Deno.addSignalListener("SIGTERM", handler);
}

if (inWorker()) {
  runWorker(startBastion);
} else if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      console.error(`bastion: ${escapeControl(error.message)}`);
    } else {
      console.error(`bastion: start-up failed: ${(error as Error)?.name ?? "Error"}`);
    }
    Deno.exit(EXIT_USAGE);
  }
}
