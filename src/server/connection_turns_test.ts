// How a connection takes part in the fair turns (src/server/fair_turn.ts),
// seen through the turns' own counts in a server started in this process.
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { makeRoot } from "../../tests/_harness.ts";
import { parseCommand } from "../config.ts";
import { UploadQuota } from "../shared/upload_quota.ts";
import { Logger } from "../log.ts";
import { prepare } from "../startup.ts";
import { ClientTable } from "../shared/client_table.ts";
import { FAIR_TURN_ABOVE, FairTurns } from "./fair_turn.ts";
import { Metrics } from "../shared/metrics.ts";
import { startBastion } from "../assemble.ts";
import type { RunningServer } from "./server.ts";

const OPEN = FAIR_TURN_ABOVE + 12;

/**
 * A server in this process on `root`, bound to 127.0.0.1, with `flags` besides
 * and the given turns; it logs nowhere.
 */
async function _server(root: string, flags: string[], turns: FairTurns): Promise<RunningServer> {
  const command = parseCommand(["--root", root, "--host", "127.0.0.1", ...flags]);
  if (command.kind !== "run") throw new Error("Unexpected command");
  const { config } = command;
  return await startBastion({
    config,
    log: new Logger({ out: { write: (bytes) => Promise.resolve(bytes.length) } }),
    prepared: await prepare(config),
    shared: {
      quota: UploadQuota.create(config.uploadQuota, 0),
      clients: ClientTable.create(4096),
      metrics: Metrics.create(),
    },
    turns,
  });
}

/** Waits until `done()` holds, for at most 5 s. */
async function _until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends two pipelined GETs for the 1-byte file and reads both answers. */
async function _twoGets(conn: Deno.Conn, port: number): Promise<string> {
  const request = `GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  await conn.write(new TextEncoder().encode(request + request));
  const buffer = new Uint8Array(8192);
  let text = "";
  while ((text.match(/\r\n\r\na/g) ?? []).length < 2) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("past the threshold, new connections take a turn, work on requests after one, and leave it when closed", async () => {
  const { root } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const turns = new FairTurns();
  const server = await _server(root, [
    "--port",
    "0",
    "--rate-limit",
    "off",
    "--max-connections-per-ip",
    "1000",
  ], turns);
  const { port } = server.addr;
  const conns: Deno.Conn[] = [];
  try {
    const before = turns.counts();
    for (let i = 0; i < OPEN; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    // Each connection accepted past the threshold waited for a turn before its first read.
    await _until(
      () => turns.counts().resumed - before.resumed >= OPEN - FAIR_TURN_ABOVE,
      "resumed",
    );
    // A pipelined request, already there when the turn after its predecessor's answer
    // resumes the connection, counts as work on that turn.
    const answers = await Promise.all(conns.map((conn) => _twoGets(conn, port)));
    for (const text of answers) assertEquals(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text);
    const during = turns.counts();
    assertTrue(during.worked - before.worked >= OPEN, "each second request worked after a turn");
    assertTrue(during.resumed - before.resumed >= OPEN, "every answered connection took a turn");
    // The last turn resumed connections that now wait, idle, for a request: closing them
    // takes them off the turn's counts (no later turn resets them).
    await _until(() => turns.counts().reading > 0, "the last turn's connections wait for requests");
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
  assertEquals(turns.counts().reading, 0, "closed connections left their turn");
  assertEquals(turns.counts().working, 0);
});

/** A socket the test scripts: its first read hands over what `first` gives, then nothing comes. */
class FakeSocket {
  readonly remoteAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 };
  readonly localAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 8080 };
  written = "";
  closed = false;
  #first: Promise<string> | null;
  #onWrite: () => void;
  #hang: { reject: (error: Error) => void } | null = null;

  constructor(first: Promise<string> | null, onWrite: () => void = () => {}) {
    this.#first = first;
    this.#onWrite = onWrite;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.closed) throw new Deno.errors.BadResource("closed");
    const first = this.#first;
    if (first === null) return await new Promise((_, reject) => this.#hang = { reject });
    this.#first = null;
    const bytes = new TextEncoder().encode(await first);
    buffer.set(bytes);
    return bytes.length;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    this.written += new TextDecoder().decode(bytes);
    this.#onWrite();
    return Promise.resolve(bytes.length);
  }

  setNoDelay(): void {}

  close(): void {
    this.closed = true;
    this.#hang?.reject(new Deno.errors.BadResource("closed"));
  }
}

Deno.test("a connection closed while it waits for a turn answers nothing more, not even a request already read", async () => {
  const { root, uploads } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const body = JSON.stringify({ note: "sent before the drain" });
  // One connection opens first and sends, once 4 000 idle connections have opened and
  // wait for their first turns, a GET with an upload pipelined behind it. Answered,
  // the GET puts it in line for a turn behind all of theirs (60 turns, over 60 ms).
  let sendRequests = () => {};
  const requests = new Promise<string>((resolve) =>
    sendRequests = () =>
      resolve(
        "GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n" +
          "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n" +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      )
  );
  const turns = new FairTurns();
  let server: RunningServer | null = null;
  let shutdown: Promise<void> | null = null;
  // Shut down as soon as the GET is answered: with a 1 ms grace, the drain closes
  // every connection after its first 20-ms wait, long before that turn.
  const pipelined = new FakeSocket(requests, () => shutdown ??= server!.shutdown());
  const sockets = [pipelined, ...Array.from({ length: 4000 }, () => new FakeSocket(null))];
  const listen = Deno.listen;
  let stopAccepting: (error: Error) => void = () => {};
  (Deno as unknown as { listen: () => unknown }).listen = () => ({
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
    accept: () => {
      if (sockets.length > 0) return Promise.resolve(sockets.shift());
      setTimeout(sendRequests, 20);
      return new Promise((_, reject) => stopAccepting = reject);
    },
    close: () => stopAccepting(new Deno.errors.BadResource("listener closed")),
  });
  try {
    server = await _server(root, [
      ...["--port", "8080", "--shutdown-timeout", "1ms", "--rate-limit", "off"],
      ...["--max-connections-per-ip", "100000", "--max-connections", "20000"],
    ], turns);
    await _until(() => shutdown !== null, "the GET was answered");
    await shutdown;
    assertTrue(pipelined.closed, "closed by the end of the drain");
    // The drain's end resumes whoever still waits for a turn, that connection too,
    // with the upload buffered: closed, it must answer nothing.
    await _until(() => turns.counts().reading === 0 && turns.counts().working === 0, "turns done");
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    (Deno as unknown as { listen: typeof listen }).listen = listen;
  }
  assertEquals(pipelined.written.match(/HTTP\/1\.1 \d{3} /g), ["HTTP/1.1 200 "]);
  const stored = [];
  for await (const entry of Deno.readDir(uploads)) stored.push(entry.name);
  assertEquals(stored, [], "nothing stored for a connection already closed");
});
