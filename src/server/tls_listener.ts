/**
 * HTTPS through `node:tls`, with its sockets adapted to the read/write/close
 * shape our connections use. Deno 2.9's own `listenTls` cannot close a socket
 * whose handshake never finishes, so a client that connects and stays silent
 * would keep its socket forever; `node:tls` ends such handshakes after
 * `handshakeTimeout` and the socket is destroyed.
 * @module
 */

import { Buffer } from "node:buffer";
import net, { type Socket } from "node:net";
import tls from "node:tls";

/** What a connection needs of its socket: Deno.Conn's reading and writing. */
export interface SocketConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  readonly remoteAddr: Deno.Addr;
  /** The address the client connected to. */
  readonly localAddr: Deno.Addr;
}

/** Options of {@linkcode listenNodeTls}. */
export interface NodeTlsOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  /** Time allowed for the TLS handshake (the header timeout). */
  handshakeTimeoutMs: number;
  reusePort: boolean;
  /** Whether to drop a new TCP connection from `address` before any TLS work (bans). */
  refuse: (address: string) => boolean;
  /** Called with each connection once its handshake is done. */
  accepted: (conn: SocketConn) => void;
  /** Called with a connection whose first byte cannot start a TLS handshake (plain HTTP). */
  plain: (conn: SocketConn) => void;
}

/** A listening TLS server. */
export interface NodeTlsListener {
  addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** The first byte of every TLS record that opens a handshake (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;
/** How long a closing TLS socket may take to say goodbye before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Paused beyond this many unread bytes, so a fast sender cannot fill memory. */
const HIGH_WATER = 64 * 1024;

/**
 * Listens for TLS connections (ALPN `http/1.1`).
 *
 * @example
 * ```ts
 * import { listenNodeTls } from "./tls_listener.ts";
 * declare const cert: string, key: string;
 * const listener = await listenNodeTls({ hostname: "127.0.0.1", port: 8443, cert, key,
 *   handshakeTimeoutMs: 10_000, reusePort: false, refuse: () => false, accepted: (conn) => conn.close(),
 *   plain: (conn) => conn.close() });
 * ```
 */
export function listenNodeTls(options: NodeTlsOptions): Promise<NodeTlsListener> {
  const secure = tls.createServer({
    cert: options.cert,
    key: options.key,
    ALPNProtocols: ["http/1.1"],
    handshakeTimeout: options.handshakeTimeoutMs,
  }, (socket) => options.accepted(new NodeSocketConn(socket)));
  secure.on("tlsClientError", (_error, socket) => socket.destroy());
  // TCP is accepted here and its first byte looked at: a TLS handshake goes on
  // to the TLS server, anything else is plain HTTP sent to the wrong port.
  const server = net.createServer((socket: Socket) => {
    if (options.refuse(socket.remoteAddress ?? "")) return void socket.destroy();
    socket.setTimeout(options.handshakeTimeoutMs, () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) secure.emit("connection", socket);
      else options.plain(new NodeSocketConn(socket));
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error: Error & { code?: string }) => reject(_denoError(error)));
    server.listen(
      { host: options.hostname, port: options.port, reusePort: options.reusePort },
      () => {
        server.removeAllListeners("error");
        server.on("error", () => {});
        const address = server.address() as { address: string; port: number };
        resolve({
          addr: { transport: "tcp", hostname: address.address, port: address.port },
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
  });
}

/** Node's listen errors as the Deno errors start-up understands. */
function _denoError(error: Error & { code?: string }): Error {
  const map: Record<string, new (message: string) => Error> = {
    EADDRINUSE: Deno.errors.AddrInUse,
    EADDRNOTAVAIL: Deno.errors.AddrNotAvailable,
    EACCES: Deno.errors.PermissionDenied,
  };
  const DenoError = error.code ? map[error.code] : undefined;
  return DenoError ? new DenoError(error.message) : error;
}

/**
 * A `node:tls` socket seen as a {@linkcode SocketConn}: reads from a bounded
 * queue, writes that resolve once the bytes are handed on (so the caller may
 * reuse its buffer), close that destroys.
 */
export class NodeSocketConn implements SocketConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  #socket: Socket;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "-",
      port: socket.remotePort ?? 0,
    };
    this.localAddr = {
      transport: "tcp",
      hostname: socket.localAddress ?? "",
      port: socket.localPort ?? 0,
    };
    socket.on("data", (chunk: Buffer) => {
      this.#queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#queued += chunk.byteLength;
      if (this.#queued > HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.#finish(null));
    socket.on("close", () => this.#finish(null));
    socket.on("error", (error: Error) => this.#finish(error));
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#queue.length === 0) {
      if (this.#error) throw new Deno.errors.ConnectionReset(this.#error.message);
      return null;
    }
    const head = this.#queue[0];
    const n = Math.min(buffer.length, head.length);
    buffer.set(head.subarray(0, n));
    if (n === head.length) this.#queue.shift();
    else this.#queue[0] = head.subarray(n);
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER / 2 && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#socket.destroyed) return Promise.reject(new Deno.errors.BadResource("Socket closed"));
    return new Promise((resolve, reject) => {
      const closed = () => reject(new Deno.errors.BrokenPipe("Socket closed"));
      this.#socket.once("close", closed);
      this.#socket.write(bytes, (error) => {
        this.#socket.off("close", closed);
        if (error) reject(error);
        else resolve(bytes.length);
      });
    });
  }

  /**
   * Ends the TLS session properly (close_notify, then FIN), and destroys the
   * socket if the peer has not let it go within a second.
   */
  close(): void {
    this.#finish(null);
    if (this.#socket.destroyed) return;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref?.();
  }

  #finish(error: Error | null): void {
    this.#ended = true;
    this.#error ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
