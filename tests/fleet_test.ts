/**
 * A fleet through `--shared-state`: three bastion processes with their own
 * roots share one redis-server on loopback. A ban earned on one is enforced
 * by all, strikes spread over them add up, a client spread over them is held
 * to about one rate limit, the upload quota counts the fleet's uploads, a
 * ban outlives the instance that set it, and Redis going away disturbs no
 * request. Skipped, with the reason printed, where redis-server is missing.
 * @module
 */

import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import {
  type Bastion,
  fromAddress,
  get,
  startBastion,
  type StartOptions,
  WORKER_MODULES,
} from "./_harness.ts";
import { type Redis, redisUnavailable, withRedis } from "./_redis.ts";
import { REDIS_CLIENT_VARIABLE } from "../src/permissions.ts";

const unavailable = redisUnavailable();
if (unavailable !== null) console.log(`fleet tests skipped: ${unavailable}`);

const TRAVERSAL = "GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const PAGE = get("/", "Connection: close\r\n");

function status(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `count` instances sharing `redis`, each with `args` (and `options`). */
async function fleet(
  redis: Redis,
  count: number,
  args: string[],
  options: StartOptions = {},
  prefix = `t${crypto.randomUUID().slice(0, 8)}:`,
): Promise<Bastion[]> {
  return await Promise.all(Array.from({ length: count }, () =>
    startBastion({
      extraPermissions: [`--allow-env=${REDIS_CLIENT_VARIABLE}`],
      ...options,
      args: ["--shared-state", redis.url, "--shared-state-prefix", prefix, ...args],
    })));
}

/** Runs `body` on a fleet and stops every instance whatever happens. */
async function withFleet(
  count: number,
  args: string[],
  body: (servers: Bastion[], redis: Redis) => Promise<void>,
  options: StartOptions = {},
): Promise<void> {
  await withRedis(async (redis) => {
    const servers = await fleet(redis, count, args, options);
    try {
      await Promise.all(servers.map((server) => server.waitForLog(/shared state connected/)));
      await body(servers, redis);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
}

/** Polls until `server` drops a connection from `address` unanswered; ms taken, or -1. */
async function refusedWithin(server: Bastion, address: string, ms: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await fromAddress(server.port, address, PAGE) === "") return Date.now() - started;
    await delay(25);
  }
  return -1;
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: unavailable !== null, fn });

test("fleet: a ban earned on one instance is enforced by the others within 1 s", async () => {
  await withFleet(3, ["--ban", "3/60s:300s", "--rate-limit", "off"], async ([a, b, c]) => {
    for (const address of ["127.0.0.7", "127.0.0.8"]) {
      assertEquals(status(await fromAddress(b.port, address, PAGE)), 200, "served before");
    }
    for (let i = 0; i < 3; i++) {
      assertEquals(status(await fromAddress(a.port, "127.0.0.7", TRAVERSAL)), 403);
    }
    for (const server of [a, b, c]) {
      const ms = await refusedWithin(server, "127.0.0.7", 1000);
      assertTrue(ms >= 0, `port ${server.port} still served the banned client after 1 s`);
    }
    assertEquals(status(await fromAddress(c.port, "127.0.0.8", PAGE)), 200, "others are served");
  });
});

test("fleet: strikes spread over three instances add up to a ban", async () => {
  await withFleet(3, ["--ban", "3/60s:300s", "--rate-limit", "off"], async (servers) => {
    // One rejection on each: no instance alone reaches 3.
    for (const server of servers) {
      assertEquals(status(await fromAddress(server.port, "127.0.0.9", TRAVERSAL)), 403);
    }
    for (const server of servers) {
      assertTrue(await refusedWithin(server, "127.0.0.9", 1000) >= 0, "banned everywhere");
    }
  });
});

test("fleet: the workers of one instance count for the fleet through its main thread", async () => {
  await withRedis(async (redis) => {
    const args = ["--ban", "3/60s:300s", "--rate-limit", "off"];
    const prefix = `w${crypto.randomUUID().slice(0, 8)}:`;
    const [workers] = await fleet(redis, 1, [...args, "--workers", "2"], {
      extraRead: [...WORKER_MODULES],
      extraPermissions: ["--unstable-net", `--allow-env=${REDIS_CLIENT_VARIABLE}`],
    }, prefix);
    const [single] = await fleet(redis, 1, args, {}, prefix);
    try {
      await Promise.all([workers, single].map((s) => s.waitForLog(/shared state connected/)));
      // Separate connections: the kernel spreads them over both workers.
      for (let i = 0; i < 3; i++) {
        assertEquals(status(await fromAddress(workers.port, "127.0.0.14", TRAVERSAL)), 403);
      }
      assertTrue(
        await refusedWithin(single, "127.0.0.14", 1000) >= 0,
        "banned by the other instance",
      );
    } finally {
      await Promise.all([workers.stop(), single.stop()]);
    }
  });
});

test("fleet: a client spread over three instances is held to about one rate limit", async () => {
  // 20/s with a burst of 20: alone, three instances would serve it 3 × (20 + 20 × 3) = 240 in 3 s.
  await withFleet(3, ["--rate-limit", "20/s:20", "--ban", "off"], async (servers) => {
    const counts = { ok: 0, limited: 0 };
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3000; i++) {
      const code = status(await fromAddress(servers[i % 3].port, "127.0.0.11", PAGE));
      if (code === 200) counts.ok++;
      else if (code === 429) counts.limited++;
    }
    const seconds = (Date.now() - started) / 1000;
    const oneLimit = 20 + 20 * seconds;
    console.log(
      `fleet rate limit: ${counts.ok} served, ${counts.limited} × 429 in ${seconds.toFixed(1)} s ` +
        `(one instance's limit: ${Math.round(oneLimit)}; three unshared: ${
          Math.round(3 * oneLimit)
        })`,
    );
    // docs/deployment.md: each instance may serve a client it has not heard of its own burst,
    // and the fleet learns of each use within about 150 ms.
    assertTrue(
      counts.ok <= oneLimit + 2 * 20 + 3 * 20 * 0.15,
      `served ${counts.ok} in ${seconds} s`,
    );
    assertTrue(counts.ok >= 0.8 * 20 * seconds, `served only ${counts.ok}: held below the rate`);
    assertTrue(counts.limited > counts.ok, "most requests were over the limit");
  });
});

test("fleet: the upload quota counts what every instance stored", async () => {
  const shared = await Deno.makeTempDir();
  try {
    // Each instance's own root; one upload directory for all (a later --allow-write wins).
    const options: StartOptions = {
      extraRead: [shared],
      extraPermissions: [`--allow-write=${shared}`, `--allow-env=${REDIS_CLIENT_VARIABLE}`],
    };
    await withRedis(async (redis) => {
      const prefix = `q${crypto.randomUUID().slice(0, 8)}:`;
      const servers = await Promise.all([0, 1, 2].map(async () => {
        return await startBastion({
          ...options,
          args: [
            "--shared-state",
            redis.url,
            "--shared-state-prefix",
            prefix,
            "--upload-dir",
            shared,
            "--upload-quota",
            "3KiB",
            "--max-body",
            "2KiB",
            "--rate-limit",
            "off",
            "--ban",
            "off",
          ],
        });
      }));
      try {
        await Promise.all(servers.map((server) => server.waitForLog(/shared state connected/)));
        const body = JSON.stringify({ data: "x".repeat(990) });
        const upload = (server: Bastion) =>
          fromAddress(
            server.port,
            "127.0.0.1",
            [
              "POST /upload HTTP/1.1",
              "Host: localhost",
              "Content-Type: application/json",
              `Content-Length: ${body.length}`,
              "Connection: close",
              "",
              body,
            ].join("\r\n"),
          );
        for (const server of servers) {
          assertEquals(status(await upload(server)), 201);
          await delay(300);
        }
        // 3 000 bytes stored in all, none of the instances alone past 1 000.
        for (const server of servers) assertEquals(status(await upload(server)), 507);
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
      }
    });
  } finally {
    await Deno.remove(shared, { recursive: true });
  }
});

test("fleet: a ban outlives the instance that set it", async () => {
  await withRedis(async (redis) => {
    const args = ["--ban", "2/60s:300s", "--rate-limit", "off"];
    const prefix = `r${crypto.randomUUID().slice(0, 8)}:`;
    const [first] = await fleet(redis, 1, args, {}, prefix);
    try {
      await first.waitForLog(/shared state connected/);
      for (let i = 0; i < 2; i++) await fromAddress(first.port, "127.0.0.12", TRAVERSAL);
      await delay(400);
    } finally {
      await first.stop();
    }
    const [second] = await fleet(redis, 1, args, {}, prefix);
    try {
      await second.waitForLog(/shared state connected/);
      assertTrue(await refusedWithin(second, "127.0.0.12", 1000) >= 0, "the new instance bans it");
      assertEquals(status(await fromAddress(second.port, "127.0.0.13", PAGE)), 200);
    } finally {
      await second.stop();
    }
  });
});

test("fleet: Redis going away and coming back disturbs no request: one warning, one recovery line", async () => {
  await withFleet(1, ["--rate-limit", "off"], async ([server], redis) => {
    await redis.kill();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      assertEquals(status(await fromAddress(server.port, "127.0.0.1", PAGE)), 200);
    }
    const downMs = Date.now() - started;
    assertTrue(downMs < 5000, "20 requests took over 5 s while Redis was away");
    await server.waitForLog(/shared state unreachable/);
    await delay(500);
    await redis.restart();
    const restarted = Date.now();
    await server.waitForLog(/shared state reachable again/, 5000);
    console.log(
      `Redis away: 20 requests served in ${downMs} ms; re-synced ${Date.now() - restarted} ms ` +
        "after redis-server was back",
    );
    for (let i = 0; i < 5; i++) {
      assertEquals(status(await fromAddress(server.port, "127.0.0.1", PAGE)), 200);
    }
    assertEquals(server.stdout().match(/shared state unreachable/g)?.length, 1, "one warning");
    assertEquals(server.stdout().match(/reachable again/g)?.length, 1, "one recovery line");
    assertMatch(server.stdout(), /shared state connected/);
    assertMatch(
      server.stdout(),
      /\| shared state redis:\/\/127\.0\.0\.1:\d+\/0 \(t[0-9a-f]{8}:\) \|/,
    );
  });
});
