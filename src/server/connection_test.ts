// A Connection over a scripted socket with a real context and a tiny handler:
// no listener, no server process. Each test waits for the connection's `done`.
import { testContext } from "./testdata/test_context.ts";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "../../tests/_assert.ts";
import type { Exchange, Handler } from "../http/handler.ts";
import type { HttpResponse } from "../http/response.ts";
import { SHED_BODY_AFTER_MS } from "./body_feed.ts";
import { Connection } from "./connection.ts";
import type { SocketConn } from "./tls_listener.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A socket the test feeds: bytes sent arrive at the next read; writes may be held. */
class Socket implements SocketConn {
  readonly remoteAddr = { transport: "tcp" as const, hostname: "192.0.2.7", port: 40000 };
  readonly localAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 8080 };
  written = "";
  closed = false;
  #hold: { reached: () => void; released: Promise<void> } | null = null;
  #incoming = new Uint8Array(0);
  #ended = false;
  #pending: { resolve: () => void; reject: (error: Error) => void } | null = null;
  #onRead: (() => void) | null = null;

  send(text: string): void {
    const bytes = encoder.encode(text);
    const joined = new Uint8Array(this.#incoming.length + bytes.length);
    joined.set(this.#incoming);
    joined.set(bytes, this.#incoming.length);
    this.#incoming = joined;
    this.#pending?.resolve();
    this.#pending = null;
  }

  /** The client closes its side: reads come back empty. */
  end(): void {
    this.#ended = true;
    this.#pending?.resolve();
    this.#pending = null;
  }

  /** Resolves once the connection waits in a read with nothing left to give it. */
  waitingForRead(): Promise<void> {
    if (this.#pending !== null) return Promise.resolve();
    return new Promise((resolve) => this.#onRead = resolve);
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#incoming.length === 0 && !this.#ended) {
      if (this.closed) throw new Deno.errors.BadResource("closed");
      const arrived = new Promise<void>((resolve, reject) => this.#pending = { resolve, reject });
      this.#onRead?.();
      this.#onRead = null;
      await arrived;
    }
    if (this.closed) throw new Deno.errors.BadResource("closed");
    if (this.#incoming.length === 0) return null;
    const n = Math.min(buffer.length, this.#incoming.length);
    buffer.set(this.#incoming.subarray(0, n));
    this.#incoming = this.#incoming.slice(n);
    return n;
  }

  /** Holds the next write: `reached` once it is made, written once `release` is called. */
  holdWrite(): { reached: Promise<void>; release: () => void } {
    let reached = () => {};
    let release = () => {};
    const held = new Promise<void>((resolve) => reached = resolve);
    this.#hold = { reached, released: new Promise((resolve) => release = resolve) };
    return { reached: held, release };
  }

  async write(bytes: Uint8Array): Promise<number> {
    const hold = this.#hold;
    this.#hold = null;
    if (hold !== null) {
      hold.reached();
      await hold.released;
    }
    if (this.closed) throw new Deno.errors.BadResource("closed");
    this.written += decoder.decode(bytes);
    return bytes.length;
  }

  close(): void {
    this.closed = true;
    this.#pending?.reject(new Deno.errors.BadResource("closed"));
    this.#pending = null;
  }
}

/** A handler that answers with the request's path, unless `respond` says otherwise. */
function handler(respond?: (exchange: Exchange) => Promise<HttpResponse>): Handler {
  return {
    handle: respond ??
      (({ request }) =>
        Promise.resolve({ status: 200, headers: [], body: encoder.encode(request.path) })),
    errorResponse: (error) => error.toResponse(),
  };
}

/** A connection over a new socket with a context as `assemble.ts` makes one. */
function open(app: Handler = handler()) {
  const { ctx, logged } = testContext({ app, flags: ["--rate-limit", "off"] });
  const socket = new Socket();
  const connection = new Connection(socket, 7, ctx);
  const done = new Promise<void>((resolve) => connection.run(() => resolve()));
  /** Waits for the connection to finish; its log lines. */
  const finished = async () => {
    await done;
    return await logged();
  };
  return { socket, connection, finished };
}

/** The status codes written, in order. */
function statuses(written: string): number[] {
  return [...written.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

/** `idle` and `sheddable`, together. */
function flags(connection: Connection): [boolean, boolean] {
  return [connection.idle, connection.sheddable];
}

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

Deno.test("Connection answers a pipelined pair of requests in order and keeps the connection", async () => {
  const { socket, finished } = open();
  socket.send(GET("/first") + GET("/second"));
  await socket.waitingForRead();
  assertTrue(!socket.closed, "kept alive");
  socket.end();
  const logged = await finished();
  assertEquals(statuses(socket.written), [200, 200]);
  assertMatch(socket.written, /\r\n\r\n\/first(HTTP\/1\.1 200 OK\r\n)[^]*\r\n\r\n\/second$/);
  assertNotMatch(socket.written, /Connection: close/);
  assertMatch(
    logged,
    /w1#c7 192\.0\.2\.7 "GET \/first HTTP\/1\.1" 200 6 [^\n]*\n[^\n]*"GET \/second/,
  );
  assertTrue(socket.closed);
});

Deno.test("Connection answers a head with a bare LF with 400 and closes", async () => {
  const { socket, finished } = open();
  socket.send("GET / HTTP/1.1\nHost: a\n\n" + GET("/never"));
  const logged = await finished();
  assertEquals(statuses(socket.written), [400]);
  assertMatch(socket.written, /\r\nConnection: close\r\n/);
  assertMatch(
    logged,
    /security reason=parse conn=w1#c7 client=192\.0\.2\.7 status=400 request=- /,
  );
  assertTrue(socket.closed);
});

Deno.test("Connection answers a head whose field does not parse with 400 and closes", async () => {
  const { socket, finished } = open();
  socket.send("GET / HTTP/1.1\r\nHost a\r\n\r\n" + GET("/never"));
  const logged = await finished();
  assertEquals(statuses(socket.written), [400]);
  assertMatch(socket.written, /\r\nConnection: close\r\n/);
  assertMatch(logged, /security reason=parse /);
});

Deno.test("Connection closes after answering a request with Connection: close, answering nothing after it", async () => {
  const { socket, finished } = open();
  socket.send(GET("/last", "Connection: close\r\n") + GET("/never"));
  await finished();
  assertEquals(statuses(socket.written), [200]);
  assertMatch(socket.written, /\r\nConnection: close\r\n[^]*\/last$/);
  assertTrue(socket.closed);
});

Deno.test("Connection expire() while a head is half read answers 408 and closes", async () => {
  const { socket, connection, finished } = open();
  socket.send("GET / HTTP/1.1\r\nHo");
  await socket.waitingForRead();
  assertEquals(flags(connection), [true, true], "waiting for the rest of a head");
  connection.expire();
  const logged = await finished();
  assertEquals(statuses(socket.written), [408]);
  assertMatch(socket.written, /\r\nConnection: close\r\n/);
  assertMatch(logged, /"-" 408 /);
  assertMatch(logged, /security reason=timeout /);
  // The read that the close cut short is not a second request: no 500, no error line.
  assertNotMatch(logged, / 500 |ERROR|request failed/);
  assertTrue(socket.closed);
});

Deno.test("Connection expire() before any byte closes without an answer", async () => {
  const { socket, connection, finished } = open();
  await socket.waitingForRead();
  assertEquals(flags(connection), [true, true], "fresh");
  connection.expire();
  assertEquals(await finished(), "");
  assertEquals(socket.written, "");
  assertTrue(socket.closed);
  assertEquals(flags(connection), [false, false], "closed");
});

Deno.test("Connection is neither idle nor sheddable while its handler works, and expire() leaves it be", async () => {
  let release = () => {};
  const working = new Promise<void>((resolve) => release = resolve);
  let started = () => {};
  const began = new Promise<void>((resolve) => started = resolve);
  const app = handler(async ({ request }) => {
    started();
    await working;
    return { status: 200, headers: [], body: encoder.encode(request.path) };
  });
  const { socket, connection, finished } = open(app);
  socket.send(GET("/slow"));
  await began;
  assertEquals(flags(connection), [false, false], "busy");
  connection.expire();
  release();
  await socket.waitingForRead();
  assertEquals(flags(connection), [true, true], "idle between requests");
  socket.end();
  await finished();
  assertEquals(statuses(socket.written), [200]);
});

Deno.test("Connection is neither idle nor sheddable while it writes", async () => {
  const { socket, connection, finished } = open();
  const write = socket.holdWrite();
  socket.send(GET("/a"));
  await write.reached;
  assertEquals(flags(connection), [false, false], "writing");
  write.release();
  await socket.waitingForRead();
  socket.end();
  await finished();
  assertEquals(statuses(socket.written), [200]);
});

Deno.test("Connection waiting for a body is sheddable only once the body trickles, and expire() then answers 408", async () => {
  const read = handler(async ({ body }) => ({
    status: 200,
    headers: [],
    body: await body.readAll(),
  }));
  const { socket, connection, finished } = open(read);
  socket.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
  await socket.waitingForRead();
  assertEquals(flags(connection), [false, false], "a body that just began");
  const now = Date.now;
  const later = now() + SHED_BODY_AFTER_MS + 1000;
  try {
    Date.now = () => later;
    assertEquals(flags(connection), [false, true], "2 bytes in 3 s: trickling");
  } finally {
    Date.now = now;
  }
  connection.expire();
  const logged = await finished();
  assertEquals(statuses(socket.written), [408]);
  assertMatch(logged, /"POST \/up HTTP\/1\.1" 408 /);
  assertTrue(socket.closed);
});
