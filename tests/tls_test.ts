import { assertEquals, assertMatch, assertTrue } from "./_assert.ts";
import { get, roundTrip, withBastion } from "./_harness.ts";
import { selfSigned, tlsRequest } from "./_tls.ts";

Deno.test("--cert/--key serve HTTPS with ALPN http/1.1 and HSTS, with the same limits", async () => {
  const tls = await selfSigned();
  try {
    await withBastion({
      args: ["--cert", tls.cert, "--key", tls.key],
      extraRead: [tls.cert, tls.key],
    }, async (server) => {
      assertMatch(server.stdout(), /listening on https:\/\/127\.0\.0\.1:\d+\//);
      const caCert = await Deno.readTextFile(tls.cert);
      const page = await tlsRequest(
        server.port,
        caCert,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assertMatch(page, /^HTTP\/1\.1 200 OK\r\n/);
      assertMatch(page, /\r\nStrict-Transport-Security: max-age=31536000; includeSubDomains\r\n/);
      const traversal = await tlsRequest(
        server.port,
        caCert,
        "GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assertMatch(traversal, /^HTTP\/1\.1 403 /);
      const tooLong = await tlsRequest(
        server.port,
        caCert,
        `GET /${"a".repeat(5000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      );
      assertMatch(tooLong, /^HTTP\/1\.1 414 /);
    });
  } finally {
    await Deno.remove(tls.dir, { recursive: true });
  }
});

Deno.test("plain HTTP responses carry no HSTS header", async () => {
  await withBastion(async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    const buffer = new Uint8Array(65536);
    const n = await conn.read(buffer);
    conn.close();
    const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    assertMatch(head, /^HTTP\/1\.1 200/);
    assertEquals(/strict-transport-security/i.test(head), false);
  });
});

Deno.test("over TLS, a partial head gets 408 and a client that never handshakes is closed", async () => {
  const tls = await selfSigned();
  try {
    await withBastion({
      args: ["--cert", tls.cert, "--key", tls.key, "--header-timeout", "300ms"],
      extraRead: [tls.cert, tls.key],
    }, async (server) => {
      const caCert = await Deno.readTextFile(tls.cert);
      const partial = await tlsRequest(server.port, caCert, "GET / HTTP/1.1\r\nHost: local");
      assertMatch(partial, /^HTTP\/1\.1 408 /);
      const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const started = Date.now();
      const timer = setTimeout(() => silent.close(), 5000);
      const read = await silent.read(new Uint8Array(16)).catch(() => "interrupted");
      clearTimeout(timer);
      assertEquals(read, null, "the server closed it");
      assertTrue(Date.now() - started < 3000, "at the header timeout, not later");
      silent.close();
      const served = await tlsRequest(
        server.port,
        caCert,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assertMatch(served, /^HTTP\/1\.1 200 /);
    });
  } finally {
    await Deno.remove(tls.dir, { recursive: true });
  }
});

Deno.test("plain HTTP sent to the TLS port gets a readable 400 saying the port speaks HTTPS, then a close", async () => {
  const tls = await selfSigned();
  try {
    await withBastion({
      args: ["--cert", tls.cert, "--key", tls.key],
      extraRead: [tls.cert, tls.key],
    }, async (server) => {
      const answer = await roundTrip(server.port, get("/"));
      assertEquals(answer.status, 400);
      assertMatch(answer.text(), /This port speaks HTTPS/);
      assertEquals(answer.header("connection"), "close");
      assertEquals(answer.header("x-content-type-options"), "nosniff");
      assertEquals(answer.header("server"), "bastion");
      // The same listener still speaks TLS to the next client.
      const page = await tlsRequest(
        server.port,
        await Deno.readTextFile(tls.cert),
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assertMatch(page, /^HTTP\/1\.1 200 OK\r\n/);
      assertTrue(!/security reason=parse/.test(server.stdout()), "a wrong port is no attack");
    });
  } finally {
    await Deno.remove(tls.dir, { recursive: true });
  }
});
