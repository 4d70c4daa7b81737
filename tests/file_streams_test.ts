/**
 * Large files streamed to many clients at once: each body byte-exact
 * (SHA-256) whether the client reads fast or slowly, whole, as a range, or
 * gzip-compressed on the fly. More downloads run at once than the server
 * lends large read buffers for, so some move through their own buffers.
 * @module
 */

import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { concat, NO_LIMITS, withBastion } from "./_harness.ts";
import { downloadHash, writePseudoRandomFile } from "./_download.ts";

const MiB = 1024 * 1024;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("24 downloads at once of 4 large files, a third of them slow, are each byte-exact", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    // Sizes off the buffer sizes, so the last piece of each is a partial one.
    const sizes = [5 * MiB + 7, 3 * MiB + 65_537, 2 * MiB - 1, 4 * MiB + 12_345];
    const expected = await Promise.all(
      sizes.map((size, i) => writePseudoRandomFile(join(server.root, `f${i}.bin`), size, i + 1)),
    );
    const downloads = Array.from({ length: 24 }, (_, n) => {
      const i = n % sizes.length;
      // Slow readers hold their buffer while the socket is full.
      const slow = n % 3 === 0 ? { pauseEvery: MiB, pauseMs: 150 } : {};
      return downloadHash(server.port, `/f${i}.bin`, slow).then((got) => ({ got, i }));
    });
    for (const { got, i } of await Promise.all(downloads)) {
      assertEquals(got.status, 200, got.head);
      assertEquals(got.length, sizes[i]);
      assertEquals(got.received, sizes[i]);
      assertEquals(got.sha256, expected[i], `f${i}.bin`);
    }
  });
});

Deno.test("large ranges of a large file stream exactly the asked bytes", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const path = join(server.root, "big.bin");
    await writePseudoRandomFile(path, 6 * MiB + 3, 7);
    const bytes = await Deno.readFile(path);
    const cases: [string, number, number][] = [
      ["bytes=100-4194403", 100, 4194404], // 4 MiB from an unaligned start
      ["bytes=-3145729", bytes.length - 3145729, bytes.length], // a suffix over 3 MiB
      ["bytes=5000000-", 5000000, bytes.length],
    ];
    await Promise.all(cases.map(async ([range, start, end]) => {
      const got = await downloadHash(server.port, "/big.bin", { headers: `Range: ${range}\r\n` });
      assertEquals(got.status, 206, got.head);
      assertMatch(
        got.head,
        new RegExp(`content-range: bytes ${start}-${end - 1}/${bytes.length}`, "i"),
      );
      assertEquals(got.received, end - start, range);
      assertEquals(got.sha256, sha256(bytes.subarray(start, end)), range);
    }));
  });
});

Deno.test("a large file gzip-compressed on the fly unzips to the exact file", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    // Text that compresses, in lines that differ: 3 MiB and a bit.
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${"abc".repeat(i % 17)}\n`);
    const text = new TextEncoder().encode(lines.join(""));
    await Deno.writeFile(join(server.root, "big.txt"), text);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const request = "GET /big.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n" +
      "Connection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    const raw = new Uint8Array(await new Response(conn.readable).arrayBuffer());
    const headEnd = _headEnd(raw);
    const head = new TextDecoder().decode(raw.subarray(0, headEnd));
    assertMatch(head, /^HTTP\/1\.1 200 /);
    assertMatch(head, /content-encoding: gzip/i);
    assertMatch(head, /transfer-encoding: chunked/i);
    const body = gunzipSync(_unchunk(raw.subarray(headEnd + 4)));
    assertEquals(body.length, text.length);
    assertEquals(sha256(body), sha256(text));
  });
});

/** Where the head's blank line starts. */
function _headEnd(raw: Uint8Array): number {
  for (let i = 0; i + 3 < raw.length; i++) {
    if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) return i;
  }
  throw new Error("no end of head");
}

/** The data of a chunked body, checking its framing. */
function _unchunk(body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf(13, at);
    const size = parseInt(new TextDecoder().decode(body.subarray(at, lineEnd)), 16);
    assertEquals(body[lineEnd + 1], 10);
    if (size === 0) return concat(...parts);
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
