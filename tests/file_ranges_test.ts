/**
 * Integration tests for byte ranges (SPEC §3 "Ranges"): 206 with
 * Content-Range for `a-b`, `a-` and `-n`, 416 for unsatisfiable ranges,
 * `multipart/byteranges` for several ranges, If-Range (strong tags, exact
 * dates), identity bytes on range requests for compressible files, and a
 * range of a 1 GiB sparse file served without reading the rest of it.
 * Checked over raw sockets and with Deno's fetch as a strict HTTP client.
 * @module
 */

import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import {
  type Bastion,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  roundTrip,
  withBastion,
} from "./_harness.ts";

const MTIME = Date.UTC(2023, 10, 14, 22, 13, 20, 123);
const LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT";
/** Small enough for an in-memory fast path, if the server has one. */
const SMALL = 10_000;
/** Larger than any in-memory fast path: always streamed from the file. */
const LARGE = 300_000;
const PAGE = "<!doctype html><title>ranged page</title>\n" +
  "<p>compressible line</p>\n".repeat(150);

/** Deterministic bytes where every offset matters (xorshift32). */
function pseudoRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

function request(method: string, path: string, headers: [string, string][] = []): string {
  const fields = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${fields}\r\n`;
}

async function send(
  server: Bastion,
  path: string,
  headers: [string, string][] = [],
  method = "GET",
): Promise<RawResponse> {
  return await roundTrip(server.port, request(method, path, headers), { head: method === "HEAD" });
}

function expectedTag(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${mtimeMs.toString(16)}"`;
}

async function touch(root: string, names: string[]): Promise<void> {
  for (const name of names) await Deno.utime(join(root, name), new Date(MTIME), new Date(MTIME));
}

/** Whether two byte arrays are equal (without a huge diff on failure). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes as code points 0-255 (TextDecoder's "latin1" is really windows-1252). */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

interface Part {
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * Parses a multipart/byteranges body strictly by RFC 2046: an optional
 * preamble, `--boundary` delimiters each preceded by CRLF (except at the very
 * start), part headers up to an empty line, and a `--boundary--` close.
 */
function parseMultipart(contentType: string, body: Uint8Array): Part[] {
  const match = /^multipart\/byteranges\s*;\s*boundary=(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(
    contentType,
  );
  assertTrue(match !== null, `multipart/byteranges with a boundary: ${contentType}`);
  const boundary = match[1] ?? match[2];
  assertTrue(boundary.length >= 1 && boundary.length <= 70, "RFC 2046 boundary length");
  const text = latin1(body);
  const pieces = ("\r\n" + text).split(`\r\n--${boundary}`);
  const close = pieces.pop()!;
  assertTrue(
    /^--(\r\n)?$/.test(close),
    `close delimiter, then at most CRLF: ${JSON.stringify(close)}`,
  );
  pieces.shift(); // preamble (normally empty)
  return pieces.map((piece) => {
    assertTrue(piece.startsWith("\r\n"), "a delimiter line ends with CRLF");
    const end = piece.indexOf("\r\n\r\n");
    assertTrue(end >= 0, "part headers end with an empty line");
    const headers: Record<string, string> = {};
    for (const line of piece.slice(2, end).split("\r\n").filter((line) => line !== "")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: bytesOf(piece.slice(end + 4)) };
  });
}

/** Checks a single-range 206 for `[start, end]` of `data`. */
function assertPartial(
  response: RawResponse,
  data: Uint8Array,
  start: number,
  end: number,
  label: string,
): void {
  assertEquals(response.status, 206, label);
  assertEquals(response.header("content-range"), `bytes ${start}-${end}/${data.length}`, label);
  assertEquals(response.header("content-length"), String(end - start + 1), label);
  assertEquals(response.header("accept-ranges"), "bytes", label);
  assertEquals(response.body.length, end - start + 1, label);
  assertTrue(sameBytes(response.body, data.subarray(start, end + 1)), `${label}: the right bytes`);
}

function assertFull(response: RawResponse, data: Uint8Array, label: string): void {
  assertEquals(response.status, 200, label);
  assertEquals(response.header("content-range"), undefined, label);
  assertEquals(response.header("content-length"), String(data.length), label);
  assertTrue(sameBytes(response.body, data), `${label}: the whole file`);
}

Deno.test("single ranges: a-b, the 0-1 probe, suffix -n, open a-, clamped ends; 416 with bytes */size", async () => {
  const small = pseudoRandom(SMALL, 1);
  const large = pseudoRandom(LARGE, 2);
  await withBastion({
    // Seed: .txt is an octet-stream download there, whose ranges never vary by encoding.
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "small.txt": small, "large.txt": large },
  }, async (server) => {
    await touch(server.root, ["small.txt", "large.txt"]);
    for (const [name, data] of [["small.txt", small], ["large.txt", large]] as const) {
      const size = data.length;
      const full = await send(server, `/${name}`);
      assertFull(full, data, name);
      assertEquals(full.header("accept-ranges"), "bytes", `${name}: ranges are advertised`);

      const cases: [string, number, number][] = [
        ["bytes=0-99", 0, 99],
        ["bytes=0-1", 0, 1],
        ["bytes=0-0", 0, 0],
        ["bytes=-500", size - 500, size - 1],
        ["bytes=-1", size - 1, size - 1],
        ["bytes=500-", 500, size - 1],
        ["bytes=0-", 0, size - 1],
        [`bytes=${size - 10}-${size + 5000}`, size - 10, size - 1],
        [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
        [`bytes=-${size * 3}`, 0, size - 1],
        [`bytes=1000-${2 ** 53}`, 1000, size - 1],
        ["bytes=1234-5678", 1234, 5678],
      ];
      for (const [range, start, end] of cases) {
        const response = await send(server, `/${name}`, [["Range", range]]);
        assertPartial(response, data, start, end, `${name} ${range}`);
        assertEquals(response.header("content-type"), "application/octet-stream");
        assertEquals(response.header("etag"), expectedTag(size, MTIME), `${name} ${range}`);
        assertEquals(response.header("vary"), undefined, `${name}: no Vary on a download`);
      }

      for (
        const range of [
          `bytes=${size}-${size + 10}`,
          `bytes=${size + 100}-${size + 200}`,
          "bytes=-0",
        ]
      ) {
        const response = await send(server, `/${name}`, [["Range", range]]);
        assertEquals(response.status, 416, `${name} ${range}`);
        assertEquals(response.header("content-range"), `bytes */${size}`, `${name} ${range}`);
      }

      // Not a valid bytes range set: ignored, the whole file is sent.
      const tooMany = Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
      for (const range of ["bytes=5-2", "items=0-1", "bytes=a-b", `bytes=${tooMany}`]) {
        assertFull(await send(server, `/${name}`, [["Range", range]]), data, `${name} ${range}`);
      }
    }

    // Several ranges on one keep-alive connection: framing stays in step.
    const client = await RawClient.connect(server.port);
    try {
      await client.send(
        request("GET", "/large.txt", [["Range", "bytes=-500"]]) +
          request("GET", "/large.txt", [["Range", "bytes=0-1"]]) +
          request("GET", "/small.txt", [["Range", `bytes=${SMALL}-${SMALL + 5}`]]) +
          request("GET", "/small.txt", [["Range", "bytes=10-19"]]),
      );
      assertPartial(await client.response(), large, LARGE - 500, LARGE - 1, "pipelined suffix");
      assertPartial(await client.response(), large, 0, 1, "pipelined probe");
      assertEquals((await client.response()).status, 416);
      assertPartial(await client.response(), small, 10, 19, "after a 416");
      assertEquals(client.pending.length, 0, "no bytes beyond the asked ranges");
    } finally {
      client.close();
    }

    // The same through a strict client.
    const strict = await fetch(`http://127.0.0.1:${server.port}/large.txt`, {
      headers: { range: "bytes=-500" },
    });
    assertEquals(strict.status, 206);
    assertEquals(strict.headers.get("content-range"), `bytes ${LARGE - 500}-${LARGE - 1}/${LARGE}`);
    assertTrue(sameBytes(new Uint8Array(await strict.arrayBuffer()), large.subarray(LARGE - 500)));
    const unsatisfiable = await fetch(`http://127.0.0.1:${server.port}/small.txt`, {
      headers: { range: `bytes=${SMALL * 2}-${SMALL * 3}` },
    });
    assertEquals(unsatisfiable.status, 416);
    assertEquals(unsatisfiable.headers.get("content-range"), `bytes */${SMALL}`);
    await unsatisfiable.body?.cancel();
  });
});

Deno.test("an open-ended range starting at the end (a resumed complete download) is 416, not the whole file", async () => {
  const data = pseudoRandom(SMALL, 3);
  await withBastion({ args: NO_LIMITS, files: { "done.txt": data } }, async (server) => {
    for (const range of [`bytes=${SMALL}-`, `bytes=${SMALL + 1}-`]) {
      const response = await send(server, "/done.txt", [["Range", range]]);
      assertEquals(response.status, 416, range);
      assertEquals(response.header("content-range"), `bytes */${SMALL}`, range);
    }
  });
});

Deno.test("several ranges are one multipart/byteranges 206 whose parts carry their own Content-Range and bytes", async () => {
  const small = pseudoRandom(SMALL, 4);
  const large = pseudoRandom(LARGE, 5);
  await withBastion({
    // Seed: .txt is an octet-stream download there, whose ranges never vary by encoding.
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "small.txt": small, "large.txt": large },
  }, async (server) => {
    for (const [name, data] of [["small.txt", small], ["large.txt", large]] as const) {
      const size = data.length;
      const cases: [string, [number, number][]][] = [
        ["bytes=0-9,100-199", [[0, 9], [100, 199]]],
        ["bytes=0-0, 2000-2999, -10", [[0, 0], [2000, 2999], [size - 10, size - 1]]],
        [`bytes=0-1,${size + 10}-${size + 20},5-6`, [[0, 1], [5, 6]]],
      ];
      for (const [range, expected] of cases) {
        const label = `${name} ${range}`;
        const response = await send(server, `/${name}`, [["Range", range]]);
        assertEquals(response.status, 206, label);
        assertEquals(response.header("content-range"), undefined, `${label}: not on the whole`);
        assertEquals(response.header("content-length"), String(response.body.length), label);
        const parts = parseMultipart(response.header("content-type")!, response.body);
        assertEquals(parts.length, expected.length, label);
        parts.forEach((part, i) => {
          const [start, end] = expected[i];
          assertEquals(part.headers["content-type"], "application/octet-stream", label);
          assertEquals(part.headers["content-range"], `bytes ${start}-${end}/${size}`, label);
          assertTrue(sameBytes(part.body, data.subarray(start, end + 1)), `${label}: part ${i}`);
        });
      }
      // One satisfiable range among unsatisfiable ones is a plain 206.
      const single = await send(server, `/${name}`, [["Range", `bytes=5-9,${size}-${size + 9}`]]);
      assertPartial(single, data, 5, 9, `${name}: one range left`);
    }

    const strict = await fetch(`http://127.0.0.1:${server.port}/large.txt`, {
      headers: { range: "bytes=0-9,1000-1009" },
    });
    assertEquals(strict.status, 206);
    const strictParts = parseMultipart(
      strict.headers.get("content-type")!,
      new Uint8Array(await strict.arrayBuffer()),
    );
    assertEquals(strictParts.map((part) => part.headers["content-range"]), [
      `bytes 0-9/${LARGE}`,
      `bytes 1000-1009/${LARGE}`,
    ]);
  });
});

Deno.test("multipart/byteranges parts listed out of order each carry the bytes their Content-Range names", async () => {
  const small = pseudoRandom(SMALL, 6);
  const large = pseudoRandom(LARGE, 7);
  await withBastion({
    args: NO_LIMITS,
    files: { "small.txt": small, "large.txt": large },
  }, async (server) => {
    for (const [name, data] of [["small.txt", small], ["large.txt", large]] as const) {
      const response = await send(server, `/${name}`, [["Range", "bytes=1000-1099,0-99"]]);
      assertEquals(response.status, 206, name);
      const parts = parseMultipart(response.header("content-type")!, response.body);
      assertEquals(parts.map((part) => part.headers["content-range"]), [
        `bytes 1000-1099/${data.length}`,
        `bytes 0-99/${data.length}`,
      ]);
      assertTrue(sameBytes(parts[0].body, data.subarray(1000, 1100)), `${name}: first part`);
      assertTrue(sameBytes(parts[1].body, data.subarray(0, 100)), `${name}: second part (0-99)`);
    }
  });
});

Deno.test("If-Range: the current strong ETag or the exact Last-Modified give 206; an old, weak or inexact one the full 200", async () => {
  const data = pseudoRandom(LARGE, 8);
  await withBastion({ args: NO_LIMITS, files: { "file.txt": data } }, async (server) => {
    await touch(server.root, ["file.txt"]);
    const etag = expectedTag(LARGE, MTIME);
    const partial = [etag, LAST_MODIFIED, new Date(MTIME - 123).toUTCString()];
    for (const ifRange of partial) {
      const response = await send(server, "/file.txt", [["Range", "bytes=100-199"], [
        "If-Range",
        ifRange,
      ]]);
      assertPartial(response, data, 100, 199, `If-Range: ${ifRange}`);
    }
    const whole = [
      `W/${etag}`,
      expectedTag(LARGE, MTIME - 60_000),
      expectedTag(LARGE - 1, MTIME),
      '"something-else"',
      new Date(MTIME + 1000).toUTCString(),
      new Date(MTIME - 1000).toUTCString(),
      "Wed, 01 Jan 2098 00:00:00 GMT",
    ];
    for (const ifRange of whole) {
      const response = await send(server, "/file.txt", [["Range", "bytes=100-199"], [
        "If-Range",
        ifRange,
      ]]);
      assertFull(response, data, `If-Range: ${ifRange}`);
      assertEquals(response.header("etag"), etag, "the full response names the current tag");
    }
    // A failed If-Range on a multi-range request also sends the whole file.
    assertFull(
      await send(server, "/file.txt", [["Range", "bytes=0-1,5-6"], ["If-Range", '"old"']]),
      data,
      "multi-range with an old tag",
    );
    // If-Range without Range changes nothing.
    assertFull(await send(server, "/file.txt", [["If-Range", etag]]), data, "no Range");

    const strict = await fetch(`http://127.0.0.1:${server.port}/file.txt`, {
      headers: { range: "bytes=0-1", "if-range": etag },
    });
    assertEquals(strict.status, 206);
    assertEquals(new Uint8Array(await strict.arrayBuffer()), data.subarray(0, 2));
  });
});

Deno.test("a range of a compressible file is identity bytes with Vary, never a 206 of a precompressed sibling", async () => {
  const page = new TextEncoder().encode(PAGE);
  await withBastion({ args: NO_LIMITS, files: { "page.html": PAGE } }, async (server) => {
    await Deno.writeFile(join(server.root, "page.html.gz"), gzipSync(page));
    await touch(server.root, ["page.html", "page.html.gz"]);
    const etag = expectedTag(page.length, MTIME);
    for (const accept of ["gzip", "gzip, br", "*", "identity"]) {
      const headers: [string, string][] = [["Accept-Encoding", accept], ["Range", "bytes=0-99"]];
      const response = await send(server, "/page.html", headers);
      assertPartial(response, page, 0, 99, `Accept-Encoding: ${accept}`);
      assertEquals(response.header("content-encoding"), undefined, accept);
      assertEquals(response.header("vary"), "Accept-Encoding", `${accept}: 206 carries Vary`);
      assertEquals(response.header("content-type"), "text/html; charset=utf-8");
      assertEquals(response.header("etag"), etag, `${accept}: the identity tag`);
    }
    const suffix = await send(server, "/page.html", [
      ["Accept-Encoding", "gzip"],
      ["Range", "bytes=-50"],
    ]);
    assertPartial(suffix, page, page.length - 50, page.length - 1, "suffix of a compressible file");
    assertEquals(suffix.header("content-encoding"), undefined);

    const multi = await send(server, "/page.html", [
      ["Accept-Encoding", "gzip"],
      ["Range", "bytes=0-9,20-29"],
    ]);
    assertEquals(multi.status, 206);
    assertEquals(multi.header("content-encoding"), undefined);
    assertEquals(multi.header("vary"), "Accept-Encoding");
    const parts = parseMultipart(multi.header("content-type")!, multi.body);
    assertEquals(parts[0].headers["content-type"], "text/html; charset=utf-8");
    assertTrue(sameBytes(parts[1].body, page.subarray(20, 30)));

    const unsatisfiable = await send(server, "/page.html", [
      ["Accept-Encoding", "gzip"],
      ["Range", `bytes=${page.length}-${page.length + 1}`],
    ]);
    assertEquals(unsatisfiable.status, 416);
    assertEquals(unsatisfiable.header("content-range"), `bytes */${page.length}`);
    assertEquals(unsatisfiable.header("vary"), "Accept-Encoding");

    // If-Range with the identity tag matches even when the client accepts gzip.
    const ifRange = await send(server, "/page.html", [
      ["Accept-Encoding", "gzip"],
      ["Range", "bytes=10-19"],
      ["If-Range", etag],
    ]);
    assertPartial(ifRange, page, 10, 19, "If-Range with the identity tag");

    const strict = await fetch(`http://127.0.0.1:${server.port}/page.html`, {
      headers: { range: "bytes=0-1" },
    });
    assertEquals(strict.status, 206);
    assertEquals(strict.headers.get("content-encoding"), null);
    assertEquals(await strict.text(), PAGE.slice(0, 2));
  });
});

async function residentKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]);
}

Deno.test("a range of a 1 GiB sparse .mp4 streams only the asked bytes and the server's memory stays small", async () => {
  const GiB = 1024 ** 3;
  await withBastion({ args: [...NO_LIMITS, "--profile", "web"] }, async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      const path = join(server.root, "movie.mp4");
      await Deno.writeTextFile(path, "....ftypisom");
      await Deno.truncate(path, GiB);
      const markers: [number, string][] = [
        [GiB / 2, "MIDDLE-MARKER"],
        [GiB - 16, "THE-END-MARKER"],
      ];
      const file = await Deno.open(path, { write: true });
      try {
        for (const [offset, text] of markers) {
          await file.seek(offset, Deno.SeekMode.Start);
          await file.write(new TextEncoder().encode(text));
        }
      } finally {
        file.close();
      }
      /** The expected bytes of [start, end]: zeros, the header and the markers. */
      const expected = (start: number, end: number) => {
        const out = new Uint8Array(end - start + 1);
        for (const [offset, text] of [[0, "....ftypisom"] as const, ...markers]) {
          for (let i = 0; i < text.length; i++) {
            const at = offset + i - start;
            if (at >= 0 && at < out.length) out[at] = text.charCodeAt(i);
          }
        }
        return out;
      };
      const check = (response: RawResponse, start: number, end: number, label: string) => {
        assertEquals(response.status, 206, label);
        assertEquals(response.header("content-range"), `bytes ${start}-${end}/${GiB}`, label);
        assertEquals(response.header("content-length"), String(end - start + 1), label);
        assertEquals(response.header("content-type"), "video/mp4", label);
        assertEquals(response.header("vary"), undefined, `${label}: no Vary on video`);
        assertTrue(sameBytes(response.body, expected(start, end)), `${label}: bytes`);
      };

      // Warm up the code paths before taking the baseline.
      await client.send(request("GET", "/movie.mp4", [["Range", "bytes=0-1"]]));
      check(await client.response(), 0, 1, "the Safari bytes=0-1 probe");
      const before = await residentKiB(server.pid);

      const cases: [string, number, number][] = [
        ["bytes=0-1", 0, 1],
        [`bytes=${GiB / 2}-${GiB / 2 + 4095}`, GiB / 2, GiB / 2 + 4095],
        ["bytes=-4096", GiB - 4096, GiB - 1],
        [`bytes=${GiB - 1000}-`, GiB - 1000, GiB - 1],
        [`bytes=${GiB - 100}-${GiB * 2}`, GiB - 100, GiB - 1],
      ];
      for (let round = 0; round < 10; round++) {
        for (const [range, start, end] of cases) {
          await client.send(request("GET", "/movie.mp4", [["Range", range]]));
          check(await client.response(), start, end, `${range} (round ${round})`);
        }
      }
      await client.send(
        request("GET", "/movie.mp4", [["Range", `bytes=0-3,${GiB / 2}-${GiB / 2 + 12}`]]),
      );
      const multi = await client.response();
      assertEquals(multi.status, 206);
      const parts = parseMultipart(multi.header("content-type")!, multi.body);
      assertEquals(parts.map((part) => latin1(part.body)), ["....", "MIDDLE-MARKER"]);
      assertTrue(multi.body.length < 1024, "the multipart body holds only the asked bytes");

      await client.send(request("GET", "/movie.mp4", [["Range", `bytes=${GiB}-${GiB + 1}`]]));
      const unsatisfiable = await client.response();
      assertEquals(unsatisfiable.status, 416);
      assertEquals(unsatisfiable.header("content-range"), `bytes */${GiB}`);

      await client.send(request("HEAD", "/movie.mp4"));
      const head = await client.response({ head: true });
      assertEquals(head.status, 200);
      assertEquals(head.header("content-length"), String(GiB));
      assertEquals(head.header("accept-ranges"), "bytes");
      assertEquals(client.pending.length, 0, "nothing was sent beyond the asked bytes");

      const grownMiB = ((await residentKiB(server.pid)) - before) / 1024;
      assertTrue(grownMiB < 32, `resident set grew by ${grownMiB.toFixed(1)} MiB`);
      assertMatch(head.header("etag") ?? "", new RegExp(`^"${GiB.toString(16)}-[0-9a-f]+"$`));
    } finally {
      client.close();
    }
  });
});
