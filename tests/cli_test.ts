/**
 * Integration tests for the command line and the logs (SPEC §1, §8, §10):
 * help and version, start-up errors, the banner, the access log, security
 * events and log injection.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import {
  type Bastion,
  get,
  makeRoot,
  RawClient,
  roundTrip,
  spawnBastion,
  withBastion,
} from "./_harness.ts";

const ISO_TIME = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
const JSON_BANNER = /^\{.*"url":"https?:\/\/[^"]*:(\d+)\/".*$/m;

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bastion until it exits; fails (and kills it) if it is still running after `timeoutMs`. */
async function runToExit(permissions: string[], args: string[], timeoutMs = 15_000): Promise<Exit> {
  const process = spawnBastion(permissions, args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) =>
    timer = setTimeout(() => resolve(null), timeoutMs)
  );
  const status = await Promise.race([process.status, timeout]);
  clearTimeout(timer);
  if (status === null) {
    await process.stop("SIGKILL");
    throw new Error(`bastion ${args.join(" ")} did not exit; stdout: ${process.stdout()}`);
  }
  return { code: status.code, stdout: process.stdout(), stderr: process.stderr() };
}

/** Runs `jobs` with at most `limit` at once, keeping their order. */
async function inBatches<T>(jobs: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < jobs.length; start += limit) {
    results.push(...await Promise.all(jobs.slice(start, start + limit).map((job) => job())));
  }
  return results;
}

/** A start-up error: exit code 2, one plain line on stderr, no stack, no banner. */
function assertStartupError(exit: Exit, label: string): string {
  assertEquals(exit.code, 2, `${label}: exit code; stderr: ${exit.stderr}`);
  const text = exit.stderr.replace(/\n$/, "");
  assertEquals(
    text.split("\n").length,
    1,
    `${label}: one line on stderr, got ${JSON.stringify(exit.stderr)}`,
  );
  assertMatch(text, /^bastion: \S/, label);
  assertNotMatch(exit.stderr, /^\s*at /m, `${label}: no stack trace`);
  assertNotMatch(exit.stderr, /\b(Error|TypeError):/, `${label}: no raw exception`);
  assertNotMatch(exit.stdout, /listening/, `${label}: no banner`);
  return text;
}

function leastPrivilege(root: string, uploads = join(root, "uploads")): string[] {
  return ["--allow-net", `--allow-read=${root}`, `--allow-write=${uploads}`];
}

/** Starts bastion in JSON log mode (its banner is a JSON line, not the text banner). */
async function startJsonLogs(args: string[] = []): Promise<Bastion> {
  const { root, uploads } = await makeRoot();
  const process = spawnBastion(leastPrivilege(root), [
    "--root",
    root,
    "--port",
    "0",
    "--log-format",
    "json",
    ...args,
  ]);
  try {
    const banner = await process.waitForLog(JSON_BANNER);
    return { ...process, port: Number(JSON_BANNER.exec(banner)![1]), root, uploads };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

async function removeRoot(root: string): Promise<void> {
  await Deno.remove(join(root, ".."), { recursive: true }).catch(() => {});
}

/** The stdout line matching `pattern`, once it has been logged. */
async function logLine(server: Bastion, pattern: RegExp): Promise<string> {
  const source = pattern.source.replace(/^\^/, "").replace(/\$$/, "");
  return await server.waitForLog(new RegExp(`^.*${source}.*$`, "m"));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("--help and --version exit 0 with their output, long and short forms", async () => {
  const { root } = await makeRoot({ copyResources: false });
  try {
    const [help, shortHelp, version, shortVersion] = await inBatches([
      () => runToExit(leastPrivilege(root), ["--help"]),
      () => runToExit(leastPrivilege(root), ["-h"]),
      () => runToExit(leastPrivilege(root), ["--version"]),
      () => runToExit(leastPrivilege(root), ["-V"]),
    ]);
    for (const exit of [help, shortHelp]) {
      assertEquals(exit.code, 0, exit.stderr);
      for (
        const flag of ["--port", "--host", "--workers", "--root", "--max-body", "--log-format"]
      ) {
        assertTrue(exit.stdout.includes(flag), `--help lists ${flag}`);
      }
      assertMatch(exit.stdout, /8080/, "--help shows defaults");
      assertNotMatch(exit.stdout, /listening/);
    }
    for (const exit of [version, shortVersion]) {
      assertEquals(exit.code, 0, exit.stderr);
      assertMatch(exit.stdout, /^bastion \d+\.\d+\.\d+\S*\n?$/);
    }
  } finally {
    await removeRoot(root);
  }
});

Deno.test("bad flags exit 2 with one 'bastion:' line on stderr and no stack trace", async () => {
  const { root } = await makeRoot({ copyResources: false });
  const cases: string[][] = [
    ["--port", "70000"],
    ["--port", "abc"],
    ["--port=-1"],
    ["--workers", "0"],
    ["--workers", "257"],
    ["--max-body", "0"],
    ["--max-body", "2GiB"],
    ["--max-head", "8XB"],
    ["--header-timeout", "2h"],
    ["--header-timeout", "0ms"],
    ["--idle-timeout", "61m"],
    ["--profile", "foo"],
    ["--log-format", "xml"],
    ["--log-level", "loud"],
    ["--rate-limit", "fast"],
    ["--type", "txt"],
    ["--header", "Server: other"],
    ["--cert", "cert.pem"],
    ["--bogus"],
    ["8000", "--port", "9000"],
    ["8000", "127.0.0.1", "1", "extra"],
    ["8000", "127.0.0.1", "0"],
    ["--log-format", "json", "--port", "70000"],
  ];
  try {
    const exits = await inBatches(
      cases.map((args) => () => runToExit(leastPrivilege(root), ["--root", root, ...args])),
    );
    for (const [index, exit] of exits.entries()) assertStartupError(exit, cases[index].join(" "));
  } finally {
    await removeRoot(root);
  }
});

Deno.test("start-up refuses a missing web root, missing permissions and a port in use with exit 2", async () => {
  const { base, root, uploads } = await makeRoot({ copyResources: false });
  const other = join(base, "other");
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(base, "file"), "not a directory");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busyPort = String((listener.addr as Deno.NetAddr).port);
  try {
    const [missing, notDir, noRead, noWrite, otherUploads, busy, busyJson] = await inBatches([
      () => runToExit([`--allow-net`, `--allow-read=${base}`], ["--root", join(base, "nope")]),
      () => runToExit([`--allow-net`, `--allow-read=${base}`], ["--root", join(base, "file")]),
      () =>
        runToExit(["--allow-net", `--allow-read=${other}`, `--allow-write=${uploads}`], [
          "--root",
          root,
        ]),
      () => runToExit(["--allow-net", `--allow-read=${root}`], ["--root", root]),
      () =>
        runToExit(leastPrivilege(root, uploads), [
          "--root",
          root,
          "--upload-dir",
          join(root, "elsewhere"),
        ]),
      () => runToExit(leastPrivilege(root), ["--root", root, "--port", busyPort]),
      () =>
        runToExit(leastPrivilege(root), [
          "--root",
          root,
          "--port",
          busyPort,
          "--log-format",
          "json",
        ]),
    ]);
    assertStartupError(missing, "missing web root");
    assertStartupError(notDir, "web root is a file");
    assertMatch(assertStartupError(noRead, "root outside --allow-read"), /--allow-read/);
    assertMatch(assertStartupError(noWrite, "no write permission"), /--allow-write/);
    assertMatch(
      assertStartupError(otherUploads, "upload dir outside --allow-write"),
      /--allow-write/,
    );
    assertMatch(assertStartupError(busy, "port in use"), new RegExp(busyPort));
    const plain = assertStartupError(busyJson, "port in use, JSON logs");
    assertEquals(plain.startsWith("{"), false, "a start-up error is a plain line in JSON mode");
  } finally {
    listener.close();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

Deno.test("the banner is one line with the URL, workers, root, upload dir, limits and permission flags", async () => {
  await withBastion({ args: ["--max-body", "512KiB", "--max-uri", "2000"] }, (server) => {
    const banners = server.stdout().split("\n").filter((line) => line.includes("listening"));
    assertEquals(banners.length, 1);
    const banner = banners[0];
    assertTrue(banner.includes(`http://127.0.0.1:${server.port}/`), banner);
    assertMatch(banner, /workers 1\b/);
    assertTrue(banner.includes(server.root), "root");
    assertTrue(banner.includes(server.uploads), "upload dir");
    assertMatch(banner, /512KiB/, "body limit");
    assertMatch(banner, /2000/, "uri limit");
    assertTrue(banner.includes("--allow-net"), "net permission");
    assertTrue(banner.includes(`--allow-read=${server.root}`), "read permission");
    assertTrue(banner.includes(`--allow-write=${server.uploads}`), "write permission");
    assertNotMatch(banner, /--allow-(run|env|ffi|sys|all)\b/, "no permission it does not have");
  });
});

Deno.test("--log-format json makes every stdout line JSON: banner, access lines, security events", async () => {
  const server = await startJsonLogs();
  try {
    const requests = [
      get("/", "X-Request-Id: json-ok\r\n"),
      get("/missing.html", "X-Request-Id: json-404\r\n"),
      get("/../etc/passwd", "X-Request-Id: json-traversal\r\n"),
      `GET / HTTP/1.1\r\nHost: evil.example\r\nX-Request-Id: json-host\r\n\r\n`,
      get('/a"b', "X-Request-Id: json-quote\r\n"),
    ];
    for (const request of requests) await roundTrip(server.port, request);
    await server.waitForLog(/json-quote/);
    await server.waitForLog(/"reason":"host"/);
    const status = await server.stop();
    assertEquals(status.code, 0);
    const lines = server.stdout().split("\n").filter((line) => line !== "");
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`Not a JSON line: ${line}`);
      }
    });
    const banner = entries[0];
    assertEquals(banner.url, `http://127.0.0.1:${server.port}/`);
    assertEquals(banner.workers, 1);
    const access = entries.find((entry) => entry.rid === "json-ok" && entry.status === 200);
    assertTrue(access !== undefined, "access entry for GET /");
    assertEquals(access.request, "GET / HTTP/1.1");
    assertEquals(access.client, "127.0.0.1");
    assertEquals(typeof access.bytes, "number");
    const security = entries.filter((entry) => entry.level === "warn").map((entry) => entry.reason);
    assertTrue(security.includes("traversal"), "traversal event");
    assertTrue(security.includes("host"), "host event");
  } finally {
    await server.stop();
    await removeRoot(server.root);
  }
});

Deno.test("access log lines have the SPEC §8 shape with bytes sent and the request id", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      const size = (await Deno.stat(join(server.root, "index.html"))).size;
      await client.send(get("/index.html", "X-Request-Id: trace-42.a_b\r\n"));
      const ok = await client.response();
      assertEquals(ok.status, 200);
      const line = await logLine(server, /rid=trace-42\.a_b$/);
      assertMatch(
        line,
        new RegExp(
          `^${ISO_TIME} INFO w1#c\\d+ 127\\.0\\.0\\.1 "GET /index\\.html HTTP/1\\.1" 200 ${size} ` +
            String.raw`\d+(\.\d+)?ms rid=trace-42\.a_b$`,
        ),
      );

      await client.send(get("/index.html"));
      const fresh = await client.response();
      const rid = fresh.header("x-request-id")!;
      assertMatch(rid, /^[A-Za-z0-9._-]{1,64}$/);
      const freshLine = await logLine(server, new RegExp(`rid=${escapeRegExp(rid)}$`));
      assertMatch(
        freshLine,
        new RegExp(
          `^${ISO_TIME} INFO w1#c\\d+ 127\\.0\\.0\\.1 "GET /index\\.html HTTP/1\\.1" 200 ${size} `,
        ),
      );

      await client.send(
        `HEAD /index.html HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: head-1\r\n\r\n`,
      );
      await client.response({ head: true });
      assertMatch(await logLine(server, /rid=head-1$/), /"HEAD \/index\.html HTTP\/1\.1" 200 0 /);

      await client.send(get("/missing.html", "X-Request-Id: missing-1\r\n"));
      const missing = await client.response();
      assertMatch(
        await logLine(server, /rid=missing-1$/),
        new RegExp(`"GET /missing\\.html HTTP/1\\.1" 404 ${missing.body.length} `),
      );
    } finally {
      client.close();
    }
  });
});

Deno.test("a traversal attempt and a forged Host are logged as WARN security events with their reason", async () => {
  await withBastion(async (server) => {
    const traversal = await roundTrip(
      server.port,
      get("/../etc/passwd", "X-Request-Id: sec-trav\r\n"),
    );
    assertEquals(traversal.status, 403);
    const travLine = await logLine(server, / WARN .*reason=traversal.*sec-trav/);
    assertMatch(travLine, new RegExp(`^${ISO_TIME} WARN `));
    assertMatch(travLine, /127\.0\.0\.1/);

    const encoded = await roundTrip(
      server.port,
      get("/%2e%2e/secret", "X-Request-Id: sec-enc\r\n"),
    );
    assertEquals(encoded.status, 403);
    await logLine(server, / WARN .*reason=traversal.*sec-enc/);

    const host = await roundTrip(
      server.port,
      "GET / HTTP/1.1\r\nHost: evil.example.com\r\nX-Request-Id: sec-host\r\n\r\n",
    );
    assertEquals(host.status, 403);
    assertMatch(
      await logLine(server, / WARN .*reason=host.*sec-host/),
      new RegExp(`^${ISO_TIME} WARN `),
    );

    const wrongPort = await roundTrip(
      server.port,
      "GET / HTTP/1.1\r\nHost: localhost:1\r\nX-Request-Id: sec-port\r\n\r\n",
    );
    assertEquals(wrongPort.status, 403);
    await logLine(server, / WARN .*reason=host.*sec-port/);

    const absolute = await roundTrip(
      server.port,
      "GET http://evil.example.com/ HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: sec-abs\r\n\r\n",
    );
    assertEquals(absolute.status, 403);
    await logLine(server, / WARN .*reason=host.*sec-abs/);
  });
});

Deno.test("log lines escape quotes and keep percent-encoded line breaks from forging lines", async () => {
  await withBastion(async (server) => {
    const quote = await roundTrip(server.port, get('/a"b', "X-Request-Id: inj-quote\r\n"));
    assertEquals(quote.status, 404);
    const quoteLine = await logLine(server, /rid=inj-quote$/);
    assertMatch(
      quoteLine,
      new RegExp(`^${ISO_TIME} INFO w1#c\\d+ 127\\.0\\.0\\.1 "[^"]*/a[^"]*b HTTP/1\\.1" 404 \\d+ `),
      "the request line keeps exactly its two delimiting quotes",
    );

    const forged = "/x%0d%0a2026-01-01T00:00:00.000Z%20INFO%20w1%23c1%20forged";
    const crlf = await roundTrip(server.port, get(forged, "X-Request-Id: inj-crlf\r\n"));
    assertEquals(crlf.status, 400);
    const crlfLine = await logLine(server, /rid=inj-crlf$/);
    assertMatch(crlfLine, new RegExp(`^${ISO_TIME} INFO w1#c\\d+ 127\\.0\\.0\\.1 "GET /x`));

    const sneaky = await roundTrip(server.port, get('/../"x', "X-Request-Id: inj-sec\r\n"));
    assertEquals(sneaky.status, 403);
    const securityLine = await logLine(server, /WARN .*inj-sec/);
    assertNotMatch(securityLine, /[^\\]"x HTTP/, "quote in a security event is escaped");

    await server.stop();
    for (const line of server.stdout().split("\n").filter((line) => line !== "")) {
      assertMatch(line, new RegExp(`^${ISO_TIME} (DEBUG|INFO|WARN|ERROR) w\\d+`), line);
      assertNotMatch(line, /^[^"]*forged/, "no forged line");
    }
  });
});

Deno.test("--log-level warn still prints the banner, drops access lines and keeps security events", async () => {
  const { root } = await makeRoot();
  const process = spawnBastion(leastPrivilege(root), [
    "--root",
    root,
    "--port",
    "0",
    "--log-level",
    "warn",
  ]);
  try {
    const banner = /listening on http:\/\/127\.0\.0\.1:(\d+)\//;
    const found = await process.waitForLog(banner, 5000).catch(() => null);
    assertTrue(
      found !== null,
      `no banner with --log-level warn; stdout: ${JSON.stringify(process.stdout())}`,
    );
    const port = Number(banner.exec(found)![1]);
    assertEquals((await roundTrip(port, get("/", "X-Request-Id: lvl-ok\r\n"))).status, 200);
    assertEquals((await roundTrip(port, get("/../x", "X-Request-Id: lvl-trav\r\n"))).status, 403);
    await process.waitForLog(/ WARN .*reason=traversal.*lvl-trav/);
    assertNotMatch(process.stdout(), /lvl-ok/, "no access line at warn level");
  } finally {
    await process.stop();
    await removeRoot(root);
  }
});

Deno.test("the positional form PORT HOST WORKERS starts the server like the flags", async () => {
  const { root } = await makeRoot();
  const process = spawnBastion(leastPrivilege(root), ["0", "127.0.0.1", "1", "--root", root]);
  try {
    const banner = /listening on http:\/\/127\.0\.0\.1:(\d+)\/ \| workers 1\b/;
    const port = Number(banner.exec(await process.waitForLog(banner))![1]);
    assertTrue(port > 0, "port 0 picks a free port and the banner shows it");
    assertEquals((await roundTrip(port, get("/"))).status, 200);
  } finally {
    await process.stop();
    await removeRoot(root);
  }
});
