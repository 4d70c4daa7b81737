/**
 * Integration tests of the wire (SPEC §2, §5 Host allow-list and security
 * headers, §5 OPTIONS): every status and limit of the HTTP/1.1 engine, checked
 * over raw sockets against the real server process.
 * @module
 */

import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import {
  type Bastion,
  get,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  withBastion,
} from "./_harness.ts";
import { VERSION } from "../src/version.ts";

const SECURITY_HEADERS: [string, string][] = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["content-security-policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'"],
  ["referrer-policy", "no-referrer"],
  ["cross-origin-resource-policy", "same-origin"],
];
const IMF_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MIB = 1024 * 1024;
const SAMPLE = get("/sample.txt");
const JSON_HEAD = "Content-Type: application/json\r\n";

function latin1(bytes: Uint8Array): string {
  return new TextDecoder("latin1").decode(bytes);
}

/** Date, Server, X-Request-Id, the security headers (once each) and sane framing. */
function assertCommon(response: RawResponse, requestId?: string): void {
  const once = (name: string) =>
    assertEquals(
      response.headers.filter(([key]) => key === name).length,
      1,
      `${name} once in:\n${response.head}`,
    );
  for (const name of ["date", "server", "x-request-id"]) once(name);
  assertMatch(response.header("date")!, IMF_DATE);
  assertEquals(response.header("server"), "bastion");
  const id = response.header("x-request-id")!;
  assertMatch(id, REQUEST_ID);
  if (requestId !== undefined) assertEquals(id, requestId);
  for (const [name, value] of SECURITY_HEADERS) {
    once(name);
    assertEquals(response.header(name), value, response.head);
  }
  assertEquals(response.header("strict-transport-security"), undefined, "HSTS without TLS");
  const { status } = response;
  if (status < 200 || status === 204 || status === 304) {
    assertEquals(response.header("content-length"), undefined, response.head);
    assertEquals(response.header("transfer-encoding"), undefined, response.head);
  } else {
    assertTrue(
      response.header("content-length") !== undefined ||
        response.header("transfer-encoding") === "chunked",
      `no framing in:\n${response.head}`,
    );
  }
}

/** A short text/plain (or JSON) error body without paths, stacks or versions. */
function assertSafeError(response: RawResponse, server: Bastion, json?: boolean): void {
  const text = response.text();
  const type = response.header("content-type");
  if (json ?? type === "application/json") {
    assertEquals(type, "application/json");
    assertEquals(JSON.parse(text).status, "error");
  } else {
    assertEquals(type, "text/plain; charset=utf-8");
  }
  assertTrue(text.length > 0 && text.length < 512, `error body of ${text.length} bytes`);
  assertNotMatch(text, /\b[A-Z][a-z]+Error\b|^\s+at |file:\/\/|\/tmp\/|\/work\//m);
  assertTrue(!text.includes(server.root), "the body shows the web root");
  assertNotMatch(text, /\d+\.\d+\.\d+/, "a version number in the body");
  for (const version of [VERSION, Deno.version.deno, Deno.version.v8]) {
    assertTrue(!text.includes(version), `the body shows version ${version}`);
  }
  assertNotMatch(text, /\bdeno\b|\bv8\b/i);
}

/** Sends `raw` on a new connection and reads one response. */
async function open(port: number, raw: string | Uint8Array, head = false) {
  const client = await RawClient.connect(port);
  await client.send(raw);
  const response = await client.response({ head, timeoutMs: 5000 });
  assertCommon(response);
  return { client, response };
}

/** The server closes `client` and sent nothing after what was read. */
async function assertClosedAfter(client: RawClient): Promise<void> {
  assertEquals(await client.closed(3000), true, "the server kept the connection open");
  assertEquals(client.pending.length, 0, `bytes after the response:\n${latin1(client.pending)}`);
}

/** One `status` response with `Connection: close`, a closed socket, nothing more. */
async function expectRejected(
  server: Bastion,
  raw: string | Uint8Array,
  status: number,
  json?: boolean,
): Promise<RawResponse> {
  const { client, response } = await open(server.port, raw);
  try {
    assertEquals(response.status, status, response.head);
    assertEquals(response.header("connection"), "close", response.head);
    assertSafeError(response, server, json);
    await assertClosedAfter(client);
    return response;
  } finally {
    client.close();
  }
}

/** A `status` response on a connection that then answers `next` with 200. */
async function expectKeptAlive(
  port: number,
  raw: string,
  status: number,
  next = SAMPLE,
): Promise<RawResponse> {
  const { client, response } = await open(port, raw);
  try {
    assertEquals(response.status, status, response.head);
    assertEquals(response.header("connection"), undefined, response.head);
    await client.send(next);
    const second = await client.response({ timeoutMs: 5000 });
    assertCommon(second);
    assertEquals(second.status, 200, second.head);
    return response;
  } finally {
    client.close();
  }
}

function allowSet(response: RawResponse): string[] {
  return (response.header("allow") ?? "").split(",").map((method) => method.trim()).sort();
}

function post(path: string, headers: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}` +
    `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`;
}

/** `POST /upload` with the given framing headers and raw body bytes. */
function upload(framing: string, body: string, version = "HTTP/1.1"): string {
  return `POST /upload ${version}\r\nHost: localhost\r\n${JSON_HEAD}${framing}\r\n${body}`;
}

function head(lines: string, target = "/sample.txt", method = "GET"): string {
  return `${method} ${target} HTTP/1.1\r\n${lines}\r\n`;
}

const BAD_REQUESTS: [string, string][] = [
  ["a request line without version", "GET /\r\nHost: localhost\r\n\r\n"],
  ["a request line with two spaces", "GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a request line with a trailing space", "GET / HTTP/1.1 \r\nHost: localhost\r\n\r\n"],
  ["a request line with a leading space", " GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a request line with a tab", "GET\t/ HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a lowercase protocol name", "GET / http/1.1\r\nHost: localhost\r\n\r\n"],
  ["a malformed version", "GET / HTTP/11\r\nHost: localhost\r\n\r\n"],
  ["a method that is not a token", "G(T / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a method with a control character", "GE\x01T / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a method with a non-ASCII byte", "G\xc9T / HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["bare LF line ends", "GET / HTTP/1.1\nHost: localhost\n\n"],
  ["a bare LF after a header", "GET / HTTP/1.1\r\nHost: localhost\nX-A: b\r\n\r\n"],
  ["a bare LF ending the head", "GET / HTTP/1.1\r\nHost: localhost\r\n\n"],
  ["a bare CR in a header", "GET / HTTP/1.1\r\nHost: localhost\rX-A: b\r\n\r\n"],
  ["a bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["NUL in a header value", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\0b\r\n\r\n"],
  ["NUL in the request-target", "GET /a\0b HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["NUL in a header name", "GET / HTTP/1.1\r\nHost: localhost\r\nX-\0A: b\r\n\r\n"],
  ["BEL in a header value", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\x07b\r\n\r\n"],
  ["DEL in a header value", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\x7fb\r\n\r\n"],
  ["ESC in the request-target", "GET /a\x1bb HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["obs-fold with a space", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n"],
  ["obs-fold with a tab", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n\tb\r\n\r\n"],
  ["obs-fold on the first header", "GET / HTTP/1.1\r\n Host: localhost\r\n\r\n"],
  ["a space before the colon", "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n"],
  ["a tab before the colon", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A\t: b\r\n\r\n"],
  ["a header name with a parenthesis", "GET / HTTP/1.1\r\nHost: localhost\r\nX(A): b\r\n\r\n"],
  ["a header name with a non-ASCII byte", "GET / HTTP/1.1\r\nHost: localhost\r\nX\xe9: b\r\n\r\n"],
  ["an empty header name", "GET / HTTP/1.1\r\nHost: localhost\r\n: b\r\n\r\n"],
  ["a header line without colon", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A\r\n\r\n"],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n"],
  ["two different Host fields", "GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n"],
  ["an empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n"],
  ["a Host with userinfo", "GET / HTTP/1.1\r\nHost: user@localhost\r\n\r\n"],
  ["a Host with a space", "GET / HTTP/1.1\r\nHost: local host\r\n\r\n"],
  ["a Host with a path", "GET / HTTP/1.1\r\nHost: localhost/x\r\n\r\n"],
  ["a Host with a port over 65535", "GET / HTTP/1.1\r\nHost: localhost:99999\r\n\r\n"],
  ["a Host with a letter port", "GET / HTTP/1.1\r\nHost: localhost:ab\r\n\r\n"],
  ["asterisk-form with GET", "GET * HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["authority-form with GET", "GET localhost:80 HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a relative request-target", "GET sample.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["a fragment in the target", "GET /sample.txt#x HTTP/1.1\r\nHost: localhost\r\n\r\n"],
  ["absolute-form with userinfo", "GET http://u@localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n"],
];

const BAD_FRAMING: [string, string][] = [
  ["a letter Content-Length", "Content-Length: abc\r\n"],
  ["a negative Content-Length", "Content-Length: -1\r\n"],
  ["a signed Content-Length", "Content-Length: +5\r\n"],
  ["a hex Content-Length", "Content-Length: 0x5\r\n"],
  ["a fractional Content-Length", "Content-Length: 5.0\r\n"],
  ["an empty Content-Length", "Content-Length: \r\n"],
  ["a Content-Length list", "Content-Length: 5, 5\r\n"],
  ["a Content-Length with an inner space", "Content-Length: 5 5\r\n"],
  ["two equal Content-Length fields", "Content-Length: 5\r\nContent-Length: 5\r\n"],
  ["two different Content-Length fields", "Content-Length: 5\r\nContent-Length: 6\r\n"],
  ["Content-Length with Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"],
  ["Transfer-Encoding with Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"],
  [
    "Transfer-Encoding with Content-Length 0",
    "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
  ],
  ["chunked listed twice", "Transfer-Encoding: chunked, chunked\r\n"],
  ["chunked in two fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"],
  ["chunked not last", "Transfer-Encoding: chunked, gzip\r\n"],
  ["chunked then identity", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"],
  ["a quoted chunked", 'Transfer-Encoding: "chunked"\r\n'],
  ["an empty Transfer-Encoding", "Transfer-Encoding: \r\n"],
  ["a Transfer-Encoding with an empty element", "Transfer-Encoding: , chunked\r\n"],
  ["chunked with a vertical tab", "Transfer-Encoding: \x0bchunked\r\n"],
  ["a space before the Transfer-Encoding colon", "Transfer-Encoding : chunked\r\n"],
  ["a folded Transfer-Encoding", "X-A: b\r\n Transfer-Encoding: chunked\r\n"],
  ["a Transfer-Encoding folded onto its value", "Transfer-Encoding:\r\n chunked\r\n"],
];

const BAD_CHUNKS: [string, string][] = [
  ["a 0x chunk size", "0x5\r\nhello\r\n0\r\n\r\n"],
  ["a negative chunk size", "-5\r\nhello\r\n0\r\n\r\n"],
  ["a signed chunk size", "+5\r\nhello\r\n0\r\n\r\n"],
  ["a non-hex chunk size", "zz\r\nhello\r\n0\r\n\r\n"],
  ["an empty chunk size", "\r\nhello\r\n0\r\n\r\n"],
  ["a chunk size with a bare LF", "5\nhello\r\n0\r\n\r\n"],
  ["a chunk size with a bare CR", "5\rhello\r\n0\r\n\r\n"],
  ["a chunk size of 17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"],
  ["chunk data longer than its size", "3\r\nhello\r\n0\r\n\r\n"],
  ["chunk data without CRLF", "5\r\nhello0\r\n\r\n"],
  ["chunk data ended by a bare LF", "5\r\nhello\n0\r\n\r\n"],
  ["a trailer without colon", "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n"],
  ["a trailer with a bare LF", "5\r\nhello\r\n0\r\nX-A: b\n\r\n"],
  // What bastion once stored and llhttp refuses (SPEC §2, the chunk line by its grammar).
  ["a space after the chunk size", '7 \r\n{"a":1}\r\n0\r\n\r\n'],
  ["two spaces after the chunk size", '7  \r\n{"a":1}\r\n0\r\n\r\n'],
  ["a tab after the chunk size", '7\t\r\n{"a":1}\r\n0\r\n\r\n'],
  ["a space after the last chunk's size", '7\r\n{"a":1}\r\n0 \r\n\r\n'],
  ["an empty chunk extension", '7;\r\n{"a":1}\r\n0\r\n\r\n'],
  ["an unterminated quoted chunk extension", '7;a="b\r\n{"a":1}\r\n0\r\n\r\n'],
  ["a Content-Length trailer", '7\r\n{"a":1}\r\n0\r\nContent-Length: 99\r\n\r\n'],
  ["a Host trailer", '7\r\n{"a":1}\r\n0\r\nHost: evil.example\r\n\r\n'],
];

Deno.test("wire: requests bastion must reject", async (t) => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    for (const [name, raw] of BAD_REQUESTS) {
      await t.step(`server answers ${name} with 400 and closes`, async () => {
        await expectRejected(server, raw, 400);
      });
    }
    for (const [name, framing] of BAD_FRAMING) {
      await t.step(`server answers ${name} with 400 and closes`, async () => {
        await expectRejected(server, upload(framing, '{"a":1}'), 400);
      });
    }
    await t.step("server answers Transfer-Encoding in HTTP/1.0 with 400 and closes", async () => {
      await expectRejected(
        server,
        upload("Transfer-Encoding: chunked\r\n", "0\r\n\r\n", "HTTP/1.0"),
        400,
      );
    });
    for (const [name, body] of BAD_CHUNKS) {
      await t.step(`server answers ${name} with 400 and closes`, async () => {
        await expectRejected(server, upload("Transfer-Encoding: chunked\r\n", body), 400, true);
      });
    }
    await t.step("server answers a malformed chunk size on GET with 400 and closes", async () => {
      await expectRejected(
        server,
        head("Host: localhost\r\nTransfer-Encoding: chunked\r\n") +
          "zz\r\nhello\r\n0\r\n\r\n",
        400,
      );
    });
    const uploadErrors: [string, string, number][] = [
      ["a bad Content-Length", upload("Content-Length: 5, 5\r\n", "{}"), 400],
      [
        "Content-Length with Transfer-Encoding",
        upload("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", "{}"),
        400,
      ],
      ["Transfer-Encoding gzip", upload("Transfer-Encoding: gzip\r\n", "{}"), 501],
      ["a missing Host", "POST /upload HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400],
      ["an unsupported Expect", upload("Expect: 200-ok\r\nContent-Length: 2\r\n", "{}"), 417],
    ];
    for (const [name, raw, status] of uploadErrors) {
      await t.step(`server answers ${name} on /upload with a JSON ${status}`, async () => {
        await expectRejected(server, raw, status, true);
      });
    }
    await t.step("server answers a 4097-byte request-target with 414 and closes", async () => {
      await expectRejected(server, get("/" + "a".repeat(4096)), 414);
    });
    await t.step("server answers a 9000-byte request-target with 414, not 431", async () => {
      await expectRejected(server, get("/" + "a".repeat(9000)), 414);
    });
    await t.step("server answers a 4096-byte request-target normally", async () => {
      const target = "/sample.txt?" + "q".repeat(4096 - "/sample.txt?".length);
      await expectKeptAlive(server.port, get(target), 200);
    });
    await t.step("server answers a 4096-byte file name with 404, not an error", async () => {
      await expectKeptAlive(server.port, get("/" + "a".repeat(4095)), 404);
    });
    const padded = (size: number) => {
      const base = "GET /sample.txt HTTP/1.1\r\nHost: localhost\r\nX-Pad: \r\n\r\n";
      return base.replace("X-Pad: ", "X-Pad: " + "p".repeat(size - base.length));
    };
    await t.step("server accepts a head of exactly 8192 bytes", async () => {
      assertEquals(padded(8192).length, 8192);
      await expectKeptAlive(server.port, padded(8192), 200);
    });
    await t.step("server answers a head of 8193 bytes with 431 and closes", async () => {
      await expectRejected(server, padded(8193), 431);
    });
    await t.step("server answers a 20 KiB head with 431 and closes", async () => {
      await expectRejected(server, padded(20_000), 431);
    });
    const fields = (count: number) =>
      "Host: localhost\r\n" +
      Array.from({ length: count - 1 }, (_, i) => `X-F${i}: v\r\n`).join("");
    await t.step("server accepts 100 header fields, Host included", async () => {
      await expectKeptAlive(server.port, head(fields(100)), 200);
    });
    await t.step("server answers 101 header fields with 431 and closes", async () => {
      await expectRejected(server, head(fields(101)), 431);
    });
    await t.step("server answers an unknown method with 501 and closes", async () => {
      await expectRejected(server, get("/").replace("GET", "BREW"), 501);
    });
    await t.step("server answers a lowercase method with 501 and closes", async () => {
      await expectRejected(server, get("/").replace("GET", "get"), 501);
    });
    for (const coding of ["gzip", "gzip, chunked", "identity", "xchunked", "chunked;q=1"]) {
      const status = coding === "chunked;q=1" ? 400 : 501;
      await t.step(
        `server answers Transfer-Encoding ${coding} with ${status} and closes`,
        async () => {
          await expectRejected(
            server,
            upload(`Transfer-Encoding: ${coding}\r\n`, "0\r\n\r\n"),
            status,
          );
        },
      );
    }
    for (const version of ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"]) {
      await t.step(`server answers ${version} with 505 and closes`, async () => {
        await expectRejected(server, `GET / ${version}\r\nHost: localhost\r\n\r\n`, 505);
      });
    }
    await t.step("server answers a declared 1 MiB + 1 upload with 413 and closes", async () => {
      await expectRejected(server, upload(`Content-Length: ${MIB + 1}\r\n`, "{}"), 413, true);
    });
    await t.step("server answers a huge Content-Length with 413 and closes", async () => {
      await expectRejected(
        server,
        upload(`Content-Length: ${"9".repeat(30)}\r\n`, "{}"),
        413,
        true,
      );
    });
    await t.step("server stores an upload of exactly 1 MiB", async () => {
      const body = `"${"a".repeat(MIB - 2)}"`;
      const { client, response } = await open(server.port, post("/upload", JSON_HEAD, body));
      client.close();
      assertEquals(response.status, 201, response.text());
    });
    await t.step("server answers a chunked upload counted past 1 MiB with 413", async () => {
      const client = await RawClient.connect(server.port);
      try {
        const sending = client.send(
          upload("Transfer-Encoding: chunked\r\n", "") +
            `80000\r\n${"a".repeat(MIB / 2)}\r\n80000\r\n${"a".repeat(MIB / 2)}\r\n` +
            "1\r\na\r\n0\r\n\r\n" + SAMPLE,
        ).catch(() => {});
        const response = await client.response({ timeoutMs: 5000 });
        await sending;
        assertCommon(response);
        assertEquals(response.status, 413, response.head);
        assertEquals(response.header("connection"), "close");
        assertSafeError(response, server, true);
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("wire: smuggling attempts get one response and a closed connection", async (t) => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const cases: [string, string, number][] = [
      ["CL+TE", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", 400],
      ["TE+CL", "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n", 400],
      [
        "TE chunked + TE identity",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        400,
      ],
      [
        "TE identity + TE chunked",
        "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
        501,
      ],
      [
        "`Transfer-Encoding : chunked`",
        "Transfer-Encoding : chunked\r\nContent-Length: 6\r\n",
        400,
      ],
      ["`Transfer-Encoding: xchunked`", "Transfer-Encoding: xchunked\r\n", 501],
      ["`Transfer-Encoding: chunked, chunked`", "Transfer-Encoding: chunked, chunked\r\n", 400],
      [
        "a folded Transfer-Encoding",
        "Content-Length: 6\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n",
        400,
      ],
      [
        "a tab-prefixed Transfer-Encoding",
        "Content-Length: 6\r\n\tTransfer-Encoding: chunked\r\n",
        400,
      ],
      ["`Content-Length: 5, 5`", "Content-Length: 5, 5\r\n", 400],
      ["two Content-Lengths", "Content-Length: 5\r\nContent-Length: 50\r\n", 400],
      ["`Content-Length: 0x5`", "Content-Length: 0x5\r\n", 400],
      ["a Content-Length with NUL", "Content-Length: 5\0\r\n", 400],
      ["a Transfer-Encoding name with a bare CR", "Transfer-Encoding\r: chunked\r\n", 400],
      [
        "`Transfer_Encoding` next to Content-Length",
        "Content-Length: 5\r\nTransfer_Encoding: chunked\r\n",
        400,
      ],
      ["`Content_Length`", "Content_Length: 5\r\n", 400],
      ["`Transfer--Encoding`", "Transfer--Encoding: chunked\r\n", 400],
    ];
    for (const [name, framing, status] of cases) {
      await t.step(`server answers smuggling by ${name} with ${status} only`, async () => {
        await expectRejected(server, upload(framing, "0\r\n\r\n") + SAMPLE, status);
      });
    }
    for (const [name, body] of BAD_CHUNKS) {
      await t.step(`server answers smuggling by ${name} with 400 only`, async () => {
        await expectRejected(
          server,
          upload("Transfer-Encoding: chunked\r\n", body) + SAMPLE,
          400,
          true,
        );
      });
    }
    for (const method of ["GET", "HEAD", "OPTIONS", "DELETE"]) {
      for (const framing of ["Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"]) {
        await t.step(`server answers ${method} with ${framing.trim()} with 400 only`, async () => {
          const body = framing.startsWith("Content") ? "hello" : "5\r\nhello\r\n0\r\n\r\n";
          const raw = `${method} / HTTP/1.1\r\nHost: localhost\r\n${framing}\r\n${body}`;
          if (method !== "HEAD") return void await expectRejected(server, raw + SAMPLE, 400);
          // An answer to HEAD has no body, so no error text to look at.
          const { client, response } = await open(server.port, raw + SAMPLE, true);
          try {
            assertEquals([response.status, response.header("connection")], [400, "close"]);
            await assertClosedAfter(client);
          } finally {
            client.close();
          }
        });
      }
    }
    await t.step("server answers TE in HTTP/1.0 with 400 only", async () => {
      await expectRejected(
        server,
        upload("Transfer-Encoding: chunked\r\n", "0\r\n\r\n", "HTTP/1.0") + SAMPLE,
        400,
      );
    });
    await t.step("server answers a 0x chunk size on GET with 400 only", async () => {
      await expectRejected(
        server,
        head("Host: localhost\r\nTransfer-Encoding: chunked\r\n", "/") +
          "0x5\r\nhello\r\n0\r\n\r\n" +
          SAMPLE,
        400,
      );
    });
    await t.step("server answers an unsupported Expect with a body with 417 only", async () => {
      const raw = upload(`Expect: 200-ok\r\nContent-Length: ${SAMPLE.length}\r\n`, SAMPLE);
      await expectRejected(server, raw, 417);
    });
    await t.step(
      "server answers a body on GET with 400: the smuggled request is never read",
      async () => {
        const smuggled = get("/nope.html");
        await expectRejected(
          server,
          head(`Host: localhost\r\nContent-Length: ${smuggled.length}\r\n`) + smuggled + SAMPLE,
          400,
        );
      },
    );
    await t.step("server reads a chunked upload with extensions and trailers", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.send(
          upload("Transfer-Encoding: chunked\r\n", '4;ext=1\r\n{"a"\r\n3 ; x="y"\r\n:1}\r\n') +
            "0\r\nX-Trailer: yes\r\n\r\n" + SAMPLE,
        );
        const first = await client.response();
        assertCommon(first);
        assertEquals(first.status, 201, first.text());
        const stored = await Deno.readTextFile(server.root + first.header("location"));
        assertEquals(stored, '{"a":1}');
        const second = await client.response();
        assertEquals(second.status, 200);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("wire: methods, OPTIONS and errors that keep the connection", async (t) => {
  // The seed profile refuses .css with 415; the web profile serves it.
  await withBastion({
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "style.css": "body{}" },
  }, async (server) => {
    const { port } = server;
    for (const method of ["PUT", "DELETE", "PATCH", "TRACE"]) {
      await t.step(`server answers ${method} with 405, Allow GET, HEAD, OPTIONS`, async () => {
        const response = await expectKeptAlive(
          port,
          get("/sample.txt").replace("GET", method),
          405,
        );
        assertEquals(allowSet(response), ["GET", "HEAD", "OPTIONS"]);
        assertSafeError(response, server);
      });
      await t.step(`server answers ${method} /upload with 405, Allow POST, OPTIONS`, async () => {
        const response = await expectKeptAlive(port, get("/upload").replace("GET", method), 405);
        assertEquals(allowSet(response), ["OPTIONS", "POST"]);
        assertSafeError(response, server, true);
      });
    }
    for (const method of ["GET", "HEAD"]) {
      await t.step(`server answers ${method} /upload with 405, Allow POST, OPTIONS`, async () => {
        const client = await RawClient.connect(port);
        try {
          await client.send(get("/upload").replace("GET", method) + SAMPLE);
          const response = await client.response({ head: method === "HEAD" });
          assertCommon(response);
          assertEquals(response.status, 405);
          assertEquals(allowSet(response), ["OPTIONS", "POST"]);
          if (method === "GET") assertSafeError(response, server, true);
          assertEquals((await client.response()).status, 200, "HEAD got an error body");
        } finally {
          client.close();
        }
      });
    }
    await t.step("server answers CONNECT with 405 and Allow", async () => {
      const response = await expectKeptAlive(
        port,
        "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        405,
      );
      assertTrue(allowSet(response).length > 0);
    });
    await t.step("server answers POST to a file with 405 and reads its body", async () => {
      const response = await expectKeptAlive(port, post("/index.html", JSON_HEAD, "{}"), 405);
      assertEquals(allowSet(response), ["GET", "HEAD", "OPTIONS"]);
    });
    await t.step("server answers OPTIONS / with 204 and Allow", async () => {
      const response = await expectKeptAlive(port, get("/").replace("GET", "OPTIONS"), 204);
      assertEquals(allowSet(response), ["GET", "HEAD", "OPTIONS"]);
      assertEquals(response.body.length, 0);
    });
    await t.step("server answers OPTIONS /upload with 204 and Allow POST, OPTIONS", async () => {
      const response = await expectKeptAlive(port, get("/upload").replace("GET", "OPTIONS"), 204);
      assertEquals(allowSet(response), ["OPTIONS", "POST"]);
    });
    await t.step("server answers OPTIONS * with 204 and all four methods", async () => {
      const response = await expectKeptAlive(port, get("*").replace("GET", "OPTIONS"), 204);
      assertEquals(allowSet(response), ["GET", "HEAD", "OPTIONS", "POST"]);
    });
    await t.step("server keeps the connection after 404", async () => {
      assertSafeError(await expectKeptAlive(port, get("/nope.html"), 404), server);
    });
    await t.step("server keeps the connection after 403 for traversal", async () => {
      assertSafeError(await expectKeptAlive(port, get("/..%2f..%2fetc%2fpasswd"), 403), server);
    });
    await t.step("server keeps the connection after 403 for a forged Host", async () => {
      const response = await expectKeptAlive(port, head("Host: evil.example\r\n"), 403);
      assertSafeError(response, server);
    });
    await t.step("server keeps the connection after 415 for a file type", async () => {
      assertSafeError(await expectKeptAlive(port, get("/style.css"), 415), server);
    });
    await t.step("server keeps the connection after 415 for an upload type", async () => {
      const response = await expectKeptAlive(
        port,
        post("/upload", "Content-Type: text/plain\r\n", "{}"),
        415,
      );
      assertSafeError(response, server, true);
    });
    await t.step("server answers HEAD with GET's Content-Length and no body", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(get("/sample.txt").replace("GET", "HEAD") + SAMPLE);
        const headResponse = await client.response({ head: true });
        const getResponse = await client.response();
        assertCommon(headResponse);
        assertEquals(headResponse.status, 200);
        assertEquals(getResponse.status, 200);
        assertEquals(headResponse.header("content-length"), getResponse.header("content-length"));
        assertEquals(Number(getResponse.header("content-length")), getResponse.body.length);
        const sample = await Deno.readFile(`${server.root}/sample.txt`);
        assertEquals(getResponse.body, sample);
        assertEquals(await client.closed(300), false);
        assertEquals(client.pending.length, 0, "HEAD sent a body");
      } finally {
        client.close();
      }
    });
    await t.step("server answers HEAD / with index.html's length", async () => {
      const { client, response } = await open(port, get("/").replace("GET", "HEAD"), true);
      client.close();
      const index = await Deno.readFile(`${server.root}/index.html`);
      assertEquals(response.header("content-length"), String(index.length));
    });
  });
});

Deno.test("wire: connection persistence, pipelining and request ids", async (t) => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const { port } = server;
    await t.step("server answers pipelined requests in order", async () => {
      const client = await RawClient.connect(port);
      try {
        const paths = ["/sample.txt", "/nope.html", "/index.html", "/about.html", "/x/../"];
        await client.send(
          paths.map((path, i) => get(path, `X-Request-Id: req-${i}\r\n`)).join(""),
        );
        const statuses: number[] = [];
        for (let i = 0; i < paths.length; i++) {
          const response = await client.response();
          assertCommon(response, `req-${i}`);
          statuses.push(response.status);
        }
        assertEquals(statuses, [200, 404, 200, 200, 403]);
      } finally {
        client.close();
      }
    });
    await t.step("server answers pipelined requests sent byte by byte", async () => {
      const client = await RawClient.connect(port);
      try {
        const bytes = new TextEncoder().encode(SAMPLE + get("/index.html"));
        for (let i = 0; i < bytes.length; i += 7) await client.send(bytes.subarray(i, i + 7));
        assertEquals((await client.response()).status, 200);
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server accepts a head split inside its line ends", async () => {
      const client = await RawClient.connect(port);
      try {
        const pieces = ["GET /sample.txt HTTP/1.1\r", "\nHost: localhost\r", "\n\r", "\n"];
        for (const piece of pieces) {
          await client.send(piece);
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server ignores requests pipelined after Connection: close", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(SAMPLE + get("/index.html", "Connection: close\r\n") + SAMPLE);
        assertEquals((await client.response()).status, 200);
        const last = await client.response();
        assertEquals(last.header("connection"), "close");
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
    await t.step("server skips empty lines before a request line", async () => {
      const { client, response } = await open(port, "\r\n\r\n" + SAMPLE);
      client.close();
      assertEquals(response.status, 200);
    });
    await t.step("server keeps an HTTP/1.1 connection for many requests", async () => {
      const client = await RawClient.connect(port);
      try {
        for (let i = 0; i < 5; i++) {
          await client.send(SAMPLE);
          const response = await client.response();
          assertEquals(response.status, 200);
          assertEquals(response.header("connection"), undefined);
        }
      } finally {
        client.close();
      }
    });
    await t.step("server closes after Connection: close", async () => {
      const { client, response } = await open(port, get("/sample.txt", "Connection: close\r\n"));
      try {
        assertEquals(response.status, 200);
        assertEquals(response.header("connection"), "close");
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
    await t.step("server closes HTTP/1.0 without keep-alive and needs no Host", async () => {
      const { client, response } = await open(port, "GET /sample.txt HTTP/1.0\r\n\r\n");
      try {
        assertEquals(response.status, 200);
        assertEquals(response.header("connection"), "close");
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
    await t.step("server keeps HTTP/1.0 with Connection: keep-alive", async () => {
      const raw = "GET /sample.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
      const { client, response } = await open(port, raw);
      try {
        assertEquals(response.status, 200);
        assertEquals(response.header("connection")?.toLowerCase(), "keep-alive");
        await client.send(raw);
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server closes the connection after the 100th response", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(Array.from({ length: 101 }, () => SAMPLE).join(""));
        for (let i = 1; i <= 100; i++) {
          const response = await client.response();
          assertEquals(response.status, 200);
          assertEquals(response.header("connection"), i === 100 ? "close" : undefined, `#${i}`);
        }
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
    await t.step("server echoes a valid X-Request-Id", async () => {
      for (const id of ["abc", "A.b_c-1", "x".repeat(64)]) {
        const { client, response } = await open(
          port,
          get("/sample.txt", `X-Request-Id: ${id}\r\n`),
        );
        client.close();
        assertCommon(response, id);
      }
    });
    await t.step("server replaces an invalid X-Request-Id with a fresh one", async () => {
      const seen = new Set<string>();
      for (const id of ["x".repeat(65), "a b", "a/b", "a;b", "é"]) {
        const raw = get("/sample.txt", `X-Request-Id: ${id}\r\n`);
        const { client, response } = await open(port, raw);
        client.close();
        const fresh = response.header("x-request-id")!;
        assertNotMatch(fresh, /[ /;]/);
        assertTrue(fresh !== id && !seen.has(fresh), `reused request id ${fresh}`);
        seen.add(fresh);
      }
    });
    await t.step("server echoes the client's X-Request-Id on an error", async () => {
      const raw = "GET / HTTP/1.1\r\nX-Request-Id: err-1\r\n\r\n";
      assertCommon(await expectRejected(server, raw, 400), "err-1");
    });
  });
});

Deno.test("wire: Host allow-list and absolute-form", async (t) => {
  await withBastion({
    args: [
      ...NO_LIMITS,
      "--profile", // sample.txt is an octet-stream download there
      "seed",
      "--allowed-host",
      "example.com",
      "--allowed-host",
      "*.Example.org",
      "--max-requests-per-connection",
      "3",
    ],
  }, async (server) => {
    const { port } = server;
    const otherPort = port === 65535 ? 1 : port + 1;
    const statusFor = async (host: string) => {
      const { client, response } = await open(port, head(`Host: ${host}\r\n`));
      client.close();
      return response.status;
    };
    const cases: [string, number][] = [
      ["localhost", 200],
      [`localhost:${port}`, 200],
      [`LocalHost:${port}`, 200],
      ["127.0.0.1", 200],
      [`127.0.0.1:${port}`, 200],
      [`[::1]:${port}`, 200],
      ["example.com", 200],
      [`EXAMPLE.com:${port}`, 200],
      ["a.example.org", 200],
      [`A.B.example.ORG:${port}`, 200],
      ["evil.example", 403],
      [`localhost:${otherPort}`, 403],
      [`127.0.0.1:${otherPort}`, 403],
      ["localhost.evil.example", 403],
      [`example.com:${otherPort}`, 403],
      ["www.example.com", 403],
      ["example.org", 403],
      ["evilexample.org", 403],
      ["example.org.evil.example", 403],
      [`a.example.org:${otherPort}`, 403],
      ["10.0.0.1", 403],
      ["[::2]", 403],
    ];
    for (const [host, status] of cases) {
      await t.step(`server answers Host ${host} with ${status}`, async () => {
        assertEquals(await statusFor(host), status);
      });
    }
    await t.step("server answers a forged Host with 403 and keeps the connection", async () => {
      const response = await expectKeptAlive(port, head("Host: evil.example\r\n"), 403);
      assertSafeError(response, server);
    });
    await t.step("server serves absolute-form with a good authority", async () => {
      const raw =
        `GET http://localhost:${port}/sample.txt HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`;
      const response = await expectKeptAlive(port, raw, 200);
      assertEquals(response.header("content-type"), "application/octet-stream");
    });
    await t.step("server answers a forged authority with 403 despite a good Host", async () => {
      const raw = `GET http://evil.example/sample.txt HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`;
      await expectKeptAlive(port, raw, 403);
    });
    await t.step("server validates absolute-form's authority instead of Host", async () => {
      const raw = `GET http://localhost:${port}/sample.txt HTTP/1.1\r\nHost: evil.example\r\n\r\n`;
      await expectKeptAlive(port, raw, 200);
    });
    await t.step("server answers an absolute-form wrong port with 403", async () => {
      const raw = `GET http://localhost:${otherPort}/ HTTP/1.1\r\nHost: localhost\r\n\r\n`;
      await expectKeptAlive(port, raw, 403);
    });
    await t.step("server still requires Host with absolute-form in HTTP/1.1", async () => {
      await expectRejected(server, `GET http://localhost:${port}/ HTTP/1.1\r\n\r\n`, 400);
    });
    await t.step("server answers the 3rd request of 3 with Connection: close", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(SAMPLE + SAMPLE + SAMPLE + SAMPLE);
        const connections: (string | undefined)[] = [];
        for (let i = 0; i < 3; i++) {
          const response = await client.response();
          assertEquals(response.status, 200);
          connections.push(response.header("connection"));
        }
        assertEquals(connections, [undefined, undefined, "close"]);
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("wire: Expect: 100-continue", async (t) => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const { port } = server;
    const expectHead = (type: string, length: number, path = "/upload", host = "localhost") =>
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${type}\r\n` +
      `Content-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
    const refused = async (raw: string, status: number, json: boolean) => {
      const client = await RawClient.connect(port);
      try {
        await client.send(raw);
        const response = await client.response({ timeoutMs: 5000 });
        assertCommon(response);
        assertEquals(response.status, status, "100 Continue sent before a refusal");
        assertEquals(response.header("connection"), "close");
        assertSafeError(response, server, json);
        await assertClosedAfter(client);
      } finally {
        client.close();
      }
    };
    await t.step("server sends 100 Continue before the body, then 201", async () => {
      const client = await RawClient.connect(port);
      try {
        const body = '{"hello":"world"}';
        await client.send(expectHead("application/json", body.length));
        const interim = await client.response({ timeoutMs: 5000 });
        assertCommon(interim);
        assertEquals(interim.status, 100);
        assertEquals(interim.body.length, 0);
        assertEquals(client.pending.length, 0, "bytes after 100 Continue");
        await client.send(body);
        const final = await client.response({ timeoutMs: 5000 });
        assertCommon(final);
        assertEquals(final.status, 201, final.text());
        const json = JSON.parse(final.text());
        assertEquals(json.status, "success");
        assertEquals(final.header("location"), json.filepath);
        await client.send(SAMPLE);
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server answers a body sent without waiting with 100, then 201", async () => {
      const client = await RawClient.connect(port);
      try {
        await client.send(expectHead("application/json", 2) + "{}" + SAMPLE);
        assertEquals((await client.response()).status, 100);
        const final = await client.response();
        assertEquals(final.status, 201, final.text());
        assertEquals((await client.response()).status, 200);
      } finally {
        client.close();
      }
    });
    await t.step("server answers a wrong Content-Type with 415 without 100", async () => {
      await refused(expectHead("text/plain", 10), 415, true);
    });
    await t.step("server answers a too large Content-Length with 413 without 100", async () => {
      await refused(expectHead("application/json", 2 * MIB), 413, true);
    });
    await t.step("server answers POST to a file with 405 without 100", async () => {
      await refused(expectHead("application/json", 10, "/index.html"), 405, false);
    });
    await t.step("server answers a forged Host with 403 without 100", async () => {
      await refused(expectHead("application/json", 10, "/upload", "evil.example"), 403, true);
    });
    await t.step("server answers an unknown expectation with 417", async () => {
      const { client, response } = await open(port, head("Host: localhost\r\nExpect: 200-ok\r\n"));
      client.close();
      assertEquals(response.status, 417);
      assertSafeError(response, server);
    });
  });
});

Deno.test("wire: access log lines and security events", async (t) => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const accessLine = (requestLine: string, status: number, bytes: string, rid: string) =>
      new RegExp(
        `^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z INFO w\\d+#c\\d+ 127\\.0\\.0\\.1 ` +
          `"${escape(requestLine)}" ${status} ${bytes} \\d+(\\.\\d+)?ms rid=${escape(rid)}$`,
        "m",
      );
    await t.step("server logs one access line per request with body bytes", async () => {
      const sample = await Deno.readFile(`${server.root}/sample.txt`);
      const { client } = await open(server.port, get("/sample.txt", "X-Request-Id: log-1\r\n"));
      client.close();
      await server.waitForLog(
        accessLine("GET /sample.txt HTTP/1.1", 200, String(sample.length), "log-1"),
        5000,
      );
    });
    const events: [string, string, number, string][] = [
      ["parse", "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n", 400, "-"],
      ["parse", "GET / HTTP/1.1\r\n\r\n", 400, "GET / HTTP/1.1"],
      ["limit", get("/" + "a".repeat(5000)), 414, "-"],
      ["limit", head("Host: localhost\r\nX-Pad: " + "p".repeat(9000) + "\r\n"), 431, "-"],
      ["limit", upload(`Content-Length: ${2 * MIB}\r\n`, ""), 413, "POST /upload HTTP/1.1"],
      ["host", head("Host: evil.example\r\n"), 403, "GET /sample.txt HTTP/1.1"],
      ["traversal", get("/a/../../etc/passwd"), 403, "GET /a/../../etc/passwd HTTP/1.1"],
    ];
    for (const [reason, raw, status, requestLine] of events) {
      await t.step(`server logs ${status} as a security event with reason ${reason}`, async () => {
        const { client, response } = await open(server.port, raw);
        client.close();
        assertEquals(response.status, status);
        const rid = response.header("x-request-id")!;
        await server.waitForLog(accessLine(requestLine, status, "\\d+", rid), 5000);
        await server.waitForLog(
          new RegExp(
            `^\\S+ WARN w\\d+ security reason=${reason} .*status=${status} .*rid=${rid}$`,
            "m",
          ),
          5000,
        );
      });
    }
    await t.step("server logs no security event for 404", async () => {
      const { client, response } = await open(server.port, get("/nope.html"));
      client.close();
      const rid = response.header("x-request-id")!;
      await server.waitForLog(accessLine("GET /nope.html HTTP/1.1", 404, "\\d+", rid), 5000);
      assertNotMatch(server.stdout(), new RegExp(`security .*rid=${rid}`));
    });
  });
});

Deno.test("wire: --header adds and replaces headers on every response", async (t) => {
  await withBastion({
    args: [...NO_LIMITS, "--header", "X-Frame-Options: SAMEORIGIN", "--header", "X-Extra: yes"],
  }, async (server) => {
    const cases: [string, string, number][] = [
      ["a file", SAMPLE, 200],
      ["a 404", get("/nope.html"), 404],
      ["a 400", "GET / HTTP/1.1\r\n\r\n", 400],
      ["a 431", head(`Host: localhost\r\nX-Pad: ${"p".repeat(9000)}\r\n`), 431],
    ];
    for (const [name, raw, status] of cases) {
      await t.step(`server sends --header values on ${name}`, async () => {
        const client = await RawClient.connect(server.port);
        try {
          await client.send(raw);
          const response = await client.response();
          assertEquals(response.status, status);
          const values = (name: string) =>
            response.headers.filter(([key]) => key === name).map(([, value]) => value);
          assertEquals(values("x-frame-options"), ["SAMEORIGIN"]);
          assertEquals(values("x-extra"), ["yes"]);
          assertEquals(values("x-content-type-options"), ["nosniff"]);
          assertEquals(values("server"), ["bastion"]);
        } finally {
          client.close();
        }
      });
    }
  });
});
