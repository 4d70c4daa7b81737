import { assertEquals, assertMatch } from "./_assert.ts";
import { get, RawClient, roundTrip, startBastion } from "./_harness.ts";

Deno.test("server serves index.html and stops with exit code 0 on SIGTERM", async () => {
  const server = await startBastion();
  try {
    const response = await roundTrip(server.port, get("/"));
    assertEquals(response.status, 200);
    assertEquals(response.header("content-type"), "text/html; charset=utf-8");
    assertMatch(response.text(), /bastion/);
    const client = await RawClient.connect(server.port);
    await client.send(get("/about.html") + get("/contact.html", "Connection: close\r\n"));
    assertEquals((await client.response()).status, 200);
    const last = await client.response();
    assertEquals(last.header("connection"), "close");
    assertEquals(await client.closed(), true);
    client.close();
  } finally {
    const status = await server.stop();
    assertEquals(status.code, 0);
  }
});
