import { assertEquals, assertMatch } from "../../tests/_assert.ts";
import { makeRoot } from "../../tests/_harness.ts";
import { parseCommand } from "../config.ts";
import { UploadQuota } from "../shared/upload_quota.ts";
import { Logger } from "../log.ts";
import { prepare } from "../startup.ts";
import { ClientTable } from "../shared/client_table.ts";
import { Metrics } from "../shared/metrics.ts";
import { WorkerPool } from "./workers.ts";

/** A port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Sends a GET on `conn` and returns the response's status. */
async function get(conn: Deno.Conn, port: number, close: boolean): Promise<number> {
  const connection = close ? "Connection: close\r\n" : "";
  const request = `GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${connection}\r\n`;
  await conn.write(new TextEncoder().encode(request));
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  return Number(new TextDecoder().decode(buffer.subarray(0, n ?? 0)).slice(9, 12));
}

/** One request on a new connection that closes after it. */
async function status(port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await get(conn, port, true);
  } finally {
    conn.close();
  }
}

Deno.test("a worker that dies is logged, restarted, and its connections no longer count", async () => {
  const { base, root } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const flag = `${base}/die-once`;
  await Deno.writeTextFile(flag, "");
  Deno.env.set("DYING_WORKER_FLAG", flag);
  const port = freePort();
  const command = parseCommand([
    ...["--root", root, "--host", "127.0.0.1", "--port", String(port), "--workers", "1"],
    // One connection per address: one the dead worker held and still counted would refuse the next.
    ...["--shutdown-timeout", "1s", "--max-connections-per-ip", "1"],
  ]);
  if (command.kind !== "run") throw new Error("Unexpected command");
  const { config } = command;
  let logged = "";
  // The main thread's logger is worker 0, as in the real process.
  const log = new Logger({
    worker: 0,
    out: {
      write: (bytes) => {
        logged += new TextDecoder().decode(bytes);
        return Promise.resolve(bytes.length);
      },
    },
  });
  const shared = {
    quota: UploadQuota.create(config.uploadQuota, 0),
    clients: ClientTable.create(1024),
    metrics: Metrics.create(),
  };
  const pool = new WorkerPool({
    module: new URL("./testdata/dying_worker.ts", import.meta.url),
    config,
    prepared: await prepare(config),
    shared,
    startedAt: Date.now(),
    log,
  });
  let held: Deno.Conn | null = null;
  try {
    await pool.start();
    held = await Deno.connect({ hostname: "127.0.0.1", port });
    assertEquals(await get(held, port, false), 200, "before it dies, kept alive");
    for (let waited = 0; !logged.includes("worker restarted") && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await log.flush();
    }
    assertMatch(logged, /ERROR w0 worker died, restarting worker=1 error=.*dying on purpose/);
    assertMatch(logged, /INFO w0 worker restarted worker=1/);
    held.close();
    held = null;
    assertEquals(await status(port), 200, "after the restart, from the same address");
    // The server lets go of that last connection just after its response.
    for (let waited = 0; shared.clients.openConnections > 0 && waited < 2000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(shared.clients.openConnections, 0, "nothing left counted");
  } finally {
    held?.close();
    await pool.shutdown();
    Deno.env.delete("DYING_WORKER_FLAG");
  }
});
