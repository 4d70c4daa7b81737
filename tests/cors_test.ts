import { assertEquals } from "./_assert.ts";
import { roundTrip, withBastion } from "./_harness.ts";

Deno.test("--cors answers preflights and marks GET/POST responses for the allowed origin only", async () => {
  await withBastion({ args: ["--cors", "https://app.example"] }, async (server) => {
    const preflight = await roundTrip(
      server.port,
      "OPTIONS /upload HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n" +
        "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n",
    );
    assertEquals(preflight.status, 204);
    assertEquals(preflight.header("allow"), "POST, OPTIONS");
    assertEquals(preflight.header("access-control-allow-origin"), "https://app.example");
    assertEquals(preflight.header("access-control-allow-methods"), "POST");
    assertEquals(preflight.header("content-length"), undefined, "204 carries no Content-Length");

    const page = await roundTrip(
      server.port,
      "GET / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n\r\n",
    );
    assertEquals(page.header("access-control-allow-origin"), "https://app.example");
    assertEquals(page.header("vary"), "Accept-Encoding, Origin");
    // The file's headers are made once and shared: the merged Vary must not pile up.
    for (let again = 0; again < 3; again++) {
      const repeated = await roundTrip(
        server.port,
        "GET / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n\r\n",
      );
      assertEquals(repeated.header("vary"), "Accept-Encoding, Origin");
    }

    const missing = await roundTrip(
      server.port,
      "GET /missing.html HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n\r\n",
    );
    assertEquals(missing.status, 404);
    assertEquals(missing.header("access-control-allow-origin"), "https://app.example");

    const foreign = await roundTrip(
      server.port,
      "GET / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\n\r\n",
    );
    assertEquals(foreign.header("access-control-allow-origin"), undefined);
  });
});

Deno.test("without --cors, OPTIONS gets 204 with Allow and no CORS headers", async () => {
  await withBastion(async (server) => {
    const response = await roundTrip(
      server.port,
      "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n" +
        "Access-Control-Request-Method: GET\r\n\r\n",
    );
    assertEquals(response.status, 204);
    assertEquals(response.header("allow"), "GET, HEAD, OPTIONS");
    assertEquals(response.header("access-control-allow-origin"), undefined);
    const star = await roundTrip(server.port, "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assertEquals(star.header("allow"), "GET, HEAD, POST, OPTIONS");
  });
});
