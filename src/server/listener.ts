/**
 * The bound socket and the loop that accepts from it: Deno's listener for TCP
 * (accepted in a loop), node's TLS server for HTTPS (by callback, with plain
 * HTTP sent to it recognised first). Connections go to hooks set once the
 * server around the listener is ready; until then they are closed.
 * @module
 */

import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { isOutOfFiles } from "../os_errors.ts";
import type { Prepared } from "../types.ts";
import { listenNodeTls, type SocketConn } from "./tls_listener.ts";

/** Back-off after an accept error that is not one client's (EMFILE, ENOMEM…). */
const ACCEPT_RETRY_MS = 50;
const ACCEPT_LOG_EVERY_MS = 1000;
/** Running out of file descriptors is logged at most this often. */
const OUT_OF_FILES_LOG_EVERY_MS = 60_000;

/** Where a listener's connections go. */
export interface ListenerHooks {
  /** A new connection. */
  accepted(conn: SocketConn): void;
  /** A connection to the TLS port that speaks plain HTTP. */
  plain(conn: SocketConn): void;
  /** Whether a TLS connection from `address` is refused before its handshake (banned). */
  refuse(address: string): boolean;
  /** Makes room when no file descriptor is left; returns how many connections it closed. */
  outOfFiles(): number;
  /** True once shutdown began: the accept loop ends. */
  stopped(): boolean;
  log: Logger;
}

/**
 * A bound listener.
 *
 * @example
 * ```ts
 * import { bindListener } from "./listener.ts";
 * import type { Config } from "../config.ts";
 * import type { ListenerHooks } from "./listener.ts";
 * declare const config: Config, hooks: ListenerHooks;
 * const listener = await bindListener(config, null);
 * const accepting = listener.serve(hooks);
 * await listener.close();
 * await accepting;
 * ```
 */
export interface Listener {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Hands connections to `hooks` until closed; resolves when the accept loop ends. */
  serve(hooks: ListenerHooks): Promise<void>;
  close(): Promise<void>;
}

/**
 * Binds `config.host:config.port` (shared with the other workers through
 * `reusePort` when there are several), over TLS when `tls` holds a
 * certificate. Throws `Deno.errors.AddrInUse` and the like when it cannot bind.
 */
export async function bindListener(config: Config, tls: Prepared["tls"]): Promise<Listener> {
  const reusePort = config.workers > 1;
  if (tls === null) {
    const deno = Deno.listen({
      hostname: config.host,
      port: config.port,
      ...(reusePort ? { reusePort } : {}),
    });
    return {
      addr: deno.addr as Deno.NetAddr,
      serve: (hooks) => _acceptLoop(deno, hooks),
      close: () => Promise.resolve(deno.close()),
    };
  }
  let hooks: ListenerHooks | null = null;
  const node = await listenNodeTls({
    hostname: config.host,
    port: config.port,
    ...tls,
    handshakeTimeoutMs: config.headerTimeoutMs,
    reusePort,
    accepted: (conn) => hooks ? hooks.accepted(conn) : conn.close(),
    plain: (conn) => hooks ? hooks.plain(conn) : conn.close(),
    refuse: (address) => hooks?.refuse(address) ?? false,
  });
  return {
    addr: node.addr,
    serve: (given) => {
      hooks = given;
      return Promise.resolve();
    },
    close: () => node.close(),
  };
}

/** Errors that concern one connection only (reset or aborted before accept). */
function _perConnection(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted;
}

async function _acceptLoop(listener: Deno.Listener, hooks: ListenerHooks): Promise<void> {
  const { log } = hooks;
  let lastLogged = 0;
  let lastOutOfFiles = -Infinity;
  while (!hooks.stopped()) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (hooks.stopped() || error instanceof Deno.errors.BadResource) return;
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
      hooks.accepted(conn);
    } catch (error) {
      log.error("connection setup failed", { error: String(error) });
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }
}
