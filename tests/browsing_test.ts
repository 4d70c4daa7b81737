// The default rate limit (SPEC §6, 1000/s with a burst of 2000) over real
// sockets: it never refuses a person (a browser loading a page of thumbnails,
// `wget -r` over a tree), and it holds a client driving the server flat out.
import { assertEquals, assertTrue } from "./_assert.ts";
import { get, RawClient, withBastion } from "./_harness.ts";

const RATE = 1000;
const BURST = 2000;

/** `count` small files under `dir`, as a page's thumbnails or a crawled tree. */
function smallFiles(dir: string, count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${dir}/${i}.txt`, "x"]));
}

Deno.test("default rate limit: a browser's 300 requests over 6 keep-alive connections all get 200", async () => {
  await withBastion({ files: smallFiles("thumbs", 300) }, async (server) => {
    const statuses = (await Promise.all(Array.from({ length: 6 }, async (_, lane) => {
      const client = await RawClient.connect(server.port);
      const seen: number[] = [];
      // One request at a time per connection, as a browser does; the six run concurrently.
      for (let i = lane; i < 300; i += 6) {
        await client.send(get(`/thumbs/${i}.txt`));
        seen.push((await client.response()).status);
      }
      client.close();
      return seen;
    }))).flat();
    assertEquals(statuses.length, 300);
    assertEquals(statuses.filter((code) => code !== 200), [], "no 429 for a person");
  });
});

Deno.test("default rate limit: 1000 requests in a row, reconnecting as wget does, get no 429", async () => {
  await withBastion({ files: smallFiles("tree", 1000) }, async (server) => {
    const statuses: number[] = [];
    let client = await RawClient.connect(server.port);
    let connections = 1;
    for (let i = 0; i < 1000; i++) {
      await client.send(get(`/tree/${i}.txt`));
      const response = await client.response();
      statuses.push(response.status);
      if (response.header("connection") === "close") {
        client.close();
        client = await RawClient.connect(server.port);
        connections++;
      }
    }
    client.close();
    assertEquals(statuses.filter((code) => code !== 200), [], "no 429 for a crawler");
    assertTrue(connections > 1, "the per-connection request cap made it reconnect");
  });
});

Deno.test("default rate limit: a client driving the server flat out is held to 1000/s after a burst of 2000", async () => {
  await withBastion({ files: { "t.txt": "x" }, args: ["--ban", "off"] }, async (server) => {
    const started = performance.now();
    const tally = { ok: 0, limited: 0, retryAfter: 0, other: 0 };
    // Rounds of 60 connections × 100 pipelined requests, until 429s show (bounded).
    for (let round = 0; round < 5 && (round < 1 || tally.limited === 0); round++) {
      const replies = await Promise.all(
        Array.from({ length: 60 }, () => _pipelined(server.port, 100)),
      );
      for (const reply of replies) _count(reply, tally);
      if (performance.now() - started > 15_000) break;
    }
    const elapsed = (performance.now() - started) / 1000;
    const ceiling = BURST + RATE * elapsed + 50;
    assertEquals(tally.other, 0);
    assertTrue(tally.limited > 0, `no 429 in ${tally.ok} requests over ${elapsed.toFixed(2)} s`);
    assertEquals(tally.retryAfter, tally.limited, "every 429 carries Retry-After of at least 1");
    assertTrue(tally.ok >= BURST, `${tally.ok} answered: less than the burst of ${BURST}`);
    assertTrue(tally.ok <= ceiling, `${tally.ok} answered in ${elapsed.toFixed(2)} s`);
  });
});

/** Sends `count` GETs at once on a new connection (the last asks to close); all it got back. */
async function _pipelined(port: number, count: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const requests = get("/t.txt").repeat(count - 1) + get("/t.txt", "Connection: close\r\n");
  const writing = _writeAll(conn, new TextEncoder().encode(requests));
  const latin1 = new TextDecoder("latin1");
  let text = "";
  const buffer = new Uint8Array(65536);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += latin1.decode(buffer.subarray(0, n));
    }
  } catch { /* reset after the last response: what arrived counts */ }
  await writing.catch(() => {});
  conn.close();
  return text;
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** Adds the responses in `reply` (bodies are "x" or short texts: no status line inside). */
function _count(
  reply: string,
  tally: { ok: number; limited: number; retryAfter: number; other: number },
): void {
  for (const [head, status] of reply.matchAll(/HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/g)) {
    if (status === "200") tally.ok++;
    else if (status === "429") tally.limited++;
    else tally.other++;
    if (status === "429" && Number(/\r\nretry-after: *(\d+)/i.exec(head)?.[1] ?? 0) >= 1) {
      tally.retryAfter++;
    }
  }
}
