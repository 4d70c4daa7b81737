/**
 * The accept loop: listens, hands each connection to a {@linkcode Connection},
 * and drains them on shutdown.
 * @module
 */

import type { Config } from "../config.ts";
import { App } from "../handlers/app.ts";
import { HostAllowList } from "../guard/host_allow.ts";
import { BearerAuth } from "../guard/upload_auth.ts";
import type { UploadQuota } from "../handlers/upload_quota.ts";
import type { Logger } from "../log.ts";
import type { Prepared } from "../startup.ts";
import { CommonHeaders } from "./common_headers.ts";
import { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import { DeadlineSweeper, sweepInterval } from "./deadlines.ts";

/** A listening server. */
export interface RunningServer {
  /** The bound address (the real port when 0 was asked for). */
  addr: Deno.NetAddr;
  /**
   * Stops accepting, closes idle connections at once, lets in-flight requests
   * finish for up to `--shutdown-timeout`, then closes what is left.
   */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  config: Config;
  log: Logger;
  /** What start-up found. */
  prepared: Prepared;
  /** State shared with the other workers. */
  shared: { quota: UploadQuota };
  /** @default 1 */
  workerId?: number;
}

const ACCEPT_RETRY_MS = 50;

/**
 * Binds the listener and starts accepting. Throws `Deno.errors.AddrInUse` and
 * the like when the address cannot be bound.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * const server = startServer({ config, log, prepared, shared });
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions): RunningServer {
  const { config, log, prepared } = options;
  const listener = _listen(config, prepared);
  const addr = listener.addr as Deno.NetAddr;
  const hosts = new HostAllowList({
    boundHost: config.host,
    boundPort: addr.port,
    allowed: config.allowedHosts,
  });
  let draining = false;
  const context: ServerContext = {
    config,
    log,
    app: new App({
      config,
      hosts,
      realRoot: prepared.realRoot,
      quota: options.shared.quota,
      auth: prepared.uploadToken === null ? null : new BearerAuth(prepared.uploadToken),
    }),
    sweeper: new DeadlineSweeper(
      sweepInterval([
        config.headerTimeoutMs,
        config.bodyTimeoutMs,
        config.sendTimeoutMs,
        config.idleTimeoutMs,
      ]),
    ),
    common: new CommonHeaders({ extra: config.extraHeaders, tls: prepared.tls !== null }),
    bodyLimits: {
      maxBody: config.maxBody,
      maxTrailer: config.maxHead,
      maxTrailerFields: config.maxHeaders,
    },
    workerId: options.workerId ?? 1,
    draining: () => draining,
  };
  const connections = new Set<Connection>();
  const accepting = _acceptLoop(listener, context, connections, () => draining);

  return {
    addr,
    async shutdown() {
      draining = true;
      listener.close();
      await accepting;
      for (const connection of connections) if (connection.idle) connection.close();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const connection of connections) if (connection.idle) connection.close();
      }
      for (const connection of connections) connection.close();
      context.sweeper.stop();
    },
  };
}

function _listen(config: Config, prepared: Prepared): Deno.Listener {
  const address = {
    hostname: config.host,
    port: config.port,
    ...(config.workers > 1 ? { reusePort: true } : {}),
  };
  if (prepared.tls === null) return Deno.listen(address);
  return Deno.listenTls({ ...address, ...prepared.tls, alpnProtocols: ["http/1.1"] });
}

async function _acceptLoop(
  listener: Deno.Listener,
  context: ServerContext,
  connections: Set<Connection>,
  stopped: () => boolean,
): Promise<void> {
  let nextId = 0;
  while (!stopped()) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stopped() || error instanceof Deno.errors.BadResource) return;
      context.log.error("accept failed", { error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      continue;
    }
    (conn as Deno.TcpConn).setNoDelay?.(true);
    const connection = new Connection(conn, ++nextId, context);
    connections.add(connection);
    connection.run().finally(() => connections.delete(connection));
  }
}
