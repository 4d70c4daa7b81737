/**
 * Integration tests for content coding (SPEC §3 "Compression"): gzip on the
 * fly for compressible types over 1 KiB (chunked, streamed with constant
 * memory), precompressed `.br` / `.gz` siblings chosen by q-value when not
 * older than the file, `Vary: Accept-Encoding` on every response for a
 * compressible type and never on binary ones, and the web profile's binary
 * types without charset. Checked over raw sockets and with Deno's fetch as a
 * strict HTTP client.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { assertEquals, assertMatch, assertNotMatch, assertTrue } from "./_assert.ts";
import {
  type Bastion,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  roundTrip,
  withBastion,
} from "./_harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `size` bytes of HTML-ish text that compresses, but not to nothing. */
function html(size: number, seed = 1): string {
  let state = seed;
  let text = "<!doctype html><title>t</title>\n";
  while (text.length < size) {
    state = (state * 1103515245 + 12345) % 2147483648;
    text += `<p id="p${state % 9973}">line ${state.toString(36)}</p>\n`;
  }
  return text.slice(0, size);
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

async function gunzip(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return decoder.decode(new Uint8Array(await new Response(stream).arrayBuffer()));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Asserts an on-the-fly gzip 200 that decompresses to `original`. */
async function assertGzipped(response: RawResponse, original: string, label: string) {
  assertEquals(response.status, 200, label);
  assertEquals(response.header("content-encoding"), "gzip", label);
  assertEquals(response.header("vary"), "Accept-Encoding", label);
  assertMatch(response.header("etag") ?? "", /^"[0-9a-f]+-[0-9a-f]+-gz"$/, label);
  assertTrue(response.body.length < original.length, `${label}: smaller than the original`);
  assertEquals(await gunzip(response.body), original, `${label}: decompresses to the file`);
}

/** Asserts a 200 sent as it is, with `Content-Length`. */
function assertIdentity(response: RawResponse, original: string, label: string): void {
  assertEquals(response.status, 200, label);
  assertEquals(response.header("content-encoding"), undefined, label);
  assertEquals(response.header("content-length"), String(encoder.encode(original).length), label);
  assertEquals(response.text(), original, label);
}

const SMALL_HTML = html(20 * 1024, 1);
/** Larger than the 1 MiB kept in memory: gzip is made while streaming the file. */
const LARGE_HTML = html(1536 * 1024, 2);
const JUST_OVER = html(1025, 3);
const EXACTLY_1K = html(1024, 4);
const TINY = html(100, 5);
const DOWNLOAD = html(5000, 6);

Deno.test("gzip on the fly: a large html over 1 KiB is chunked, without Content-Length, and decompresses to the file", async () => {
  await withBastion({ args: NO_LIMITS, files: { "large.html": LARGE_HTML } }, async (server) => {
    for (const accept of ["gzip", "gzip, deflate", "deflate;q=1, gzip;q=0.3", "*", "GZIP"]) {
      const response = await send(server, "/large.html", [["Accept-Encoding", accept]]);
      await assertGzipped(response, LARGE_HTML, accept);
      assertEquals(response.header("transfer-encoding"), "chunked", `${accept}: chunked`);
      assertEquals(response.header("content-length"), undefined, `${accept}: no length`);
    }
    const strict = await fetch(`http://127.0.0.1:${server.port}/large.html`, {
      headers: { "accept-encoding": "gzip" },
    });
    assertEquals(strict.status, 200);
    assertEquals(strict.headers.get("content-encoding"), "gzip");
    assertEquals(await strict.text(), LARGE_HTML, "a strict client decodes it too");
  });
});

Deno.test("gzip on the fly: small html just over 1 KiB is chunked too, and HEAD announces what GET sends", async () => {
  await withBastion({
    args: NO_LIMITS,
    files: { "small.html": SMALL_HTML, "over.html": JUST_OVER },
  }, async (server) => {
    for (const [path, original] of [["/small.html", SMALL_HTML], ["/over.html", JUST_OVER]]) {
      const head = await send(server, path, [["Accept-Encoding", "gzip"]], "HEAD");
      const get = await send(server, path, [["Accept-Encoding", "gzip"]]);
      await assertGzipped(get, original, path);
      assertEquals(
        get.header("content-length"),
        head.header("content-length"),
        `${path}: HEAD = GET`,
      );
      assertEquals(
        get.header("transfer-encoding"),
        "chunked",
        `${path}: SPEC — on the fly is chunked`,
      );
      assertEquals(get.header("content-length"), undefined, path);
    }
  });
});

Deno.test("HEAD of an on-the-fly gzip response has Content-Encoding and no Content-Length, and no body", async () => {
  await withBastion({
    args: NO_LIMITS,
    files: { "large.html": LARGE_HTML, "small.html": SMALL_HTML },
  }, async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      for (const path of ["/large.html", "/small.html"]) {
        await client.send(
          request("HEAD", path, [["Accept-Encoding", "gzip"]]) + request("GET", "/small.html"),
        );
        const head = await client.response({ head: true });
        assertEquals(head.status, 200, path);
        assertEquals(head.header("content-encoding"), "gzip", path);
        assertEquals(head.header("content-length"), undefined, path);
        assertEquals(head.header("vary"), "Accept-Encoding", path);
        assertMatch(head.header("etag") ?? "", /-gz"$/, path);
        const next = await client.response();
        assertIdentity(next, SMALL_HTML, `${path}: the connection is still in step`);
      }
      assertEquals(client.pending.length, 0);
    } finally {
      client.close();
    }
  });
});

Deno.test("no compression for 1 KiB or less, for octet-stream downloads, for gzip;q=0, identity or no Accept-Encoding", async () => {
  await withBastion({
    args: [...NO_LIMITS, "--profile", "seed"],
    files: {
      "exact.html": EXACTLY_1K,
      "tiny.html": TINY,
      "download.txt": DOWNLOAD,
      "small.html": SMALL_HTML,
    },
  }, async (server) => {
    for (const path of ["/exact.html", "/tiny.html"]) {
      const response = await send(server, path, [["Accept-Encoding", "gzip, br"]]);
      assertIdentity(response, path === "/tiny.html" ? TINY : EXACTLY_1K, path);
      assertEquals(
        response.header("vary"),
        "Accept-Encoding",
        `${path}: compressible type, any size`,
      );
    }
    const download = await send(server, "/download.txt", [["Accept-Encoding", "gzip, br"]]);
    assertIdentity(download, DOWNLOAD, "seed .txt download");
    assertEquals(download.header("content-type"), "application/octet-stream");
    assertEquals(download.header("vary"), undefined, "downloads never vary by encoding");
    const logo = await send(server, "/logo.png", [["Accept-Encoding", "gzip"]]);
    assertEquals(logo.header("content-encoding"), undefined);
    assertEquals(logo.header("vary"), undefined);

    const refusals: ([string, string][])[] = [
      [["Accept-Encoding", "gzip;q=0"]],
      [["Accept-Encoding", "gzip;q=0.000, deflate"]],
      [["Accept-Encoding", "*;q=0"]],
      [["Accept-Encoding", "identity"]],
      [["Accept-Encoding", "br"]], // no .br sibling, and br is never made on the fly
      [["Accept-Encoding", "deflate, compress"]],
      [["Accept-Encoding", ""]],
      [],
    ];
    for (const headers of refusals) {
      const response = await send(server, "/small.html", headers);
      const label = JSON.stringify(headers);
      assertIdentity(response, SMALL_HTML, label);
      assertEquals(response.header("vary"), "Accept-Encoding", label);
      assertEquals(response.header("etag")?.endsWith('-gz"'), false, label);
    }
  });
});

Deno.test("precompressed .br/.gz siblings are chosen by q-value and sent whole with their compressed Content-Length", async () => {
  const page = html(6000, 7);
  const br = brotliCompressSync(encoder.encode(page));
  const gz = gzipSync(encoder.encode(page));
  await withBastion({
    // Seed, where the siblings are no web resources of their own (415).
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "doc.html": page, "doc.html.br": br, "doc.html.gz": gz },
  }, async (server) => {
    const mtime = new Date(Date.UTC(2024, 0, 1));
    await Deno.utime(join(server.root, "doc.html"), mtime, mtime);
    const cases: [string, "br" | "gzip" | undefined][] = [
      ["br", "br"],
      ["gzip", "gzip"],
      ["gzip, br", "br"],
      ["br, gzip", "br"],
      ["gzip;q=1, br;q=0.5", "gzip"],
      ["br;q=0.1, gzip;q=0.9", "gzip"],
      ["br;q=0.9, gzip;q=0.1", "br"],
      ["br;q=0, gzip", "gzip"],
      ["gzip;q=0, *", "br"],
      ["*", "br"],
      ["br;q=0, gzip;q=0", undefined],
      ["identity", undefined],
    ];
    for (const [accept, coding] of cases) {
      const response = await send(server, "/doc.html", [["Accept-Encoding", accept]]);
      assertEquals(response.status, 200, accept);
      assertEquals(response.header("content-encoding"), coding, accept);
      assertEquals(response.header("vary"), "Accept-Encoding", accept);
      assertEquals(response.header("transfer-encoding"), undefined, `${accept}: not chunked`);
      const expected = coding === "br" ? br : coding === "gzip" ? gz : encoder.encode(page);
      assertEquals(response.header("content-length"), String(expected.length), accept);
      assertTrue(sameBytes(response.body, expected), `${accept}: the sibling's bytes`);
      const suffix = coding === "br" ? "-br" : coding === "gzip" ? "-gz" : "";
      assertMatch(response.header("etag") ?? "", new RegExp(`^"[0-9a-f]+-[0-9a-f]+${suffix}"$`));
    }
    for (const [accept, sibling] of [["br", br], ["gzip", gz]] as const) {
      const head = await send(server, "/doc.html", [["Accept-Encoding", accept]], "HEAD");
      assertEquals(head.status, 200);
      assertEquals(head.header("content-encoding"), accept);
      assertEquals(head.header("content-length"), String(sibling.length), `HEAD ${accept}`);
    }
    const tag = (await send(server, "/doc.html", [["Accept-Encoding", "br"]])).header("etag")!;
    const notModified = await send(server, "/doc.html", [
      ["Accept-Encoding", "br"],
      ["If-None-Match", tag],
    ]);
    assertEquals(notModified.status, 304);
    assertEquals(notModified.header("etag"), tag);
    assertEquals(notModified.header("vary"), "Accept-Encoding");

    // The siblings are not web resources of their own.
    for (const path of ["/doc.html.br", "/doc.html.gz"]) {
      assertEquals((await send(server, path)).status, 415, path);
    }

    // A strict client checks the framing and decodes each coding.
    for (const accept of ["br", "gzip"]) {
      const strict = await fetch(`http://127.0.0.1:${server.port}/doc.html`, {
        headers: { "accept-encoding": accept },
      });
      assertEquals(strict.headers.get("content-encoding"), accept);
      assertEquals(await strict.text(), page, `strict ${accept}`);
    }
  });
});

Deno.test("a precompressed sibling older than the file is ignored; one of the same age is used", async () => {
  const fresh = html(5000, 8);
  const current = html(5000, 9);
  const staleGz = gzipSync(encoder.encode("STALE CONTENT FROM AN OLDER BUILD"));
  const sameAgeGz = gzipSync(encoder.encode(fresh));
  await withBastion({
    args: NO_LIMITS,
    files: {
      "old.html": current,
      "old.html.gz": staleGz,
      "old.html.br": brotliCompressSync(encoder.encode("STALE BROTLI")),
      "same.html": fresh,
      "same.html.gz": sameAgeGz,
    },
  }, async (server) => {
    const now = new Date(Date.UTC(2024, 5, 1, 12, 0, 0, 500));
    const earlier = new Date(now.getTime() - 1);
    await Deno.utime(join(server.root, "old.html"), now, now);
    await Deno.utime(join(server.root, "old.html.gz"), earlier, earlier);
    await Deno.utime(join(server.root, "old.html.br"), new Date(0), new Date(0));
    await Deno.utime(join(server.root, "same.html"), now, now);
    await Deno.utime(join(server.root, "same.html.gz"), now, now);

    const old = await send(server, "/old.html", [["Accept-Encoding", "gzip"]]);
    await assertGzipped(old, current, "stale .gz replaced by gzip on the fly");
    assertTrue(!sameBytes(old.body, staleGz));
    const oldBr = await send(server, "/old.html", [["Accept-Encoding", "br"]]);
    assertIdentity(oldBr, current, "stale .br ignored, and br is never made on the fly");
    const oldHead = await send(server, "/old.html", [["Accept-Encoding", "gzip"]], "HEAD");
    assertEquals(oldHead.header("content-length"), undefined, "not the stale sibling's length");

    const same = await send(server, "/same.html", [["Accept-Encoding", "gzip"]]);
    assertEquals(same.header("content-encoding"), "gzip");
    assertEquals(same.header("content-length"), String(sameAgeGz.length));
    assertTrue(sameBytes(same.body, sameAgeGz), "the sibling itself");
  });
});

Deno.test("Vary: Accept-Encoding on 200, 206, 304 and HEAD of compressible types of any size, never on binary ones", async () => {
  await withBastion({
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "tiny.html": TINY, "small.html": SMALL_HTML, "download.txt": DOWNLOAD },
  }, async (server) => {
    for (const path of ["/tiny.html", "/small.html"]) {
      const ok = await send(server, path);
      assertEquals(ok.header("vary"), "Accept-Encoding", `${path} 200`);
      const partial = await send(server, path, [["Range", "bytes=0-9"], [
        "Accept-Encoding",
        "gzip",
      ]]);
      assertEquals(partial.status, 206, path);
      assertEquals(partial.header("vary"), "Accept-Encoding", `${path} 206`);
      for (const accept of ["gzip", "identity"]) {
        const tag = (await send(server, path, [["Accept-Encoding", accept]])).header("etag")!;
        const notModified = await send(server, path, [
          ["Accept-Encoding", accept],
          ["If-None-Match", tag],
        ]);
        assertEquals(notModified.status, 304, `${path} ${accept}`);
        assertEquals(notModified.header("vary"), "Accept-Encoding", `${path} ${accept} 304`);
        const head = await send(server, path, [["Accept-Encoding", accept]], "HEAD");
        assertEquals(head.header("vary"), "Accept-Encoding", `${path} ${accept} HEAD`);
      }
    }
    for (const path of ["/download.txt", "/logo.png", "/photo.jpg"]) {
      for (const headers of [[], [["Accept-Encoding", "gzip"]], [["Range", "bytes=0-9"]]]) {
        const response = await send(server, path, headers as [string, string][]);
        assertTrue(response.status === 200 || response.status === 206, path);
        assertEquals(response.header("vary"), undefined, `${path} ${JSON.stringify(headers)}`);
        assertEquals(response.header("content-encoding"), undefined, path);
      }
    }
  });
});

Deno.test("web profile: binary types have no charset and no Vary, .mp4 is video/mp4, text types over 1 KiB are gzipped", async () => {
  const binary = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
  const css = "p { color: red; }\n".repeat(200);
  const json = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, name: `n${i}` })));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1"/>'.repeat(200)}</svg>`;
  const text = "plain text line\n".repeat(200);
  await withBastion({
    args: [...NO_LIMITS, "--profile", "web"],
    files: {
      "clip.mp4": binary,
      "image.png": binary,
      "image.webp": binary,
      "font.woff2": binary,
      "style.css": css,
      "data.json": json,
      "icon.svg": svg,
      "notes.txt": text,
    },
  }, async (server) => {
    const binaries: [string, string][] = [
      ["/clip.mp4", "video/mp4"],
      ["/image.png", "image/png"],
      ["/logo.png", "image/png"],
      ["/image.webp", "image/webp"],
      ["/font.woff2", "font/woff2"],
    ];
    for (const [path, type] of binaries) {
      const response = await send(server, path, [["Accept-Encoding", "gzip, br"]]);
      assertEquals(response.status, 200, path);
      assertEquals(response.header("content-type"), type, path);
      assertNotMatch(response.header("content-type") ?? "", /charset/, `${path}: no charset`);
      assertEquals(response.header("content-encoding"), undefined, path);
      assertEquals(response.header("vary"), undefined, path);
      assertEquals(response.header("content-disposition"), undefined, `${path}: inline`);
    }
    const textual: [string, string, string][] = [
      ["/style.css", "text/css; charset=utf-8", css],
      ["/data.json", "application/json; charset=utf-8", json],
      ["/icon.svg", "image/svg+xml; charset=utf-8", svg],
      ["/notes.txt", "text/plain; charset=utf-8", text],
    ];
    for (const [path, type, content] of textual) {
      const response = await send(server, path, [["Accept-Encoding", "gzip"]]);
      assertEquals(response.header("content-type"), type, path);
      await assertGzipped(response, content, path);
    }
    const strict = await fetch(`http://127.0.0.1:${server.port}/clip.mp4`);
    assertEquals(strict.headers.get("content-type"), "video/mp4");
    assertTrue(sameBytes(new Uint8Array(await strict.arrayBuffer()), binary));
  });
});

async function peakRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]);
}

Deno.test("gzip on the fly of a 64 MiB html streams with constant memory and decompresses byte-exact", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    const path = join(server.root, "huge.html");
    const expected = createHash("sha256");
    const file = await Deno.open(path, { write: true, create: true });
    try {
      for (let i = 0; i < 64; i++) {
        const piece = encoder.encode(html(1024 * 1024, i + 100));
        expected.update(piece);
        let offset = 0;
        while (offset < piece.length) offset += await file.write(piece.subarray(offset));
      }
    } finally {
      file.close();
    }
    for (let i = 0; i < 3; i++) await send(server, "/index.html", [["Accept-Encoding", "gzip"]]);
    const before = await peakRssKiB(server.pid);

    const response = await fetch(`http://127.0.0.1:${server.port}/huge.html`, {
      headers: { "accept-encoding": "gzip" },
    });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-encoding"), "gzip");
    assertEquals(response.headers.get("content-length"), null);
    const actual = createHash("sha256");
    let received = 0;
    for await (const piece of response.body!) {
      actual.update(piece);
      received += piece.length;
    }
    assertEquals(received, 64 * 1024 * 1024);
    assertEquals(actual.digest("hex"), expected.digest("hex"));
    const grownMiB = ((await peakRssKiB(server.pid)) - before) / 1024;
    assertTrue(grownMiB < 32, `peak RSS grew by ${grownMiB.toFixed(1)} MiB while compressing`);
  });
});

Deno.test("at most 2 bodies are gzipped on the fly at once; past that a file goes as it is", async () => {
  // 32 MiB: over the 1 MiB kept in memory, so every gzip is made as it streams, and
  // compressed still more than the socket buffers hold for a client that does not read.
  await withBastion(
    { args: NO_LIMITS, files: { "huge.html": html(32 << 20, 7) } },
    async (server) => {
      const request = "GET /huge.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n";
      const stalled: RawClient[] = [];
      try {
        // Two clients that do not read: their compressions stay open, holding the budget.
        for (let i = 0; i < 2; i++) {
          const client = await RawClient.connect(server.port);
          await client.send(request);
          stalled.push(client);
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        const over = await roundTrip(server.port, request, { head: true });
        assertEquals(over.status, 200);
        assertEquals(over.header("content-encoding"), undefined, "sent as it is");
        assertEquals(over.header("content-length"), String(32 << 20));
        assertEquals(over.header("vary"), "Accept-Encoding");
        for (const client of stalled) client.close();
        await new Promise((resolve) => setTimeout(resolve, 300));
        const again = await roundTrip(server.port, request, { head: true });
        assertEquals(again.header("content-encoding"), "gzip", "the budget is given back on close");
      } finally {
        for (const client of stalled) client.close();
      }
    },
  );
});
