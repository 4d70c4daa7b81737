/**
 * Integration tests for validators and preconditions on files (SPEC §3
 * "Caching"): strong ETag from size and mtime, Last-Modified, Cache-Control,
 * 304 for GET and HEAD, If-None-Match precedence, 412, ETag stability across
 * restarts and one tag per content coding. Checked over raw sockets and with
 * Deno's fetch as a strict HTTP client.
 * @module
 */

import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import { assertEquals, assertMatch, assertNotEquals, assertTrue } from "./_assert.ts";
import {
  BANNER,
  type Bastion,
  makeRoot,
  NO_LIMITS,
  RawClient,
  type RawResponse,
  roundTrip,
  spawnBastion,
  withBastion,
} from "./_harness.ts";

/** 2023-11-14T22:13:20.123Z: an mtime with milliseconds, to check they are in the tag. */
const MTIME = Date.UTC(2023, 10, 14, 22, 13, 20, 123);
const LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT";
const PAGE = "<!doctype html><title>page</title>\n" + "<p>cacheable text</p>\n".repeat(100);

/** A request with `headers` (repeats allowed), HTTP/1.1 to localhost. */
function request(method: string, path: string, headers: [string, string][] = []): string {
  const fields = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${fields}\r\n`;
}

async function send(
  server: Bastion,
  method: string,
  path: string,
  headers: [string, string][] = [],
): Promise<RawResponse> {
  return await roundTrip(server.port, request(method, path, headers), { head: method === "HEAD" });
}

/** The tag SPEC §3 prescribes for a file of `size` bytes modified at `mtimeMs`. */
function expectedTag(size: number, mtimeMs: number, suffix = ""): string {
  return `"${size.toString(16)}-${mtimeMs.toString(16)}${suffix}"`;
}

/** Sets the mtime of each web-root file before any request for it (so no cache has seen it). */
async function touch(root: string, names: string[], mtimeMs = MTIME): Promise<void> {
  for (const name of names) {
    await Deno.utime(join(root, name), new Date(mtimeMs), new Date(mtimeMs));
  }
}

/** Asserts a bodiless 304 with the validators of the 200 it stands for. */
function assertNotModified(response: RawResponse, etag: string, label: string): void {
  assertEquals(response.status, 304, label);
  assertEquals(response.header("etag"), etag, `${label}: 304 carries the tag`);
  assertEquals(response.header("last-modified"), LAST_MODIFIED, label);
  assertEquals(response.header("content-length"), undefined, `${label}: no Content-Length`);
  assertEquals(response.header("transfer-encoding"), undefined, `${label}: no chunked framing`);
  assertEquals(response.body.length, 0, label);
}

Deno.test("files carry a strong size-mtime ETag, Last-Modified and the --cache-control value", async () => {
  await withBastion({
    args: [...NO_LIMITS, "--cache-control", "max-age=60"],
    files: { "page.html": PAGE },
  }, async (server) => {
    await touch(server.root, ["page.html", "sample.txt", "logo.png"]);
    for (const name of ["page.html", "sample.txt", "logo.png"]) {
      const size = (await Deno.stat(join(server.root, name))).size;
      for (const method of ["GET", "HEAD"]) {
        const response = await send(server, method, `/${name}`);
        assertEquals(response.status, 200, `${method} ${name}`);
        assertEquals(response.header("etag"), expectedTag(size, MTIME), `${method} ${name}`);
        assertMatch(response.header("etag")!, /^"[0-9a-f]+-[0-9a-f]+"$/, "strong, lowercase hex");
        assertEquals(response.header("last-modified"), LAST_MODIFIED, `${method} ${name}`);
        assertEquals(response.header("cache-control"), "max-age=60", `${method} ${name}`);
      }
    }
    // The same through a strict client.
    const strict = await fetch(`http://127.0.0.1:${server.port}/page.html`, {
      headers: { "accept-encoding": "identity" },
    });
    assertEquals(strict.status, 200);
    assertEquals(strict.headers.get("etag"), expectedTag(PAGE.length, MTIME));
    assertEquals(strict.headers.get("last-modified"), LAST_MODIFIED);
    assertEquals(strict.headers.get("cache-control"), "max-age=60");
    assertEquals(await strict.text(), PAGE);
  });
});

Deno.test("GET and HEAD with a matching If-None-Match get a bodiless 304 with ETag, Vary and the validators", async () => {
  await withBastion({ args: NO_LIMITS, files: { "page.html": PAGE } }, async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await touch(server.root, ["page.html"]);
      const etag = expectedTag(PAGE.length, MTIME);
      const matching = [etag, `W/${etag}`, "*", `"nope", ${etag}`, `"a",W/"b", ${etag} `];
      for (const value of matching) {
        for (const method of ["GET", "HEAD"]) {
          const label = `${method} If-None-Match: ${value}`;
          // A plain GET follows on the same connection: any stray 304 body would break it.
          await client.send(
            request(method, "/page.html", [["If-None-Match", value]]) +
              request("GET", "/page.html"),
          );
          const response = await client.response({ head: method === "HEAD" });
          assertNotModified(response, etag, label);
          assertEquals(response.header("vary"), "Accept-Encoding", `${label}: 304 carries Vary`);
          assertEquals(response.header("cache-control"), "no-cache", label);
          const after = await client.response();
          assertEquals(after.status, 200, `${label}: the connection is still in step`);
          assertEquals(after.text(), PAGE, label);
        }
      }
      assertEquals(client.pending.length, 0, "no stray bytes after the 304s");

      for (const value of ['"nope"', `"${PAGE.length.toString(16)}-0"`, expectedTag(1, MTIME)]) {
        const response = await send(server, "GET", "/page.html", [["If-None-Match", value]]);
        assertEquals(response.status, 200, value);
        assertEquals(response.text(), PAGE, value);
      }

      // The gzip representation validates with its own tag and its 304 says so.
      const gzipTag = expectedTag(PAGE.length, MTIME, "-gz");
      for (const method of ["GET", "HEAD"]) {
        const response = await send(server, method, "/page.html", [
          ["Accept-Encoding", "gzip"],
          ["If-None-Match", gzipTag],
        ]);
        assertNotModified(response, gzipTag, `${method} gzip 304`);
        assertEquals(response.header("vary"), "Accept-Encoding");
      }

      // A strict client sees the same 304.
      const first = await fetch(`http://127.0.0.1:${server.port}/page.html`);
      await first.body?.cancel();
      const tag = first.headers.get("etag")!;
      const again = await fetch(`http://127.0.0.1:${server.port}/page.html`, {
        headers: { "if-none-match": tag },
      });
      assertEquals(again.status, 304);
      assertEquals(again.headers.get("etag"), tag);
      assertEquals(again.headers.get("vary"), "Accept-Encoding");
      assertEquals(again.headers.get("content-length"), null);
      assertEquals((await again.arrayBuffer()).byteLength, 0);
    } finally {
      client.close();
    }
  });
});

Deno.test("If-Modified-Since gives 304 for GET and HEAD unless modified later, and If-None-Match takes precedence", async () => {
  // Seed, where sample.txt is a download that never varies by encoding.
  await withBastion({
    args: [...NO_LIMITS, "--profile", "seed"],
    files: { "page.html": PAGE },
  }, async (server) => {
    await touch(server.root, ["page.html", "sample.txt"]);
    const etag = expectedTag(PAGE.length, MTIME);
    const later = "Wed, 01 Jan 2098 00:00:00 GMT";
    const earlier = new Date(MTIME - 1000).toUTCString();
    for (const method of ["GET", "HEAD"]) {
      for (const since of [LAST_MODIFIED, later]) {
        const response = await send(server, method, "/page.html", [["If-Modified-Since", since]]);
        assertNotModified(response, etag, `${method} If-Modified-Since: ${since}`);
      }
      const modified = await send(server, method, "/page.html", [["If-Modified-Since", earlier]]);
      assertEquals(modified.status, 200, `${method} modified after the date`);
      assertEquals(modified.header("content-length"), String(PAGE.length));

      // If-None-Match decides alone when present.
      const mismatch = await send(server, method, "/page.html", [
        ["If-None-Match", '"other"'],
        ["If-Modified-Since", later],
      ]);
      assertEquals(
        mismatch.status,
        200,
        `${method}: a mismatching tag wins over an unmodified date`,
      );
      const match = await send(server, method, "/page.html", [
        ["If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"],
        ["If-None-Match", etag],
      ]);
      assertNotModified(match, etag, `${method}: a matching tag wins over a modified date`);
    }
    const download = await send(server, "GET", "/sample.txt", [
      ["If-Modified-Since", LAST_MODIFIED],
    ]);
    assertEquals(download.status, 304, "downloads validate too");
    assertEquals(download.header("vary"), undefined, "no Vary on a never-compressed download");
    const invalid = await send(server, "GET", "/page.html", [["If-Modified-Since", "yesterday"]]);
    assertEquals(invalid.status, 200, "an invalid date is ignored");
    assertEquals(invalid.text(), PAGE);
  });
});

Deno.test("a failing If-Match or If-Unmodified-Since is 412 for GET and HEAD; a passing one serves the file", async () => {
  await withBastion({ args: NO_LIMITS, files: { "page.html": PAGE } }, async (server) => {
    const client = await RawClient.connect(server.port);
    try {
      await touch(server.root, ["page.html"]);
      const etag = expectedTag(PAGE.length, MTIME);
      const failing: [string, string][][] = [
        [["If-Match", '"other"']],
        [["If-Match", `W/${etag}`]],
        [["If-Match", expectedTag(PAGE.length, MTIME, "-gz")]],
        [["If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"]],
        [["If-Unmodified-Since", new Date(MTIME - 1000).toUTCString()]],
        [["If-Match", '"other"'], ["If-None-Match", etag]],
        [["If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"], ["If-None-Match", etag]],
      ];
      for (const headers of failing) {
        for (const method of ["GET", "HEAD"]) {
          const label = `${method} ${JSON.stringify(headers)}`;
          await client.send(request(method, "/page.html", headers));
          const response = await client.response({ head: method === "HEAD" });
          assertEquals(response.status, 412, label);
          assertEquals(response.header("connection"), undefined, `${label}: stays open`);
          if (method === "GET") assertTrue(!response.text().includes("cacheable text"), label);
        }
      }
      const passing: [string, string][][] = [
        [["If-Match", etag]],
        [["If-Match", "*"]],
        [["If-Match", `"other", ${etag}`]],
        [["If-Unmodified-Since", LAST_MODIFIED]],
        [["If-Unmodified-Since", "Wed, 01 Jan 2098 00:00:00 GMT"]],
        [["If-Match", etag], ["If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"]],
      ];
      for (const headers of passing) {
        await client.send(request("GET", "/page.html", headers));
        const response = await client.response();
        assertEquals(response.status, 200, JSON.stringify(headers));
        assertEquals(response.text(), PAGE, JSON.stringify(headers));
      }
      const strict = await fetch(`http://127.0.0.1:${server.port}/page.html`, {
        headers: { "if-match": '"other"' },
      });
      assertEquals(strict.status, 412);
      await strict.body?.cancel();
    } finally {
      client.close();
    }
  });
});

Deno.test("an If-None-Match list split over two header lines is read as one list (RFC 9110 §5.3)", async () => {
  await withBastion({ args: NO_LIMITS, files: { "page.html": PAGE } }, async (server) => {
    await touch(server.root, ["page.html"]);
    const etag = expectedTag(PAGE.length, MTIME);
    for (const method of ["GET", "HEAD"]) {
      const response = await send(server, method, "/page.html", [
        ["If-None-Match", '"older-version"'],
        ["If-None-Match", etag],
      ]);
      assertNotModified(response, etag, `${method} with the match on the second line`);
    }
  });
});

/** Starts bastion on an existing root (so that a restart serves the very same files). */
async function startOnRoot(root: string, uploads: string): Promise<Bastion> {
  const process = spawnBastion(
    ["--allow-net", `--allow-read=${root}`, `--allow-write=${uploads}`],
    ["--root", root, "--port", "0", ...NO_LIMITS],
  );
  try {
    const port = Number((await process.waitForLog(BANNER)).match(BANNER)![1]);
    return { ...process, port, root, uploads };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

Deno.test("ETag and Last-Modified of an unchanged file are the same after a server restart", async () => {
  const { base, root, uploads } = await makeRoot({ files: { "page.html": PAGE } });
  try {
    await touch(root, ["page.html", "logo.png"]);
    const seen: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const server = await startOnRoot(root, uploads);
      try {
        const tags: string[] = [];
        for (const [path, coding] of [["/page.html", "identity"], ["/page.html", "gzip"]]) {
          const response = await send(server, "GET", path, [["Accept-Encoding", coding]]);
          assertEquals(response.status, 200);
          assertEquals(response.header("cache-control"), "no-cache", "the default Cache-Control");
          tags.push(response.header("etag")!, response.header("last-modified")!);
        }
        const logo = await send(server, "HEAD", "/logo.png");
        tags.push(logo.header("etag")!);
        if (run === 1) {
          // A cache holding the first run's tag revalidates against the second process.
          const revalidated = await send(server, "GET", "/page.html", [
            ["If-None-Match", seen[0][0]],
          ]);
          assertNotModified(revalidated, seen[0][0], "old tag after restart");
        }
        seen.push(tags);
      } finally {
        await server.stop();
      }
    }
    assertEquals(seen[1], seen[0]);
    assertEquals(seen[0][0], expectedTag(PAGE.length, MTIME));
    assertEquals(seen[0][2], expectedTag(PAGE.length, MTIME, "-gz"));
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

Deno.test("identity, gzip and br representations have distinct strong ETags, each validating only itself", async () => {
  await withBastion({ args: NO_LIMITS, files: { "page.html": PAGE } }, async (server) => {
    const brotli = brotliCompressSync(new TextEncoder().encode(PAGE));
    await Deno.writeFile(join(server.root, "page.html.br"), brotli);
    await touch(server.root, ["page.html", "page.html.br"]);
    const tags: Record<string, string> = {};
    for (const [accept, coding] of [["identity", undefined], ["gzip", "gzip"], ["br", "br"]]) {
      const response = await send(server, "GET", "/page.html", [["Accept-Encoding", accept!]]);
      assertEquals(response.status, 200, accept);
      assertEquals(response.header("content-encoding"), coding, accept);
      tags[accept!] = response.header("etag")!;
      assertMatch(tags[accept!], /^"[0-9a-f]+-[0-9a-f]+(-gz|-br)?"$/, `${accept}: strong`);
    }
    const noHeader = await send(server, "GET", "/page.html");
    assertEquals(noHeader.header("etag"), tags.identity);
    assertEquals(tags.identity, expectedTag(PAGE.length, MTIME));
    assertEquals(tags.gzip, expectedTag(PAGE.length, MTIME, "-gz"));
    assertEquals(tags.br, expectedTag(PAGE.length, MTIME, "-br"));
    assertEquals(new Set(Object.values(tags)).size, 3, "one tag per representation");
    assertNotEquals(tags.gzip, tags.br);

    // Each tag revalidates only the representation it names.
    const cases: [string, string, number][] = [
      ["gzip", tags.gzip, 304],
      ["br", tags.br, 304],
      ["identity", tags.identity, 304],
      ["br", tags.gzip, 200],
      ["gzip", tags.identity, 200],
      ["identity", tags.br, 200],
    ];
    for (const [accept, tag, status] of cases) {
      const response = await send(server, "GET", "/page.html", [
        ["Accept-Encoding", accept],
        ["If-None-Match", tag],
      ]);
      assertEquals(response.status, status, `${accept} with ${tag}`);
      if (status === 304) assertEquals(response.header("etag"), tag);
      assertEquals(response.header("vary"), "Accept-Encoding", `${accept} with ${tag}`);
    }
  });
});
