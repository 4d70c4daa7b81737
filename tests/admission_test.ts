// Admission control over real sockets (SPEC §6): rate limit, bans, connection
// caps with the wait queue, many source addresses, trusted proxies.
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { fromAddress, get, NO_LIMITS, RawClient, roundTrip, withBastion } from "./_harness.ts";

const TRAVERSAL = "GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n";

function status(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

Deno.test("the rate limit answers 429 with Retry-After once the burst is spent, and keeps the connection", async () => {
  await withBastion({ args: ["--rate-limit", "1/s:5", "--ban", "off"] }, async (server) => {
    const client = await RawClient.connect(server.port);
    for (let i = 0; i < 5; i++) {
      await client.send(get("/"));
      assertEquals((await client.response()).status, 200);
    }
    await client.send(get("/"));
    const limited = await client.response();
    assertEquals(limited.status, 429);
    assertTrue(Number(limited.header("retry-after")) >= 1);
    assertEquals(limited.header("connection"), undefined, "429 keeps the connection");
    await client.send(get("/"));
    assertEquals((await client.response()).status, 429, "a 429 took no token: still none left");
    client.close();
    await server.waitForLog(/reason=rate/);
  });
});

Deno.test("concurrent requests get exactly the burst's worth of tokens", async () => {
  await withBastion({ args: ["--rate-limit", "1/s:40", "--ban", "off"] }, async (server) => {
    const started = Date.now();
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => RawClient.connect(server.port)),
    );
    await Promise.all(clients.map((client) => client.send(get("/").repeat(10))));
    const statuses = (await Promise.all(clients.map(async (client) => {
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) seen.push((await client.response()).status);
      client.close();
      return seen;
    }))).flat();
    const refills = Math.ceil((Date.now() - started) / 1000);
    const ok = statuses.filter((code) => code === 200).length;
    assertEquals(statuses.length, 80);
    assertTrue(ok >= 40 && ok <= 40 + refills, `${ok} answered, burst 40 (+${refills} refilled)`);
    assertEquals(statuses.filter((code) => code === 429).length, 80 - ok);
  });
});

Deno.test("the Nth security rejection bans the address: new connections closed at once, one alert", async () => {
  await withBastion({ args: ["--ban", "3/60s:300s", "--rate-limit", "off"] }, async (server) => {
    const client = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) {
      await client.send(TRAVERSAL);
      assertEquals((await client.response()).status, 403);
    }
    assertTrue(await client.closed(), "the connection that earned the ban is closed");
    client.close();
    for (let i = 0; i < 3; i++) {
      const banned = await RawClient.connect(server.port);
      await banned.send(get("/")).catch(() => {});
      assertTrue(await banned.closed(), "closed without an answer");
      assertEquals(banned.pending.length, 0, "no response bytes");
      banned.close();
    }
    await server.waitForLog(/reason=ban/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertEquals(server.stdout().match(/reason=ban/g)?.length, 1, "one alert per ban");
    const other = await fromAddress(server.port, "127.0.0.2", get("/", "Connection: close\r\n"));
    assertEquals(status(other), 200, "other addresses are not affected");
  });
});

Deno.test("404, 405 and 415 do not count towards a ban", async () => {
  await withBastion({
    // The seed profile refuses .css with 415; the web profile serves it.
    args: ["--ban", "3/60s:300s", "--rate-limit", "off", "--profile", "seed"],
    files: { "style.css": "body {}" },
  }, async (server) => {
    const client = await RawClient.connect(server.port);
    for (let i = 0; i < 4; i++) {
      await client.send(
        get("/missing.html") + get("/style.css") + "DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n",
      );
      assertEquals((await client.response()).status, 404);
      assertEquals((await client.response()).status, 415);
      assertEquals((await client.response()).status, 405);
    }
    await client.send(get("/"));
    assertEquals((await client.response()).status, 200);
    client.close();
  });
});

Deno.test("over the per-address cap a connection gets 503 with Retry-After: 5 and is closed", async () => {
  await withBastion({ args: ["--max-connections-per-ip", "2"] }, async (server) => {
    const held = [await RawClient.connect(server.port), await RawClient.connect(server.port)];
    for (const client of held) {
      await client.send(get("/"));
      assertEquals((await client.response()).status, 200);
    }
    const third = await RawClient.connect(server.port);
    const refused = await third.response();
    assertEquals(refused.status, 503);
    assertEquals(refused.header("retry-after"), "5");
    assertTrue(await third.closed());
    third.close();
    const elsewhere = await fromAddress(
      server.port,
      "127.0.0.3",
      get("/", "Connection: close\r\n"),
    );
    assertEquals(status(elsewhere), 200);
    held[0].close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertEquals((await roundTrip(server.port, get("/"))).status, 200, "a freed slot is reused");
    held[1].close();
  });
});

/**
 * Keeps `client` busy with an upload whose body arrives briskly: an idle
 * connection would be shed to make room for a newcomer. Until the server has
 * read the head, the connection still counts as idle: hence the pause.
 */
async function busyUploading(client: RawClient): Promise<void> {
  await client.send(
    "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
      `Content-Length: 20000\r\n\r\n[${"1,".repeat(5000)}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
}

Deno.test("over the global cap connections wait in a bounded FIFO queue, then get 503", async () => {
  await withBastion({
    args: ["--max-connections", "2", "--queue", "1", "--queue-timeout", "600ms"],
  }, async (server) => {
    const held = [await RawClient.connect(server.port), await RawClient.connect(server.port)];
    for (const client of held) {
      await client.send(get("/"));
      assertEquals((await client.response()).status, 200);
      await busyUploading(client);
    }
    const queued = await RawClient.connect(server.port);
    await queued.send(get("/"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const overflow = await RawClient.connect(server.port);
    const refused = await overflow.response();
    assertEquals(refused.status, 503, "the queue is full: refused at once");
    assertEquals(refused.header("retry-after"), "5");
    overflow.close();
    held[0].close();
    assertEquals(
      (await queued.response()).status,
      200,
      "the queued connection is served once a slot frees",
    );
    await busyUploading(queued);
    const waiting = await RawClient.connect(server.port);
    const started = Date.now();
    const timedOut = await waiting.response();
    assertEquals(timedOut.status, 503, "the wait runs out");
    assertTrue(Date.now() - started >= 400);
    waiting.close();
    queued.close();
    held[1].close();
    await server.waitForLog(/connections 2\/2/);
  });
});

Deno.test("a flood from 3 000 distinct addresses keeps state bounded and the server serving", async () => {
  await withBastion({ args: ["--rate-limit", "1/s:1", "--ban", "off"] }, async (server) => {
    for (let i = 0; i < 3000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => {
        const n = i + j + 1;
        return fromAddress(
          server.port,
          `127.10.${n >> 8}.${n & 255}`,
          get("/", "Connection: close\r\n"),
        );
      });
      for (const reply of await Promise.all(batch)) {
        assertEquals(status(reply), 200, `reply: ${JSON.stringify(reply.slice(0, 300))}`);
      }
    }
    const close = get("/", "Connection: close\r\n");
    assertEquals(status(await fromAddress(server.port, "127.11.0.1", close)), 200);
    assertEquals(
      status(await fromAddress(server.port, "127.11.0.1", close)),
      429,
      "after the flood, buckets are still kept and enforced",
    );
  });
});

Deno.test("X-Forwarded-For is ignored unless the peer is a trusted proxy", async () => {
  const spoofed = (n: number) =>
    get("/", `X-Forwarded-For: 203.0.113.${n}\r\nConnection: close\r\n`);
  await withBastion({ args: ["--rate-limit", "1/s:3", "--ban", "off"] }, async (direct) => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await roundTrip(direct.port, spoofed(i))).status);
    assertEquals(statuses.slice(0, 3), [200, 200, 200]);
    assertEquals(statuses.slice(3), [429, 429], "spoofing does not escape the rate limit");
    await direct.waitForLog(/INFO w1#c\d+ 127\.0\.0\.1 "GET \//);
  });
  await withBastion({
    args: ["--rate-limit", "1/s:3", "--ban", "off", "--trust-proxy", "127.0.0.1/32"],
  }, async (proxied) => {
    for (let i = 0; i < 5; i++) {
      assertEquals((await roundTrip(proxied.port, spoofed(i))).status, 200);
    }
    await proxied.waitForLog(/INFO w1#c\d+ 203\.0\.113\.4 "GET \//);
  });
});

Deno.test("a 429 for a request with a body never lets the body be read as a request", async () => {
  await withBastion({ args: ["--rate-limit", "1/s:1", "--ban", "off"] }, async (server) => {
    const smuggled = "GET /sample.txt HTTP/1.1\r\nHost: localhost\r\nX-Smuggled: yes\r\n\r\n";
    const client = await RawClient.connect(server.port);
    await client.send(get("/"));
    assertEquals((await client.response()).status, 200);
    await client.send(
      "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    );
    assertEquals((await client.response()).status, 429);
    await client.send(get("/"));
    const next = await client.response();
    assertEquals(next.status, 429, "the next answer is for the next request, not the body");
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the access log flush
    assertEquals(/"GET \/sample\.txt/.test(server.stdout()), false, "the body was never parsed");
  });
});

/** Two requests with `field` from 127.0.0.1, then the warning lines once both are logged. */
function forwardedWarnings(args: string[], field: string): Promise<string[]> {
  return withBastion({ args: [...NO_LIMITS, ...args] }, async (server) => {
    for (let i = 0; i < 2; i++) {
      const response = await roundTrip(server.port, get("/", `${field}\r\nConnection: close\r\n`));
      assertEquals(response.status, 200);
    }
    // The warning is logged before the request's access line.
    await server.waitForLog(/(?:GET \/ HTTP\/1\.1[^]*){2}/);
    return server.stdout().split("\n").filter((line) => /WARN|"level":"warn"/.test(line));
  });
}

Deno.test("X-Forwarded-For from an untrusted peer logs one warning naming it and --trust-proxy", async () => {
  const warnings = await forwardedWarnings([], "X-Forwarded-For: 203.0.113.9");
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assertMatch(warnings[0], /WARN w1 X-Forwarded-For from 127\.0\.0\.1.*reverse proxy/);
  assertMatch(
    warnings[0],
    /without --trust-proxy 127\.0\.0\.1 all its clients share one rate limit/,
  );
});

Deno.test("Forwarded from an untrusted peer logs one JSON warning", async () => {
  const warnings = await forwardedWarnings(["--log-format", "json"], "Forwarded: for=203.0.113.9");
  assertEquals(warnings.length, 1, warnings.join("\n"));
  const line = JSON.parse(warnings[0]);
  assertEquals([line.level, line.peer, line.header], ["warn", "127.0.0.1", "Forwarded"]);
  assertMatch(line.msg, /--trust-proxy 127\.0\.0\.1/);
});

Deno.test("X-Forwarded-For from a trusted proxy logs no warning", async () => {
  const warnings = await forwardedWarnings(
    ["--trust-proxy", "127.0.0.1"],
    "X-Forwarded-For: 203.0.113.9",
  );
  assertEquals(warnings, []);
});
