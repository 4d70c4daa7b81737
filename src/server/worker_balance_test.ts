import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { makeRoot } from "../../tests/_harness.ts";
import { parseCommand } from "../config.ts";
import { UploadQuota } from "../handlers/upload_quota.ts";
import { Logger } from "../log.ts";
import { prepare } from "../startup.ts";
import { ClientTable } from "./client_table.ts";
import { Metrics } from "./metrics.ts";
import { startServer } from "./server.ts";
import { OVER_SHARE_GAP_MS, WorkerBalance } from "./worker_balance.ts";

Deno.test("a worker ends connections early only when over its share, one per gap at most", () => {
  const balance = new WorkerBalance(2);
  assertEquals(balance.endEarly(135, 256, 0), false, "within 1.1 × 128 + 8");
  assertEquals(balance.endEarly(150, 256, 0), true, "over 148.8");
  assertEquals(balance.endEarly(150, 256, OVER_SHARE_GAP_MS - 1), false, "too soon");
  assertEquals(balance.endEarly(150, 256, OVER_SHARE_GAP_MS), true);
  assertEquals(balance.endEarly(10, 10, 1000), false, "small numbers never count");
  assertEquals(balance.endEarly(18, 18, 2000), true, "18 > 9.9 + 8");
  assertEquals(new WorkerBalance(1).endEarly(1000, 1000, 0), false, "one worker has no share");
});

/**
 * One in-process server told it is one of `workers`: every connection it
 * holds is then its own, over its share once there are enough of them.
 */
async function closesOverConnections(workers: number, connections: number): Promise<number> {
  const { root } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const command = parseCommand([
    ...["--root", root, "--host", "127.0.0.1", "--port", "0", "--workers", String(workers)],
    ...["--rate-limit", "off", "--max-connections-per-ip", "1000"],
  ]);
  if (command.kind !== "run") throw new Error("Unexpected command");
  const { config } = command;
  const server = await startServer({
    config,
    log: new Logger({ out: { write: (bytes) => Promise.resolve(bytes.length) } }),
    prepared: await prepare(config),
    shared: {
      quota: UploadQuota.create(config.uploadQuota, 0),
      clients: ClientTable.create(1024),
      metrics: Metrics.create(),
    },
  });
  const { port } = server.addr;
  const conns: Deno.Conn[] = [];
  let closes = 0;
  try {
    for (let i = 0; i < connections; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    const request = new TextEncoder().encode(
      `GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
    );
    const buffer = new Uint8Array(4096);
    for (const conn of conns) {
      await conn.write(request);
      const n = await conn.read(buffer);
      const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      assertTrue(head.startsWith("HTTP/1.1 200 "), head);
      if (/\r\nConnection: close\r\n/i.test(head)) closes++;
      await new Promise((resolve) => setTimeout(resolve, OVER_SHARE_GAP_MS + 1));
    }
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
  return closes;
}

Deno.test("a worker holding more than its share answers with Connection: close until within it", async () => {
  // All n open connections are this worker's: over its share while n > 1.1 × n / 2 + 8,
  // so it ends them from 24 down to 17 (17 <= 17.35): 7 closes, the other 17 stay alive.
  assertEquals(await closesOverConnections(2, 24), 7);
});

Deno.test("a single worker keeps every connection alive", async () => {
  assertEquals(await closesOverConnections(1, 24), 0);
});
