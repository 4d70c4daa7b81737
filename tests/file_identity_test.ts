/**
 * A file is opened first and proven after (issue 16, "directory ⇄ symlink
 * swapped in a loop inside the root"): what bastion opens must be the file it
 * resolved inside the root, whatever was renamed in between, and a response
 * whose file fails while it streams is logged as cut short, not as a clean
 * 200. The gap between resolving and opening is made wide and certain here
 * with the file cache, which opens a large file by the real path it resolved
 * up to `--file-cache-ttl` earlier.
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { get, roundTrip, withBastion } from "./_harness.ts";

/** Over the 1 MiB the file cache keeps in memory: streamed from disk on every request. */
const SIZE = 2 * 1024 * 1024;

Deno.test("a cached file whose directory is swapped for a symlink out of the root gets 403 and none of its bytes, even where Deno may read", async () => {
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "bastion-outside-" }));
  await Deno.writeTextFile(join(outside, "big.txt"), "s".repeat(SIZE));
  // Deno's sandbox lets the outside be read: only bastion's own check stands in the way.
  try {
    await withBastion({
      args: ["--file-cache-ttl", "60s", "--ban", "off"],
      files: { "d/big.txt": "i".repeat(SIZE) },
      copyResources: false,
      extraRead: [outside],
    }, async (server) => {
      await Deno.symlink(join(outside, "big.txt"), join(server.root, "link.txt"));
      const first = await roundTrip(server.port, get("/d/big.txt"));
      assertEquals([first.status, first.body.length], [200, SIZE]);
      await Deno.rename(join(server.root, "d"), join(server.root, ".d-away"));
      await Deno.symlink(outside, join(server.root, "d"));
      for (const path of ["/d/big.txt", "/link.txt"]) {
        const response = await roundTrip(server.port, get(path));
        assertEquals(response.status, 403, `${path}: ${response.head}`);
        assertTrue(!response.text().includes("sss"), `${path} leaked the file outside the root`);
      }
    });
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a response cut short is logged as such: by its body when the file shrinks while it streams, by the connection when the client leaves", async () => {
  await withBastion({ args: ["--file-cache", "off"], copyResources: false }, async (server) => {
    const path = join(server.root, "big.bin");
    // Sparse, and far larger than the socket buffers: most of it is still unread when it is cut.
    await Deno.writeFile(path, new Uint8Array(0));
    await Deno.truncate(path, 64 * 1024 * 1024);
    await cutShort(server.port, () => Deno.truncate(path, 0));
    const body = await server.waitForLog(/"GET \/big\.bin HTTP\/1\.1" 200 \d+ .*cut=body/);
    assertMatch(body, /"GET \/big\.bin HTTP\/1\.1" 200 \d+ \S+ rid=\S+ cut=body/);
    await Deno.truncate(path, 64 * 1024 * 1024);
    await cutShort(server.port, null);
    const conn = await server.waitForLog(/"GET \/big\.bin HTTP\/1\.1" 200 \d+ .*cut=conn/);
    assertMatch(conn, /"GET \/big\.bin HTTP\/1\.1" 200 \d+ \S+ rid=\S+ cut=conn/);
  });
});

/**
 * GETs `/big.bin` and reads the head; then `shrink`s the file and reads on
 * until the server closes, or without `shrink` closes at once.
 */
async function cutShort(port: number, shrink: (() => Promise<void>) | null): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(get("/big.bin")));
    assertMatch(await readHead(conn), /^HTTP\/1\.1 200 /);
    if (shrink !== null) {
      await shrink();
      await drain(conn);
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed by drain()'s timer */ }
  }
}

/** Reads until the end of the response head (a few KiB at most). */
async function readHead(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(1024);
  let text = "";
  while (!text.includes("\r\n\r\n") && text.length < 16 * 1024) {
    const read = await conn.read(buffer);
    if (read === null) break;
    text += new TextDecoder("latin1").decode(buffer.subarray(0, read));
  }
  return text;
}

/** Reads until the server closes the connection (10 s at most). */
async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(256 * 1024);
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    while ((await conn.read(buffer)) !== null);
  } catch { /* closed by the timer */ }
  clearTimeout(timer);
}
