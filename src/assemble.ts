/**
 * Where bastion is put together: the listener is bound, then the handler (the
 * app with its guards), admission, and what every connection shares are made
 * from the config and start-up's findings, and the server starts. Nothing else
 * builds these; the layers below only receive them.
 * @module
 */

import type { Config } from "./config.ts";
import { App } from "./handlers/app.ts";
import { HostAllowList } from "./guard/host_allow.ts";
import { HeadParser } from "./http/head_parser.ts";
import { TextCache } from "./http/text_cache.ts";
import { ProxyWarning } from "./guard/proxy_warning.ts";
import { TrustedProxies } from "./guard/trust_proxy.ts";
import { BearerAuth } from "./guard/upload_auth.ts";
import type { Logger } from "./log.ts";
import { Admission } from "./server/admission.ts";
import { FleetDeltas } from "./shared/fleet_deltas.ts";
import { CommonHeaders } from "./server/common_headers.ts";
import type { ServerContext } from "./server/context.ts";
import { DeadlineSweeper, sweepInterval } from "./server/deadlines.ts";
import { FairTurns } from "./server/fair_turn.ts";
import { bindListener } from "./server/listener.ts";
import { type RunningServer, type ServeOptions, startServer } from "./server/server.ts";
import type { SharedState } from "./shared/shared_state.ts";

/** Options of {@linkcode startBastion}. */
export interface BastionOptions extends ServeOptions {
  /** The fair turns of its connections (given to watch their counts). @default new FairTurns() */
  turns?: FairTurns;
}

/**
 * Binds the listener and serves. Throws `Deno.errors.AddrInUse` and the like
 * when the address cannot be bound.
 *
 * @example
 * ```ts
 * import { startBastion } from "./assemble.ts";
 * import type { Config } from "./config.ts";
 * import type { Logger } from "./log.ts";
 * import type { SharedState } from "./shared/shared_state.ts";
 * import type { Prepared } from "./types.ts";
 * declare const config: Config, log: Logger, prepared: Prepared, shared: SharedState;
 * const server = await startBastion({ config, log, prepared, shared });
 * await server.shutdown();
 * ```
 */
export async function startBastion(options: BastionOptions): Promise<RunningServer> {
  const listener = await bindListener(options.config, options.prepared.tls);
  const parts = _connectionParts(options, listener.addr);
  return startServer({ listener, parts, shared: options.shared });
}

/** What every connection of a server bound to `addr` shares. */
function _connectionParts(
  options: BastionOptions,
  addr: Deno.NetAddr,
): Omit<ServerContext, "draining"> {
  const { config, log, prepared, shared } = options;
  const proxies = new TrustedProxies(config.trustProxy);
  return {
    config,
    log,
    app: _app(options, addr),
    parser: new HeadParser(new TextCache()),
    sweeper: new DeadlineSweeper(
      sweepInterval([
        config.headerTimeoutMs,
        config.bodyTimeoutMs,
        config.sendTimeoutMs,
        config.idleTimeoutMs,
      ]),
    ),
    turns: options.turns ?? new FairTurns(),
    common: new CommonHeaders({ extra: config.extraHeaders, tls: prepared.tls !== null }),
    bodyLimits: {
      maxBody: config.maxBody,
      maxTrailer: config.maxHead,
      maxTrailerFields: config.maxHeaders,
    },
    workerId: options.workerId ?? 1,
    admission: _admission(config, log, shared),
    proxies,
    proxyWarning: new ProxyWarning({
      proxies,
      warn: (message, fields) => log.warn(message, fields),
    }),
    metrics: shared.metrics,
  };
}

/** The app: routes, files, uploads, behind the Host allow-list for `addr`. */
function _app(options: BastionOptions, addr: Deno.NetAddr): App {
  const { config, prepared, shared } = options;
  return new App({
    config,
    hosts: new HostAllowList({
      boundHost: config.host,
      boundPort: addr.port,
      allowed: config.allowedHosts,
    }),
    realRoot: prepared.realRoot,
    quota: shared.quota,
    auth: prepared.uploadToken === null ? null : new BearerAuth(prepared.uploadToken),
    observed: {
      metrics: shared.metrics,
      openConnections: () => shared.clients.openConnections,
      workers: config.workers,
      startedAt: options.startedAt ?? Date.now(),
      metricsPublic: config.metricsPublic,
    },
  });
}

/** Caps, queue, rate limit and bans over the shared client table; this worker's share of the queue. */
function _admission(config: Config, log: Logger, shared: SharedState): Admission {
  // In a fleet, what this thread counts goes to the main thread's sync (fleet_sync.ts).
  const fleet = config.sharedState === null ? undefined : new FleetDeltas();
  fleet?.startSending();
  return new Admission({
    fleet,
    table: shared.clients,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    queue: Math.ceil(config.queue / config.workers),
    queueTimeoutMs: config.queueTimeoutMs,
    rateLimit: config.rateLimit,
    ban: config.ban,
    onBan: (client) => {
      shared.metrics.rejection("ban");
      log.security("ban", { client, for: `${config.ban!.banMs}ms`, alert: "address banned" });
    },
  });
}
