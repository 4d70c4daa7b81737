/**
 * Integration tests for shedding (issue 16): at the connection cap, and when
 * the process has no file descriptor left, idle connections (silent, between
 * requests, or with part of a head) are closed oldest first to make room for a
 * working client; a connection with a request in progress is never shed.
 * @module
 */

import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { get, makeRoot, RawClient, spawnProgram, withBastion } from "./_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PARTIAL_UPLOAD = "POST /upload HTTP/1.1\r\nHost: localhost\r\n" +
  'Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a":';

Deno.test("at the connection cap, the oldest idle connection makes room; a busy one is kept", async () => {
  // A long queue wait: without shedding, the newcomer would wait 30 s and the test time out.
  await withBastion({
    args: ["--max-connections", "4", "--queue-timeout", "30s", "--ban", "off"],
  }, async (server) => {
    const clients: RawClient[] = [];
    try {
      const oldest = await RawClient.connect(server.port);
      const busy = await RawClient.connect(server.port);
      await busy.send(PARTIAL_UPLOAD);
      const halfHead = await RawClient.connect(server.port);
      await halfHead.send("GET / HTTP/1.1\r\nHost: loc");
      const newest = await RawClient.connect(server.port);
      clients.push(oldest, busy, halfHead, newest);
      // Each of the four is admitted before the next: a request on the newest one proves it.
      await newest.send(get("/"));
      assertEquals((await newest.response()).status, 200);

      const newcomer = await RawClient.connect(server.port);
      clients.push(newcomer);
      await newcomer.send(get("/"));
      assertEquals((await newcomer.response({ timeoutMs: 20_000 })).status, 200);

      assertEquals(await oldest.closed(2000), true, "the oldest idle connection was shed");
      assertEquals(await busy.closed(200), false, "a request in progress is never shed");
      assertEquals(await halfHead.closed(200), false, "only as many as needed are shed");
      assertEquals(await newest.closed(200), false);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("out of file descriptors, idle connections are shed and an honest request is served", async () => {
  const { base, root, uploads } = await makeRoot();
  // About 25 descriptors are Deno's own: a limit of 48 leaves room for some 20 connections.
  const flags = `--unstable-net --allow-net --allow-read=${root} --allow-write=${uploads}`;
  const server = spawnProgram("bash", [
    "-c",
    `ulimit -n 48; exec '${Deno.execPath()}' run --quiet ${flags} '${MAIN}' --root '${root}' ` +
    "--port 0 --ban off --rate-limit off",
  ]);
  const idle: Deno.TcpConn[] = [];
  try {
    const banner = await server.waitForLog(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    const port = Number(/:(\d+)\/$/.exec(banner)![1]);
    for (let i = 0; i < 60; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const honest = await RawClient.connect(port);
    idle.push(honest.conn);
    await honest.send(get("/"));
    assertEquals((await honest.response({ timeoutMs: 20_000 })).status, 200);
    await server.waitForLog(/WARN .*out of file descriptors: closed \d+ idle connections/);
    const warnings = server.stdout().match(/out of file descriptors/g) ?? [];
    assertEquals(warnings.length, 1, "logged once a minute, not on every failed accept");
    assertMatch(server.stdout(), /LimitNOFILE=/);
    assertTrue(!/accept failed/.test(server.stdout()), server.stdout());
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch { /* closed already */ }
    }
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(base, { recursive: true });
  }
});

/** Sends `bytes` one at a time, `everyMs` apart, until they are sent or the socket fails. */
async function trickle(client: RawClient, bytes: string, everyMs: number): Promise<void> {
  for (const byte of bytes) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    try {
      await client.send(byte);
    } catch {
      return;
    }
  }
}

Deno.test("a body trickling in below the minimum rate gets 408 once --body-timeout has passed", async () => {
  await withBastion({ args: ["--body-timeout", "1s", "--ban", "off"] }, async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Content-Length: 200\r\n\r\n",
      );
      // A byte every 400 ms: always within the 1 s between bytes, far below 500 bytes/s.
      const trickling = trickle(client, `[${"1,".repeat(98)}1]`, 400);
      const response = await client.response({ timeoutMs: 20_000 });
      assertEquals(response.status, 408);
      assertEquals(await client.closed(2000), true);
      await trickling;
    } finally {
      client.close();
    }
  });
});

Deno.test("at the connection cap, a body trickling in below the minimum rate makes room", async () => {
  await withBastion({
    args: ["--max-connections", "1", "--queue-timeout", "30s", "--ban", "off"],
  }, async (server) => {
    const slow = await RawClient.connect(server.port);
    const clients = [slow];
    try {
      await slow.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Content-Length: 200\r\n\r\n",
      );
      const trickling = trickle(slow, `[${"1,".repeat(98)}1]`, 300);
      // Past the 2 s a slow body is given before it may be shed.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const newcomer = await RawClient.connect(server.port);
      clients.push(newcomer);
      await newcomer.send(get("/"));
      assertEquals((await newcomer.response({ timeoutMs: 20_000 })).status, 200);
      assertEquals(await slow.closed(2000), true, "the trickling upload was shed");
      await trickling;
    } finally {
      for (const client of clients) client.close();
    }
  });
});
