import { assertEquals, assertTrue } from "./_assert.ts";
import { get, RawClient, startBastion } from "./_harness.ts";

const BIG = 8 * 1024 * 1024;

/** Reads a response of `size` body bytes slowly: `delayMs` between reads of 64 KiB. */
async function slowDownload(conn: Deno.Conn, size: number, delayMs: number): Promise<number> {
  const buffer = new Uint8Array(65536);
  let received = 0;
  let headEnd = -1;
  let head = "";
  while (headEnd < 0 || received < size) {
    const n = await conn.read(buffer);
    if (n === null) break;
    if (headEnd < 0) {
      head += new TextDecoder("latin1").decode(buffer.subarray(0, n));
      headEnd = head.indexOf("\r\n\r\n");
      if (headEnd >= 0) received = head.length - headEnd - 4;
    } else {
      received += n;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return received;
}

Deno.test("SIGTERM lets an in-flight download finish, closes idle connections and exits 0", async () => {
  const server = await startBastion({
    files: { "big.html": new Uint8Array(BIG).fill(65) },
    args: ["--shutdown-timeout", "20s"],
  });
  const idle = await RawClient.connect(server.port);
  await idle.send(get("/"));
  assertEquals((await idle.response()).status, 200);
  const downloading = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await downloading.write(new TextEncoder().encode(get("/big.html")));
  const download = slowDownload(downloading, BIG, 5);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const status = server.stop("SIGTERM");
  assertTrue(await idle.closed(3000), "the idle keep-alive connection is closed at once");
  assertEquals(await download, BIG, "the in-flight response completes");
  downloading.close();
  idle.close();
  assertEquals((await status).code, 0);
  let refused = false;
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port: server.port })).close();
  } catch {
    refused = true;
  }
  assertTrue(refused, "the listener is closed");
});

Deno.test("a second signal ends the process at once", async () => {
  const server = await startBastion({
    files: { "big.html": new Uint8Array(BIG).fill(66) },
    args: ["--shutdown-timeout", "60s"],
  });
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await stuck.write(new TextEncoder().encode(get("/big.html")));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  const status = server.stop("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.stop("SIGTERM");
  const exit = await status;
  assertTrue(Date.now() - started < 10_000, "did not wait for the 60 s grace period");
  assertTrue(exit.code !== 0, "an interrupted shutdown is not a clean exit");
  stuck.close();
});
