/**
 * bastion's own JavaScript cost per request, without sockets: `Deno.listen`
 * is replaced by a listener whose connections are fakes that hand over a GET
 * for `/page.html` on every read and count what is written. What remains is
 * the server's work (parse, route, cache, headers, log, metrics), which runs
 * in one process and so varies far less than a wrk run on 2 shared cores.
 * For comparing two versions of the code and for `--cpu-prof`; not a row of
 * `deno task bench`.
 *
 * `deno run --allow-all scripts/bench/inprocess.ts ROOT [CONCURRENT] [CONNECTIONS] [close]`
 *
 * ROOT is a web root with `page.html` (the bench's fixture does). Keep-alive
 * connections send requests until the server closes them (after
 * `--max-requests-per-connection`, 100); `close` sends one request each with
 * `Connection: close`. Prints the microseconds of wall time per request.
 * @module
 */

import { parseCommand } from "../../src/config.ts";
import { prepare } from "../../src/startup.ts";
import { Logger } from "../../src/log.ts";
import { UploadQuota } from "../../src/shared/upload_quota.ts";
import { ClientTable } from "../../src/shared/client_table.ts";
import { Metrics } from "../../src/shared/metrics.ts";
import { startBastion } from "../../src/assemble.ts";

const [root, concurrentArg = "50", connectionsArg = "6000", mode] = Deno.args;
const CONCURRENT = Number(concurrentArg);
const CONNECTIONS = Number(connectionsArg);
const CLOSE = mode === "close";
const PORT = 8080;
const REQUEST = new TextEncoder().encode(
  `GET /page.html HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\n` +
    `${CLOSE ? "Connection: close\r\n" : ""}\r\n`,
);

let written = 0;
let open = 0;
let handedOut = 0;
let closed = 0;
let allClosed: () => void;
const finished = new Promise<void>((resolve) => allClosed = resolve);
const waitingAccepts: ((conn: FakeConn) => void)[] = [];

/** A connection that asks for the page on every read until the server closes it. */
class FakeConn {
  readonly localAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: PORT };
  readonly remoteAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 };
  #requests = CLOSE ? 1 : Infinity;
  #closed = false;

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#requests-- <= 0) return Promise.resolve(null);
    buffer.set(REQUEST);
    return Promise.resolve(REQUEST.length);
  }

  write(bytes: Uint8Array): Promise<number> {
    written++;
    return Promise.resolve(bytes.length);
  }

  setNoDelay(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    open--;
    const waiting = waitingAccepts.shift();
    if (waiting !== undefined) waiting(_next());
    if (++closed === CONNECTIONS) allClosed();
  }
}

function _next(): FakeConn {
  handedOut++;
  open++;
  return new FakeConn();
}

// The server binds through Deno.listen: this listener hands out fakes, CONCURRENT at a time.
(Deno as unknown as { listen: () => unknown }).listen = () => ({
  addr: { transport: "tcp", hostname: "127.0.0.1", port: PORT },
  accept(): Promise<FakeConn> {
    if (handedOut >= CONNECTIONS) return new Promise(() => {});
    if (open < CONCURRENT) return Promise.resolve(_next());
    return new Promise((resolve) => waitingAccepts.push(resolve));
  },
  close() {},
});

const command = parseCommand([
  "--root",
  root,
  "--port",
  String(PORT),
  "--rate-limit",
  "off",
  "--max-connections-per-ip",
  "1000000",
  "--max-connections",
  "1000000",
]);
if (command.kind !== "run") throw new Error("Unexpected command");
const { config } = command;
const prepared = await prepare(config);
const log = new Logger({ out: { write: (bytes) => Promise.resolve(bytes.length) } });
const shared = {
  quota: UploadQuota.create(config.uploadQuota, 0),
  clients: ClientTable.create(16_384),
  metrics: Metrics.create(),
};
const started = performance.now();
await startBastion({ config, log, prepared, shared });
await finished;
const microseconds = (performance.now() - started) * 1000 / written;
console.log(`${microseconds.toFixed(2)} µs per request (${written} requests)`);
Deno.exit(0);
