// The address a client connected to is an allowed Host (SPEC §5), over real
// sockets: bound to all interfaces, a client that reaches 127.0.0.2 (Linux
// routes all of 127/8 to lo) may name it, and only it, on that connection.
import { assertEquals } from "./_assert.ts";
import { RawClient, withBastion } from "./_harness.ts";

/** The status of one GET naming `host`, sent over a new connection to `address`. */
async function statusVia(address: string, port: number, host: string): Promise<number> {
  const client = await RawClient.connect(port, address);
  try {
    await client.send(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    return (await client.response()).status;
  } finally {
    client.close();
  }
}

Deno.test("bound to 0.0.0.0, the address the client connected to is an allowed Host", async () => {
  await withBastion({ args: ["--host", "0.0.0.0", "--ban", "off"] }, async (server) => {
    const { port } = server;
    assertEquals(await statusVia("127.0.0.2", port, `127.0.0.2:${port}`), 200);
    assertEquals(await statusVia("127.0.0.2", port, "127.0.0.2"), 200);
    assertEquals(await statusVia("127.0.0.2", port, `127.0.0.3:${port}`), 403);
    assertEquals(await statusVia("127.0.0.2", port, `127.0.0.2:${port + 1}`), 403, "port");
    assertEquals(await statusVia("127.0.0.2", port, "evil.example"), 403);
    // Just allowed on a connection to 127.0.0.2: not on one to 127.0.0.3.
    assertEquals(await statusVia("127.0.0.2", port, `127.0.0.2:${port}`), 200);
    assertEquals(await statusVia("127.0.0.3", port, `127.0.0.2:${port}`), 403);
    assertEquals(await statusVia("127.0.0.3", port, `127.0.0.3:${port}`), 200);
  });
});

Deno.test("bound to ::, an IPv4 client may name the IPv4 address it connected to", async () => {
  await withBastion({ args: ["--host", "::", "--ban", "off"] }, async (server) => {
    const { port } = server;
    assertEquals(await statusVia("127.0.0.2", port, `127.0.0.2:${port}`), 200);
    assertEquals(await statusVia("127.0.0.2", port, `[::ffff:127.0.0.2]:${port}`), 403);
    assertEquals(await statusVia("::1", port, `[::1]:${port}`), 200);
    assertEquals(await statusVia("::1", port, `127.0.0.2:${port}`), 403);
  });
});
