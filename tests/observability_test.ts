// /healthz and /metrics (SPEC §8).
import { assertEquals, assertTrue } from "./_assert.ts";
import { get, NO_LIMITS, roundTrip, withBastion } from "./_harness.ts";
import { parsePrometheus } from "./_prometheus.ts";

Deno.test("/healthz answers ok with uptime, open connections and workers", async () => {
  await withBastion(async (server) => {
    const response = await roundTrip(server.port, get("/healthz"));
    assertEquals(response.status, 200);
    assertEquals(response.header("content-type"), "application/json");
    const body = JSON.parse(response.text());
    assertEquals(body.status, "ok");
    assertEquals(body.workers, 1);
    assertTrue(body.connections >= 1, "counts the asking connection");
    assertTrue(Number.isInteger(body.uptime_s));
  });
});

Deno.test("/metrics is valid Prometheus text and counts exactly what was served", async () => {
  await withBastion({ args: NO_LIMITS }, async (server) => {
    for (let i = 0; i < 5; i++) assertEquals((await roundTrip(server.port, get("/"))).status, 200);
    await roundTrip(server.port, get("/missing.html"));
    await roundTrip(server.port, get("/../etc/passwd"));
    const upload =
      `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
      `Content-Length: 2\r\n\r\n{}`;
    assertEquals((await roundTrip(server.port, upload)).status, 201);
    const response = await roundTrip(server.port, get("/metrics"));
    assertEquals(response.status, 200);
    assertEquals(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const samples = parsePrometheus(response.text());
    assertEquals(samples.get('bastion_requests_total{method="GET",status="200"}'), 5);
    assertEquals(samples.get('bastion_requests_total{method="GET",status="404"}'), 1);
    assertEquals(samples.get('bastion_requests_total{method="POST",status="201"}'), 1);
    assertEquals(samples.get('bastion_rejections_total{reason="traversal"}'), 1);
    assertEquals(samples.get("bastion_uploads_total"), 1);
    assertEquals(samples.get("bastion_connections_total"), 9);
    assertEquals(samples.get("bastion_connections_open"), 1);
    assertEquals(samples.get('bastion_request_duration_seconds_bucket{le="+Inf"}'), 8);
    assertEquals(samples.get("bastion_request_duration_seconds_count"), 8);
    assertTrue((samples.get("bastion_response_bytes_total") ?? 0) >= 5 * 1724);
  });
});

Deno.test("/metrics is 404 for a non-loopback client unless --metrics-public", async () => {
  const forwarded = get("/metrics", "X-Forwarded-For: 203.0.113.7\r\n");
  await withBastion({ args: ["--trust-proxy", "127.0.0.1"] }, async (closed) => {
    assertEquals((await roundTrip(closed.port, forwarded)).status, 404);
    assertEquals((await roundTrip(closed.port, get("/metrics"))).status, 200);
  });
  await withBastion({ args: ["--trust-proxy", "127.0.0.1", "--metrics-public"] }, async (open) => {
    assertEquals((await roundTrip(open.port, forwarded)).status, 200);
  });
});
