/**
 * A listening server: admits each connection the listener hands over (caps,
 * queue, bans), makes room under pressure, runs each {@linkcode Connection},
 * and drains them all on shutdown.
 * @module
 */

import { HttpError } from "../http/http_error.ts";
import type { Refusal } from "../shared/client_table.ts";
import type { SharedState } from "../shared/shared_state.ts";
import { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import type { Listener } from "./listener.ts";
import { PoolStatus } from "./pool_status.ts";
import { CROWDING, PeerCounts, shedIdle } from "./shedding.ts";
import type { SocketConn } from "./tls_listener.ts";

/** A listening server. */
export interface RunningServer {
  /** The bound address (the real port when 0 was asked for). */
  addr: Deno.NetAddr;
  /**
   * Stops accepting, closes idle connections at once, lets in-flight requests
   * finish for up to `--shutdown-timeout`, then closes what is left.
   */
  shutdown(): Promise<void>;
  /**
   * Takes this server's open connections off the shared table at once, for a
   * worker dying from an uncaught error: its connections then never close
   * through the server, and would stay counted against their addresses and
   * the global cap for as long as the process runs.
   */
  forgetConnections(): void;
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  listener: Listener;
  /** What its connections share, but whether the server drains: that it adds. */
  parts: Omit<ServerContext, "draining">;
  /** State shared with the other workers. */
  shared: SharedState;
}

/** How often a waiting newcomer looks again for a connection to shed. */
const SHED_RETRY_MS = 100;
/** Idle connections closed each time an accept finds no file descriptor left. */
const SHED_ON_OUT_OF_FILES = 16;

/**
 * Serves the connections `options.listener` hands over.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * const server = startServer({ listener, parts, shared });
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions): RunningServer {
  const { listener, shared } = options;
  let draining = false;
  const context: ServerContext = { ...options.parts, draining: () => draining };
  const { admission, config, log } = context;
  const connections = new Set<Connection>();
  const pool = new PoolStatus({
    cap: config.maxConnections,
    queue: config.queue,
    swapLevel: (level) => shared.clients.swapPoolLevel(level),
  });
  const poolChanged = () => {
    const line = pool.update(admission.open, admission.queued);
    if (line !== null) log.info(line);
  };
  /** Admitted and not yet closed: what this server holds in the shared table. */
  const counted = new Set<Connection>();
  /** The same connections by address, to shed a crowded address's before a lone one. */
  const held = new PeerCounts();
  const shed = (count: number) => shedIdle(counted, count, (peer) => held.held(peer));
  const closed = (connection: Connection) => {
    if (counted.delete(connection)) {
      held.delete(connection.peer);
      admission.release(connection.peer);
    }
    poolChanged();
    connections.delete(connection);
  };
  const admitted = (connection: Connection, refusal: Refusal | null) => {
    if (refusal === null) {
      counted.add(connection);
      held.add(connection.peer);
      poolChanged();
      connection.run(closed);
      return;
    }
    if (refusal === "banned") {
      connection.close();
      connections.delete(connection);
    } else {
      shared.metrics.rejection("busy");
      connection.refuse(_busy(refusal)).finally(() => connections.delete(connection));
    }
  };
  let nextId = 0;
  const accepted = (conn: SocketConn) => {
    const connection = new Connection(conn, ++nextId, context);
    connections.add(connection);
    shared.metrics.connection();
    // At the cap, a newcomer from an address that is not crowding the server
    // waits ahead of the rest, and an idle or trickling connection makes room.
    const first = held.held(connection.peer) <= CROWDING;
    const atCap = admission.open >= config.maxConnections;
    const admitting = admission.admit(connection.peer, first);
    if (first && atCap && shed(1) === 0) {
      // Nothing to shed yet (a body becomes sheddable only after a while): look again.
      const retry = setInterval(() => shed(1) > 0 && clearInterval(retry), SHED_RETRY_MS);
      admitting.finally(() => clearInterval(retry));
    }
    admitting.then(
      (refusal) => admitted(connection, refusal),
      (error) => {
        connections.delete(connection);
        connection.close();
        log.error("connection failed", { error: String(error) });
      },
    );
  };
  // Plain HTTP on the TLS port: one readable 400, then close (nginx answers 497).
  const plain = (conn: SocketConn) => {
    const connection = new Connection(conn, ++nextId, context);
    connections.add(connection);
    connection.refuse(_speaksHttps()).finally(() => connections.delete(connection));
  };
  const accepting = listener.serve({
    accepted,
    plain,
    refuse: (address) => admission.banned(address),
    outOfFiles: () => shed(SHED_ON_OUT_OF_FILES),
    stopped: () => draining,
    log,
  }).catch((error) => log.error("accept loop failed", { error: String(error) }));

  return {
    addr: listener.addr,
    forgetConnections() {
      for (const connection of counted) admission.release(connection.peer);
      counted.clear();
    },
    async shutdown() {
      draining = true;
      const closing = listener.close();
      await accepting;
      for (const connection of connections) if (connection.idle) connection.close();
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const connection of connections) if (connection.idle) connection.close();
      }
      for (const connection of connections) connection.close();
      context.sweeper.stop();
      context.turns.stop();
      await closing;
    },
  };
}

/** 400 for plain HTTP sent to the TLS port: a mistake, not an attack. */
function _speaksHttps(): HttpError {
  return new HttpError(400, "This port speaks HTTPS: use an https:// URL", { close: true });
}

/** 503 for a connection over a cap: Retry-After 5, then close. */
function _busy(refusal: string): HttpError {
  return new HttpError(503, `Too many connections (${refusal})`, {
    close: true,
    headers: [["Retry-After", "5"]],
  });
}
