/**
 * bastion: read flags → Config; check start-up conditions; serve; handle signals.
 * @module
 */

import { ConfigError, parseCommand } from "./src/config.ts";
import { helpText } from "./src/config_flags.ts";
import { UploadQuota } from "./src/handlers/upload_quota.ts";
import { escapeControl, Logger } from "./src/log.ts";
import { ClientTable } from "./src/server/client_table.ts";
import { startServer } from "./src/server/server.ts";
import { bannerFields, prepare, StartupError } from "./src/startup.ts";
import { VERSION } from "./src/version.ts";

const EXIT_USAGE = 2;

async function main(args: string[]): Promise<void> {
  const command = parseCommand(args);
  if (command.kind === "help") return console.log(helpText());
  if (command.kind === "version") return console.log(`bastion ${VERSION}`);
  const { config } = command;
  if (config.workers > 1) {
    throw new StartupError("--workers above 1 is not available yet: run one process per core");
  }
  const prepared = await prepare(config);
  const log = new Logger({ format: config.logFormat, level: config.logLevel });
  const shared = {
    quota: UploadQuota.create(config.uploadQuota, prepared.uploadBytes),
    clients: ClientTable.create(Math.max(16_384, 4 * config.maxConnections)),
  };
  const server = _listen(() => startServer({ config, log, prepared, shared }), config);
  const banner = bannerFields(config, server.addr);
  if (config.logFormat === "json") log.always("bastion started", banner);
  else {
    log.always(
      `bastion listening on ${banner.url} | workers ${banner.workers} | root ${banner.root} | ` +
        `uploads ${banner.uploads} | limits ${banner.limits} | timeouts ${banner.timeouts} | ` +
        `permissions ${banner.permissions}`,
    );
  }
  if ((config.host === "0.0.0.0" || config.host === "::") && config.allowedHosts.length === 0) {
    log.warn("bound to all interfaces without --allowed-host: only localhost names are accepted");
  }
  await log.flush();
  _onSignals(async () => {
    await server.shutdown();
    log.always("bastion stopped");
    await log.flush();
    Deno.exit(0);
  });
}

function _listen<T>(start: () => T, config: { host: string; port: number }): T {
  try {
    return start();
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new StartupError(`Port ${config.port} on ${config.host} is already in use`);
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new StartupError(`Cannot listen on ${config.host}:${config.port}: permission denied`);
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new StartupError(`Cannot listen on ${config.host}: address not available`);
    }
    throw error;
  }
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

if (import.meta.main) {
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
