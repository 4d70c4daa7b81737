/**
 * A listening server: admits each connection the listener hands over (caps,
 * queue, bans), makes room under pressure, runs each {@linkcode Connection},
 * and drains them all on shutdown.
 * @module
 */

import type { Config } from "../config.ts";
import { HttpError } from "../http/http_error.ts";
import type { Logger } from "../log.ts";
import type { Prepared } from "../types.ts";
import { STATUS_CODE } from "../http/status.ts";
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

/**
 * What a server is started from, in the main thread or in a worker (see
 * `src/assemble.ts`, which builds it, and `runWorker`).
 */
export interface ServeOptions {
  config: Config;
  log: Logger;
  /** What start-up found. */
  prepared: Prepared;
  /** State shared with the other workers. */
  shared: SharedState;
  /** When the process started (ms since the epoch), for /healthz. @default Date.now() */
  startedAt?: number;
  /** @default 1 */
  workerId?: number;
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
 * ```ts
 * import { startServer } from "./server.ts";
 * import type { ServerOptions } from "./server.ts";
 * declare const listener: ServerOptions["listener"], parts: ServerOptions["parts"];
 * declare const shared: ServerOptions["shared"];
 * const server = startServer({ listener, parts, shared });
 * await server.shutdown();
 * ```
 */
export function startServer(options: ServerOptions): RunningServer {
  return new _Server(options);
}

/** The connections of one listener, from admission to close. */
class _Server implements RunningServer {
  readonly addr: Deno.NetAddr;
  #listener: Listener;
  #shared: SharedState;
  #context: ServerContext;
  #draining = false;
  #nextId = 0;
  /** Every connection not yet closed, admitted or not. */
  #connections = new Set<Connection>();
  /** Admitted and not yet closed: what this server holds in the shared table. */
  #counted = new Set<Connection>();
  /** The same connections by address, to shed a crowded address's before a lone one. */
  #held = new PeerCounts();
  #pool: PoolStatus;
  #accepting: Promise<void>;

  constructor(options: ServerOptions) {
    const { listener, shared } = options;
    this.addr = listener.addr;
    this.#listener = listener;
    this.#shared = shared;
    this.#context = { ...options.parts, draining: () => this.#draining };
    const { config, log, admission } = this.#context;
    this.#pool = new PoolStatus({
      cap: config.maxConnections,
      queue: config.queue,
      swapLevel: (level) => shared.clients.swapPoolLevel(level),
    });
    this.#accepting = listener.serve({
      accepted: (conn) => this.#accepted(conn),
      plain: (conn) => this.#answerPlain(conn),
      refuse: (address) => admission.banned(address),
      outOfFiles: () => this.#shed(SHED_ON_OUT_OF_FILES),
      stopped: () => this.#draining,
      log,
    }).catch((error) => log.error("accept loop failed", { error: String(error) }));
  }

  forgetConnections(): void {
    for (const connection of this.#counted) this.#context.admission.release(connection.peer);
    this.#counted.clear();
  }

  async shutdown(): Promise<void> {
    this.#draining = true;
    const closing = this.#listener.close();
    await this.#accepting;
    const connections = this.#connections;
    for (const connection of connections) if (connection.idle) connection.close();
    const deadline = Date.now() + this.#context.config.shutdownTimeoutMs;
    while (connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const connection of connections) if (connection.idle) connection.close();
    }
    for (const connection of connections) connection.close();
    this.#context.sweeper.stop();
    this.#context.turns.stop();
    await closing;
  }

  /**
   * A new connection asks for admission. At the cap, a newcomer from an
   * address that is not crowding the server waits ahead of the rest, and an
   * idle or trickling connection makes room.
   */
  #accepted(conn: SocketConn): void {
    const { admission, config, log } = this.#context;
    const connection = new Connection(conn, ++this.#nextId, this.#context);
    this.#connections.add(connection);
    this.#shared.metrics.connection();
    const first = this.#held.held(connection.peer) <= CROWDING;
    const atCap = admission.open >= config.maxConnections;
    const admitting = admission.admit(connection.peer, first);
    if (first && atCap && this.#shed(1) === 0) {
      // Nothing to shed yet (a body becomes sheddable only after a while): look again.
      const retry = setInterval(() => this.#shed(1) > 0 && clearInterval(retry), SHED_RETRY_MS);
      admitting.finally(() => clearInterval(retry));
    }
    admitting.then(
      (refusal) => this.#admitted(connection, refusal),
      (error) => {
        this.#connections.delete(connection);
        connection.close();
        log.error("connection failed", { error: String(error) });
      },
    );
  }

  /** Runs an admitted connection; refuses one that is not (a 503, or a bare close if banned). */
  #admitted(connection: Connection, refusal: Refusal | null): void {
    if (refusal === null) {
      this.#counted.add(connection);
      this.#held.add(connection.peer);
      this.#poolChanged();
      connection.run(this.#closed);
    } else if (refusal === "banned") {
      connection.close();
      this.#connections.delete(connection);
    } else {
      this.#shared.metrics.rejection("busy");
      connection.refuse(_busy(refusal)).finally(() => this.#connections.delete(connection));
    }
  }

  /** Plain HTTP on the TLS port: one readable 400, then close (nginx answers 497). */
  #answerPlain(conn: SocketConn): void {
    const connection = new Connection(conn, ++this.#nextId, this.#context);
    this.#connections.add(connection);
    connection.refuse(_speaksHttps()).finally(() => this.#connections.delete(connection));
  }

  #closed = (connection: Connection): void => {
    if (this.#counted.delete(connection)) {
      this.#held.delete(connection.peer);
      this.#context.admission.release(connection.peer);
    }
    this.#poolChanged();
    this.#connections.delete(connection);
  };

  /** Closes up to `count` idle connections, crowded addresses' first; how many it closed. */
  #shed(count: number): number {
    return shedIdle(this.#counted, count, (peer) => this.#held.held(peer));
  }

  #poolChanged(): void {
    const { admission, log } = this.#context;
    const line = this.#pool.update(admission.open, admission.queued);
    if (line !== null) log.info(line);
  }
}

/** 400 for plain HTTP sent to the TLS port: a mistake, not an attack. */
function _speaksHttps(): HttpError {
  return new HttpError(STATUS_CODE.BadRequest, "This port speaks HTTPS: use an https:// URL", {
    close: true,
  });
}

/** 503 for a connection over a cap: Retry-After 5, then close. */
function _busy(refusal: string): HttpError {
  return new HttpError(STATUS_CODE.ServiceUnavailable, `Too many connections (${refusal})`, {
    close: true,
    headers: [["Retry-After", "5"]],
  });
}
