/**
 * The accept loop: listens, hands each connection to a {@linkcode Connection},
 * and drains them on shutdown.
 * @module
 */

import type { Config } from "../config.ts";
import { App } from "../handlers/app.ts";
import { HostAllowList } from "../guard/host_allow.ts";
import type { Logger } from "../log.ts";
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
  /** The web root's real path. */
  realRoot: string;
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
 * const server = await startServer({ config, log, realRoot });
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions): RunningServer {
  const { config, log } = options;
  const listener = Deno.listen({
    hostname: config.host,
    port: config.port,
    ...(config.workers > 1 ? { reusePort: true } : {}),
  });
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
    app: new App({ config, hosts, realRoot: options.realRoot }),
    sweeper: new DeadlineSweeper(
      sweepInterval([
        config.headerTimeoutMs,
        config.bodyTimeoutMs,
        config.sendTimeoutMs,
        config.idleTimeoutMs,
      ]),
    ),
    common: new CommonHeaders({ extra: config.extraHeaders }),
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
