/**
 * Integration tests for `POST /upload` (SPEC §4): the 201 answer, byte-exact
 * atomic storage, Content-Type and body validation, size limits, concurrency
 * and the start-up sweep of stale temporary files.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch, assertNotEquals, assertTrue } from "./_assert.ts";
import {
  BANNER,
  type Bastion,
  concat,
  get,
  makeRoot,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  roundTrip,
  spawnBastion,
  withBastion,
} from "./_harness.ts";

const NAME = /^upload_(\d{8})_(\d{6})_[0-9a-f]{12}\.json$/;
const TEMP = /^\.upload-.*\.tmp$/;
const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** A POST /upload with a Content-Length body; `type: null` sends no Content-Type. */
function upload(
  body: string | Uint8Array,
  type: string | null = "application/json",
  extra = "",
): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const typeLine = type === null ? "" : `Content-Type: ${type}\r\n`;
  return concat(
    `POST /upload HTTP/1.1\r\nHost: localhost\r\n${typeLine}Content-Length: ${bytes.length}\r\n${extra}\r\n`,
    bytes,
  );
}

async function post(server: Bastion, body: string | Uint8Array, type?: string | null) {
  return await roundTrip(server.port, upload(body, type));
}

/** Checks a 201 answer and returns the stored file's name. */
function createdName(response: RawResponse, label = ""): string {
  assertEquals(response.status, 201, `${label} ${response.text()}`);
  const location = response.header("location") ?? "";
  assertMatch(location, /^\/uploads\/upload_\d{8}_\d{6}_[0-9a-f]{12}\.json$/);
  const name = location.slice("/uploads/".length);
  assertEquals(
    response.text(),
    `{"status":"success","message":"File created successfully","filepath":"/uploads/${name}"}`,
  );
  assertMatch(response.header("content-type") ?? "", /^application\/json\b/);
  return name;
}

async function assertStored(server: Bastion, name: string, sent: string | Uint8Array) {
  const expected = typeof sent === "string" ? encoder.encode(sent) : sent;
  assertEquals(await Deno.readFile(join(server.uploads, name)), expected, name);
}

/** Checks an error answer to /upload: the status and a JSON body. */
function assertJsonError(response: RawResponse, status: number, label: string) {
  assertEquals(response.status, status, `${label}: ${response.text()}`);
  assertMatch(response.header("content-type") ?? "", /^application\/json\b/, label);
  const parsed = JSON.parse(response.text());
  assertEquals(typeof parsed, "object", label);
}

async function tempFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (TEMP.test(entry.name)) names.push(entry.name);
  return names;
}

Deno.test("POST /upload answers 201 with Location and the exact JSON body, and stores the bytes unchanged with mode 0640", async () => {
  await withBastion(async (server) => {
    const before = Date.now();
    const body = '  {"café": "☕", "list" : [ 1 , 2.50, null ],\n "nested": {"a": {}}}\n';
    const name = createdName(await post(server, body));
    const after = Date.now();
    await assertStored(server, name, body);
    const info = await Deno.stat(join(server.uploads, name));
    assertEquals(info.mode! & 0o777, 0o640);

    const [, day, time] = NAME.exec(name)!;
    const stamp = Date.UTC(
      Number(day.slice(0, 4)),
      Number(day.slice(4, 6)) - 1,
      Number(day.slice(6, 8)),
      Number(time.slice(0, 2)),
      Number(time.slice(2, 4)),
      Number(time.slice(4, 6)),
    );
    assertTrue(stamp >= Math.floor(before / 1000) * 1000 && stamp <= after, `UTC stamp of ${name}`);

    const scalar = createdName(await post(server, "42"));
    await assertStored(server, scalar, "42");
    assertNotEquals(scalar, name);
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("POST /upload stores a chunked body sent in several pieces byte-for-byte", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      const pieces = ['{"parts": [', '"one", ', '"two", ', '"three"', "]}"];
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n",
      );
      for (const [index, piece] of pieces.entries()) {
        const size = encoder.encode(piece).length.toString(16);
        // Split some chunk-size lines across writes, and add a chunk extension once.
        if (index === 1) {
          await client.send(size);
          await client.send(`;note=x\r\n${piece}\r\n`);
        } else {
          await client.send(`${size}\r\n${piece}\r\n`);
        }
      }
      await client.send("0\r\n\r\n");
      const name = createdName(await client.response());
      await assertStored(server, name, pieces.join(""));

      // A large chunked body, many chunks, on the same keep-alive connection.
      const big = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => `item-${i}`) });
      const bytes = encoder.encode(big);
      let framed = "";
      for (let offset = 0; offset < big.length; offset += 4000) {
        const piece = big.slice(offset, offset + 4000);
        framed += `${piece.length.toString(16)}\r\n${piece}\r\n`;
      }
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          `Transfer-Encoding: chunked\r\n\r\n${framed}0\r\n\r\n`,
      );
      const bigName = createdName(await client.response());
      await assertStored(server, bigName, bytes);
    } finally {
      client.close();
    }
  });
});

Deno.test("POST /upload accepts application/json with an optional utf-8 charset and refuses other types with 415 JSON", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const accepted = [
      "application/json",
      "Application/JSON; charset=UTF-8",
      'application/json;charset="utf-8"',
      "application/json ; charset = utf-8",
      "APPLICATION/JSON;CHARSET=utf-8",
    ];
    for (const type of accepted) {
      const body = JSON.stringify({ type });
      await assertStored(server, createdName(await post(server, body, type)), body);
    }
    const refused: (string | null)[] = [
      "text/plain",
      "application/json; charset=latin1",
      "application/json; charset=utf-16",
      "application/jsonx",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
      null,
    ];
    for (const type of refused) {
      assertJsonError(await post(server, '{"a":1}', type), 415, `Content-Type ${type}`);
    }
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("a refused upload keeps the connection usable once its body is read", async () => {
  await withBastion(async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await client.send(upload('{"a":1}', "text/plain"));
      assertJsonError(await client.response(), 415, "text/plain");
      await client.send(upload('{"b":2}'));
      await assertStored(server, createdName(await client.response()), '{"b":2}');
    } finally {
      client.close();
    }
  });
});

function nested(depth: number, open = "[", close = "]", inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
}

Deno.test("POST /upload refuses empty, invalid JSON, invalid UTF-8 and over-deep bodies with 400 JSON, accepts depth 64", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const valid: [string, string][] = [
      ["depth 64 arrays", nested(64)],
      ["depth 64 objects", nestedObjects(64)],
      ["brackets inside strings do not count", `[${JSON.stringify("[".repeat(100))}]`],
      ["escaped quote inside a string", `["\\"[[[[", ${nested(62)}]`],
    ];
    for (const [label, body] of valid) {
      await assertStored(server, createdName(await post(server, body), label), body);
    }
    const invalid: [string, string | Uint8Array][] = [
      ["empty body", ""],
      ["invalid JSON", '{"a":}'],
      ["trailing garbage", "{} x"],
      ["two documents", "{}{}"],
      ["single quotes", "{'a':1}"],
      ["only whitespace", "  \n"],
      ["unterminated", '{"a": [1, 2'],
      ["invalid UTF-8", concat('{"a":"', new Uint8Array([0xff, 0xfe]), '"}')],
      ["overlong UTF-8", concat('{"a":"', new Uint8Array([0xc0, 0xae]), '"}')],
      ["truncated UTF-8", concat('{"a":"', new Uint8Array([0xe2, 0x82]), '"}')],
      ["UTF-16 surrogate in UTF-8", concat('{"a":"', new Uint8Array([0xed, 0xa0, 0x80]), '"}')],
      ["depth 65 arrays", nested(65)],
      ["depth 65 objects", nestedObjects(65)],
      ["depth 65 mixed", "[".repeat(32) + nestedObjects(33) + "]".repeat(32)],
    ];
    for (const [label, body] of invalid) {
      assertJsonError(await post(server, body), 400, label);
    }
    const noBody = await roundTrip(
      server.port,
      "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n",
    );
    assertJsonError(noBody, 400, "no body at all");
    const emptyChunked = await roundTrip(
      server.port,
      "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assertJsonError(emptyChunked, 400, "empty chunked body");

    const stored = [];
    for await (const entry of Deno.readDir(server.uploads)) {
      if (NAME.test(entry.name)) stored.push(entry.name);
    }
    assertEquals(stored.length, valid.length, "only valid documents are stored");
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("a 1 MiB body of [[[[ is a 400 and the server stays up", async () => {
  await withBastion(async (server) => {
    const brackets = "[".repeat(MIB);
    assertJsonError(await post(server, brackets), 400, "1 MiB of [");
    const braces = '{"a":'.repeat(Math.floor(MIB / 5));
    assertJsonError(await post(server, braces), 400, '1 MiB of {"a":');
    const alive = await roundTrip(server.port, get("/"));
    assertEquals(alive.status, 200);
    const after = createdName(await post(server, "[1]"));
    await assertStored(server, after, "[1]");
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("POST /upload takes exactly 1 MiB and refuses a larger body with 413 JSON, declared or chunked", async () => {
  await withBastion(async (server) => {
    // Exactly the limit: a JSON string padded to 1 MiB.
    const exact = `"${"x".repeat(MIB - 2)}"`;
    await assertStored(server, createdName(await post(server, exact)), exact);

    // Declared too large: the answer comes without the body being sent.
    const declared = await roundTrip(
      server.port,
      `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${MIB + 1}\r\n\r\n`,
    );
    assertJsonError(declared, 413, "declared 1 MiB + 1");
    assertEquals(declared.header("connection"), "close");

    // Chunked: the limit is crossed only by the very last byte.
    const client = await RawClient.connect(server.port);
    try {
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n",
      );
      const piece = "x".repeat(64 * 1024);
      for (let i = 0; i < 16; i++) {
        await client.send(`${piece.length.toString(16)}\r\n${piece}\r\n`);
      }
      await client.send("1\r\nx\r\n");
      const chunked = await client.response();
      assertJsonError(chunked, 413, "chunked 1 MiB + 1");
      assertEquals(chunked.header("connection"), "close");
    } finally {
      client.close();
    }
    assertEquals((await roundTrip(server.port, get("/"))).status, 200);
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("/upload answers other methods with 405 Allow: POST, OPTIONS; POST elsewhere is 405 Allow: GET, HEAD, OPTIONS", async () => {
  await withBastion(async (server) => {
    for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH"]) {
      const response = await roundTrip(
        server.port,
        `${method} /upload HTTP/1.1\r\nHost: localhost\r\n\r\n`,
        { head: method === "HEAD" },
      );
      assertEquals(response.status, 405, method);
      assertEquals(response.header("allow"), "POST, OPTIONS", method);
      assertMatch(response.header("content-type") ?? "", /^application\/json\b/, method);
      if (method !== "HEAD") JSON.parse(response.text());
    }
    const options = await roundTrip(
      server.port,
      "OPTIONS /upload HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assertEquals(options.status, 204);
    assertEquals(options.header("allow"), "POST, OPTIONS");
    for (const path of ["/", "/index.html", "/uploads", "/upload/", "/upload.json"]) {
      const response = await roundTrip(
        server.port,
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      );
      assertEquals(response.status, 405, path);
      assertEquals(response.header("allow"), "GET, HEAD, OPTIONS", path);
    }
  });
});

Deno.test("errors to /upload are JSON also when the request's framing or Expect is refused", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const head = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    const cases: [string, string, number][] = [
      ["Content-Length not a number", "Content-Length: 1x\r\n", 400],
      ["two Content-Length values", "Content-Length: 2\r\nContent-Length: 3\r\n", 400],
      ["Content-Length and chunked", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", 400],
      ["gzip transfer coding", "Transfer-Encoding: gzip\r\n", 501],
      ["unknown expectation", "Expect: magic\r\nContent-Length: 2\r\n", 417],
      ["forged Host", "Host: evil.example\r\nContent-Length: 2\r\n", 403],
    ];
    const failures: string[] = [];
    for (const [label, extra, status] of cases) {
      const request = label === "forged Host"
        ? `POST /upload HTTP/1.1\r\n${extra}Content-Type: application/json\r\n\r\n{}`
        : `${head}${extra}\r\n{}`;
      const response = await roundTrip(server.port, request);
      if (response.status !== status) failures.push(`${label}: status ${response.status}`);
      const type = response.header("content-type") ?? "";
      if (!/^application\/json\b/.test(type)) failures.push(`${label}: ${status} as ${type}`);
    }
    assertEquals(failures, []);
  });
});

Deno.test("an upload with two Content-Type fields is refused, not judged by the first", async () => {
  await withBastion(async (server) => {
    const response = await roundTrip(
      server.port,
      "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
    );
    assertTrue([400, 415].includes(response.status), `status ${response.status}`);
    let stored = 0;
    for await (const entry of Deno.readDir(server.uploads)) if (NAME.test(entry.name)) stored++;
    assertEquals(stored, 0);
  });
});

Deno.test("Expect: 100-continue on /upload sends 100 only when the type and size pass", async () => {
  await withBastion(async (server) => {
    const expectHead = (type: string, length: number) =>
      `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\n` +
      `Expect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;
    for (
      const [type, length, status] of [["text/plain", 2, 415], [
        "application/json",
        2 * MIB,
        413,
      ]] as const
    ) {
      const client = await RawClient.connect(server.port);
      try {
        await client.send(expectHead(type, length));
        const refused = await client.response();
        assertJsonError(refused, status, `${type} ${length}`);
        assertEquals(refused.header("connection"), "close");
        assertEquals(await client.closed(), true);
      } finally {
        client.close();
      }
    }
    const client = await RawClient.connect(server.port);
    try {
      await client.send(expectHead("application/json", 7));
      assertEquals((await client.response()).status, 100);
      await client.send('{"a":1}');
      await assertStored(server, createdName(await client.response()), '{"a":1}');
    } finally {
      client.close();
    }
  });
});

Deno.test("100 concurrent uploads all get 201, distinct names and byte-identical stored files", async () => {
  await withBastion(async (server) => {
    const bodies = Array.from(
      { length: 100 },
      (_, i) => JSON.stringify({ upload: i, padding: "p".repeat(i * 97), nested: [[i], { i }] }),
    );
    const responses = await Promise.all(bodies.map((body) => post(server, body)));
    const names = responses.map((response, i) => createdName(response, `upload ${i}`));
    assertEquals(new Set(names).size, bodies.length);
    for (const [i, name] of names.entries()) await assertStored(server, name, bodies[i]);
    let stored = 0;
    for await (const entry of Deno.readDir(server.uploads)) if (NAME.test(entry.name)) stored++;
    assertEquals(stored, bodies.length);
    assertEquals(await tempFiles(server.uploads), []);
  });
});

Deno.test("start-up removes .upload-<hex>.tmp files over an hour old and keeps younger ones and everything else", async () => {
  const { base, root, uploads } = await makeRoot();
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  const files = {
    stale: ".upload-0123456789abcdef.tmp",
    fresh: ".upload-fedcba9876543210.tmp",
    otherName: ".upload-old.tmp",
    stored: "upload_20200101_000000_0123456789ab.json",
    unrelated: "notes.tmp",
  };
  for (const name of Object.values(files)) {
    await Deno.writeTextFile(join(uploads, name), "{}");
    if (name !== files.fresh) await Deno.utime(join(uploads, name), twoHoursAgo, twoHoursAgo);
  }
  const process = spawnBastion(
    ["--allow-net", `--allow-read=${root}`, `--allow-write=${uploads}`],
    ["--root", root, "--port", "0"],
  );
  try {
    await process.waitForLog(BANNER);
    const left = new Set<string>();
    for await (const entry of Deno.readDir(uploads)) left.add(entry.name);
    assertEquals(left.has(files.stale), false, "the stale temporary is removed");
    assertEquals(left.has(files.fresh), true, "a younger temporary may still be written");
    assertEquals(left.has(files.otherName), true, "names not of the form .upload-<hex>.tmp stay");
    assertEquals(left.has(files.stored), true, "stored uploads are never swept");
    assertEquals(left.has(files.unrelated), true);
  } finally {
    await process.stop();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});
