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
import { TrustedProxies } from "../guard/trust_proxy.ts";
import { ProxyWarning } from "../guard/proxy_warning.ts";
import { HttpError } from "../http/http_error.ts";
import type { Logger } from "../log.ts";
import { Admission } from "./admission.ts";
import type { ClientTable, Refusal } from "./client_table.ts";
import type { Metrics } from "./metrics.ts";
import { PoolStatus } from "./pool_status.ts";
import { listenNodeTls, type SocketConn } from "./tls_listener.ts";
import type { Prepared } from "../startup.ts";
import { CommonHeaders } from "./common_headers.ts";
import { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import { DeadlineSweeper, sweepInterval } from "./deadlines.ts";
import { FairTurns } from "./fair_turn.ts";
import { isOutOfFiles } from "../os_errors.ts";
import { CROWDING, PeerCounts, shedIdle } from "./shedding.ts";

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
  config: Config;
  log: Logger;
  /** What start-up found. */
  prepared: Prepared;
  /** State shared with the other workers. */
  shared: { quota: UploadQuota; clients: ClientTable; metrics: Metrics };
  /** When the process started (ms since the epoch), for /healthz. @default Date.now() */
  startedAt?: number;
  /** @default 1 */
  workerId?: number;
  /** The fair turns of its connections (given to watch their counts). @default new FairTurns() */
  turns?: FairTurns;
}

/** Back-off after an accept error that is not one client's (EMFILE, ENOMEM…). */
const ACCEPT_RETRY_MS = 50;
const ACCEPT_LOG_EVERY_MS = 1000;
/** Running out of file descriptors is logged at most this often. */
const OUT_OF_FILES_LOG_EVERY_MS = 60_000;
/** How often a waiting newcomer looks again for a connection to shed. */
const SHED_RETRY_MS = 100;
/** Idle connections closed each time an accept finds no file descriptor left. */
const SHED_ON_OUT_OF_FILES = 16;

/** Errors that concern one connection only (reset or aborted before accept). */
function _perConnection(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted;
}

/**
 * Binds the listener and starts accepting. Throws `Deno.errors.AddrInUse` and
 * the like when the address cannot be bound.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * const server = await startServer({ config, log, prepared, shared });
 * await server.shutdown();
 * ```
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, log, prepared } = options;
  // TLS connections arrive by callback; they are handed on once the context below exists.
  let handOver: ((conn: SocketConn) => void) | null = null;
  let isBanned: ((address: string) => boolean) | null = null;
  let answerPlain: ((conn: SocketConn) => void) | null = null;
  const listener = await _listen(config, prepared, {
    accepted: (conn) => handOver ? handOver(conn) : conn.close(),
    plain: (conn) => answerPlain ? answerPlain(conn) : conn.close(),
    refuse: (address) => isBanned?.(address) ?? false,
  });
  const addr = listener.addr;
  const hosts = new HostAllowList({
    boundHost: config.host,
    boundPort: addr.port,
    allowed: config.allowedHosts,
  });
  let draining = false;
  const proxies = new TrustedProxies(config.trustProxy);
  const admission = new Admission({
    table: options.shared.clients,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    queue: Math.ceil(config.queue / config.workers),
    queueTimeoutMs: config.queueTimeoutMs,
    rateLimit: config.rateLimit,
    ban: config.ban,
    onBan: (client) => {
      options.shared.metrics.rejection("ban");
      log.security("ban", { client, for: `${config.ban!.banMs}ms`, alert: "address banned" });
    },
  });
  const context: ServerContext = {
    config,
    log,
    app: new App({
      config,
      hosts,
      realRoot: prepared.realRoot,
      quota: options.shared.quota,
      auth: prepared.uploadToken === null ? null : new BearerAuth(prepared.uploadToken),
      observed: {
        metrics: options.shared.metrics,
        openConnections: () => options.shared.clients.openConnections,
        workers: config.workers,
        startedAt: options.startedAt ?? Date.now(),
        metricsPublic: config.metricsPublic,
      },
    }),
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
    draining: () => draining,
    admission,
    proxies,
    proxyWarning: new ProxyWarning({
      proxies,
      warn: (message, fields) => log.warn(message, fields),
    }),
    metrics: options.shared.metrics,
  };
  const connections = new Set<Connection>();
  const pool = new PoolStatus({
    cap: config.maxConnections,
    queue: config.queue,
    swapLevel: (level) => options.shared.clients.swapPoolLevel(level),
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
      options.shared.metrics.rejection("busy");
      connection.refuse(_busy(refusal)).finally(() => connections.delete(connection));
    }
  };
  const accepted = (conn: SocketConn, id: number) => {
    const connection = new Connection(conn, id, context);
    connections.add(connection);
    options.shared.metrics.connection();
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
  let nextId = 0;
  handOver = (conn) => accepted(conn, ++nextId);
  // Plain HTTP on the TLS port: one readable 400, then close (nginx answers 497).
  answerPlain = (conn) => {
    const connection = new Connection(conn, ++nextId, context);
    connections.add(connection);
    connection.refuse(_speaksHttps()).finally(() => connections.delete(connection));
  };
  isBanned = (address) => admission.banned(address);
  const accepting = listener.deno === null ? Promise.resolve() : _acceptLoop(listener.deno, {
    stopped: () => draining,
    accepted,
    outOfFiles: () => shed(SHED_ON_OUT_OF_FILES),
    log,
  })
    .catch((error) => log.error("accept loop failed", { error: String(error) }));

  return {
    addr,
    forgetConnections() {
      for (const connection of counted) admission.release(connection.peer);
      counted.clear();
    },
    async shutdown() {
      draining = true;
      const closed = listener.close();
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
      await closed;
    },
  };
}

/** A bound listener: Deno's for TCP (accepted in a loop), node's for TLS (by callback). */
interface BoundListener {
  addr: Deno.NetAddr;
  deno: Deno.Listener | null;
  close(): Promise<void>;
}

async function _listen(
  config: Config,
  prepared: Prepared,
  hooks: {
    accepted: (conn: SocketConn) => void;
    plain: (conn: SocketConn) => void;
    refuse: (address: string) => boolean;
  },
): Promise<BoundListener> {
  const reusePort = config.workers > 1;
  if (prepared.tls === null) {
    const deno = Deno.listen({
      hostname: config.host,
      port: config.port,
      ...(reusePort ? { reusePort } : {}),
    });
    return {
      addr: deno.addr as Deno.NetAddr,
      deno,
      close: () => Promise.resolve(deno.close()),
    };
  }
  const tls = await listenNodeTls({
    hostname: config.host,
    port: config.port,
    ...prepared.tls,
    handshakeTimeoutMs: config.headerTimeoutMs,
    reusePort,
    ...hooks,
  });
  return { addr: tls.addr, deno: null, close: () => tls.close() };
}

/** 400 for plain HTTP sent to the TLS port (SPEC §5): a mistake, not an attack. */
function _speaksHttps(): HttpError {
  return new HttpError(400, "This port speaks HTTPS: use an https:// URL", { close: true });
}

/** 503 for a connection over a cap: Retry-After 5, then close (SPEC §6). */
function _busy(refusal: string): HttpError {
  return new HttpError(503, `Too many connections (${refusal})`, {
    close: true,
    headers: [["Retry-After", "5"]],
  });
}

/** What the accept loop needs of its server. */
interface AcceptHooks {
  stopped: () => boolean;
  accepted: (conn: SocketConn, id: number) => void;
  /** Makes room when no file descriptor is left; returns how many connections it closed. */
  outOfFiles: () => number;
  log: Logger;
}

async function _acceptLoop(listener: Deno.Listener, hooks: AcceptHooks): Promise<void> {
  const { stopped, accepted, log } = hooks;
  let nextId = 0;
  let lastLogged = 0;
  let lastOutOfFiles = -Infinity;
  while (!stopped()) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stopped() || error instanceof Deno.errors.BadResource) return;
      // A connection reset before it was accepted is that client's problem: go on at once.
      if (_perConnection(error)) continue;
      if (isOutOfFiles(error)) {
        const shed = hooks.outOfFiles();
        if (Date.now() - lastOutOfFiles > OUT_OF_FILES_LOG_EVERY_MS) {
          lastOutOfFiles = Date.now();
          log.warn(
            `out of file descriptors: closed ${shed} idle connections to make room; raise ` +
              "the open-files limit (ulimit -n, or LimitNOFILE= in a systemd unit) above " +
              "--max-connections",
          );
        }
        if (shed > 0) continue;
      } else if (Date.now() - lastLogged > ACCEPT_LOG_EVERY_MS) {
        lastLogged = Date.now();
        log.error("accept failed", { error: String(error) });
      }
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      continue;
    }
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
      accepted(conn, ++nextId);
    } catch (error) {
      log.error("connection setup failed", { error: String(error) });
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }
}
