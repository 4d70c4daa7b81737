/**
 * Integration tests of the timeouts (SPEC §2): header, body, idle and send
 * timeouts against the real server started with short values. Only lower
 * bounds and generous upper bounds are asserted; speed is not tested here.
 * @module
 */

import { assertEquals, assertTrue } from "./_assert.ts";
import {
  get,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  type StartOptions,
  withBastion,
} from "./_harness.ts";

const HEADER_MS = 400;
const BODY_MS = 400;
const IDLE_MS = 2000;
const SEND_MS = 600;
/** Lower bounds allow for a coarse clock; a deadline never fires early by more. */
const SLACK_MS = 100;
const BIG_SIZE = 20 * 1024 * 1024;
const SAMPLE = get("/sample.txt");
const encoder = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Short timeouts (the header one `headerMs`) on a root with `files`; no bans, no rate limit. */
function shortTimeouts(
  files: Record<string, string | Uint8Array> = {},
  headerMs = HEADER_MS,
): StartOptions {
  return {
    files,
    args: [
      "--header-timeout",
      `${headerMs}ms`,
      "--body-timeout",
      `${BODY_MS}ms`,
      "--idle-timeout",
      `${IDLE_MS}ms`,
      "--send-timeout",
      `${SEND_MS}ms`,
      ...NO_LIMITS,
    ],
  };
}

/** A 408 with `Connection: close` after which the server closes and sends nothing else. */
async function assertTimedOut(client: RawClient, response: RawResponse, json = false) {
  assertEquals(response.status, 408, response.head);
  assertEquals(response.header("connection"), "close");
  assertEquals(response.header("server"), "bastion");
  assertEquals(
    response.header("content-type"),
    json ? "application/json" : "text/plain; charset=utf-8",
  );
  assertEquals(await client.closed(3000), true, "the server kept the connection open");
  assertEquals(client.pending.length, 0);
}

function upload(length: number): string {
  return "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${length}\r\n\r\n`;
}

Deno.test("timeouts: header, idle and body timeouts", async (t) => {
  await withBastion(shortTimeouts(), async (server) => {
    const { port } = server;
    await t.step("server closes a silent new connection without a response", async () => {
      const client = await RawClient.connect(port);
      try {
        const opened = Date.now();
        assertEquals(await client.closed(5000), true, "a silent connection stayed open");
        assertTrue(Date.now() - opened >= HEADER_MS - SLACK_MS, "closed before the timeout");
        assertEquals(client.pending.length, 0, "the server answered silence");
      } finally {
        client.close();
      }
    });
    await t.step("server answers a partial head with 408 and closes", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send("G");
        const sent = Date.now();
        const response = await client.response({ timeoutMs: 5000 });
        assertTrue(Date.now() - sent >= HEADER_MS - SLACK_MS, "408 before the timeout");
        await assertTimedOut(client, response);
      } finally {
        client.close();
      }
    });
    await t.step("server answers a slowloris drip with 408 at the header timeout", async () => {
      const client = await RawClient.connect(port);
      const bytes = encoder.encode(
        `GET /sample.txt HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${"s".repeat(100)}\r\n\r\n`,
      );
      let stop = false;
      let sent = 0;
      const drip = (async () => {
        for (; sent < bytes.length && !stop; sent++) {
          try {
            await client.send(bytes.subarray(sent, sent + 1));
          } catch {
            return;
          }
          await delay(100);
        }
      })();
      try {
        const first = Date.now();
        const response = await client.response({ timeoutMs: 6000 });
        const elapsed = Date.now() - first;
        stop = true;
        await drip;
        assertTrue(elapsed >= HEADER_MS - SLACK_MS, `408 after only ${elapsed} ms`);
        assertTrue(elapsed < 4000, `408 after ${elapsed} ms: the drip extended the timeout`);
        assertTrue(sent < bytes.length, "the whole head was sent before the 408");
        await assertTimedOut(client, response);
      } finally {
        stop = true;
        await drip;
        client.close();
      }
    });
    await t.step("server answers a partial second request with 408 and closes", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(SAMPLE);
        assertEquals((await client.response()).status, 200);
        await client.send("GET /sample.txt HTTP/1.1\r\nHost: loc");
        const sent = Date.now();
        const response = await client.response({ timeoutMs: 5000 });
        assertTrue(Date.now() - sent >= HEADER_MS - SLACK_MS, "408 before the timeout");
        await assertTimedOut(client, response);
      } finally {
        client.close();
      }
    });
    await t.step("server closes an idle keep-alive connection without a response", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(SAMPLE);
        const response = await client.response();
        assertEquals(response.status, 200);
        assertEquals(response.header("connection"), undefined);
        const answered = Date.now();
        assertEquals(await client.closed(5000), true, "an idle connection stayed open");
        const idle = Date.now() - answered;
        assertTrue(idle >= IDLE_MS - SLACK_MS, `closed after ${idle} ms of idleness`);
        assertEquals(client.pending.length, 0, "the server answered idleness");
      } finally {
        client.close();
      }
    });
    await t.step("server keeps an idle connection open past the header timeout", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(SAMPLE);
        assertEquals((await client.response()).status, 200);
        await delay(HEADER_MS + 500);
        await client.send(SAMPLE);
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server answers a stalled upload body with 408 and closes", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(upload(100) + '{"a":');
        const sent = Date.now();
        const response = await client.response({ timeoutMs: 5000 });
        assertTrue(Date.now() - sent >= BODY_MS - SLACK_MS, "408 before the timeout");
        await assertTimedOut(client, response, true);
      } finally {
        client.close();
      }
    });
    await t.step("server answers a stalled chunked body with 408 and closes", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(
          upload(0).replace("Content-Length: 0", "Transfer-Encoding: chunked") + '5\r\n{"a"',
        );
        const response = await client.response({ timeoutMs: 5000 });
        await assertTimedOut(client, response, true);
      } finally {
        client.close();
      }
    });
    await t.step("server accepts a slow body that keeps progressing at 500 bytes/s", async () => {
      const client = await RawClient.connect(port);
      try {
        // 600 bytes in 10 pieces, one every 100 ms: each gap within the timeout, and on
        // average above the 500 bytes/s a body must keep up once the timeout has passed.
        const body = encoder.encode(`{"slow":"${"s".repeat(587)}"}`);
        await client.send(upload(body.length));
        for (let i = 0; i < body.length; i += 60) {
          await delay(BODY_MS / 4);
          await client.send(body.subarray(i, i + 60));
        }
        const response = await client.response({ timeoutMs: 5000 });
        assertEquals(response.status, 201, response.text());
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("timeouts: a client that does not read is dropped, others are served", async () => {
  const big = new Uint8Array(BIG_SIZE).fill(0x61);
  await withBastion(shortTimeouts({ "big.txt": big }), async (server) => {
    const { port } = server;
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await stalled.write(encoder.encode(get("/big.txt")));
      await delay(200);
      const other = await RawClient.connect(port);
      try {
        for (let i = 0; i < 3; i++) {
          await other.send(SAMPLE);
          const response = await other.response({ timeoutMs: 3000 });
          assertEquals(response.status, 200, "another client was not served during the stall");
        }
      } finally {
        other.close();
      }
      await delay(SEND_MS + 1500);
      const { received, closed } = await drain(stalled, 8000);
      assertTrue(closed, "the server never dropped the client that does not read");
      assertTrue(received > 0, "the server sent nothing");
      assertTrue(received < BIG_SIZE, `the whole file arrived (${received} bytes)`);
      const after = await RawClient.connect(port);
      try {
        await after.send(SAMPLE);
        assertEquals((await after.response({ timeoutMs: 3000 })).status, 200);
      } finally {
        after.close();
      }
    } finally {
      try {
        stalled.close();
      } catch { /* already closed */ }
    }
  });
});

/** Reads `conn` until end of stream, a reset or `timeoutMs`; counts the bytes. */
async function drain(conn: Deno.TcpConn, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const buffer = new Uint8Array(256 * 1024);
  let received = 0;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), deadline - Date.now())
    );
    const read = conn.read(buffer).catch(() => null);
    const result = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (result === "timeout") return { received, closed: false };
    if (result === null) return { received, closed: true };
    received += result;
  }
  return { received, closed: false };
}

Deno.test("timeouts: the header timeout runs from the first byte of the head", async () => {
  await withBastion(shortTimeouts({}, 1500), async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await delay(1000);
      await client.send("GET /sample.txt HTTP/1.1\r\n");
      await delay(1000);
      await client.send("Host: localhost\r\n\r\n");
      const response = await client.response({ timeoutMs: 5000 });
      assertEquals(response.status, 200, "the head was timed from the connection's start");
    } finally {
      client.close();
    }
  });
});

Deno.test("timeouts: a slow client that keeps reading gets the whole file", async () => {
  await withBastion(
    shortTimeouts({ "big.txt": new Uint8Array(BIG_SIZE).fill(0x62) }),
    async (server) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      try {
        await conn.write(encoder.encode(get("/big.txt", "Connection: close\r\n")));
        const deadline = Date.now() + 9000;
        const buffer = new Uint8Array(256 * 1024);
        let received = 0;
        let sincePause = 0;
        let total = Infinity;
        let head = "";
        while (received < total && Date.now() < deadline) {
          const read = await conn.read(buffer);
          if (read === null) break;
          if (total === Infinity) {
            head += new TextDecoder("latin1").decode(buffer.subarray(0, read));
            const end = head.indexOf("\r\n\r\n");
            if (end >= 0) total = end + 4 + Number(/content-length: (\d+)/i.exec(head)![1]);
          }
          received += read;
          sincePause += read;
          if (sincePause >= 2 * 1024 * 1024) {
            sincePause = 0;
            await delay(SEND_MS / 2);
          }
        }
        assertEquals(received, total, "the server dropped a client that kept reading");
      } finally {
        conn.close();
      }
    },
  );
});
