import { assertEquals, assertMatch } from "../../tests/_assert.ts";
import { makeRoot } from "../../tests/_harness.ts";
import { parseCommand } from "../config.ts";
import { UploadQuota } from "../handlers/upload_quota.ts";
import { Logger } from "../log.ts";
import { prepare } from "../startup.ts";
import { ClientTable } from "./client_table.ts";
import { Metrics } from "./metrics.ts";
import { WorkerPool } from "./workers.ts";

/** A port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function status(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/a.txt`);
  await response.body?.cancel();
  return response.status;
}

Deno.test("a worker that dies is logged, restarted, and serves again", async () => {
  const { base, root } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const flag = `${base}/die-once`;
  await Deno.writeTextFile(flag, "");
  Deno.env.set("DYING_WORKER_FLAG", flag);
  const port = freePort();
  const command = parseCommand([
    ...["--root", root, "--host", "127.0.0.1", "--port", String(port), "--workers", "1"],
    ...["--shutdown-timeout", "1s"],
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
  const pool = new WorkerPool({
    module: new URL("./testdata/dying_worker.ts", import.meta.url),
    config,
    prepared: await prepare(config),
    shared: {
      quota: UploadQuota.create(config.uploadQuota, 0),
      clients: ClientTable.create(1024),
      metrics: Metrics.create(),
    },
    startedAt: Date.now(),
    log,
  });
  try {
    await pool.start();
    assertEquals(await status(port), 200, "before it dies");
    for (let waited = 0; !logged.includes("worker restarted") && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await log.flush();
    }
    assertMatch(logged, /ERROR w0 worker died, restarting worker=1 error=.*dying on purpose/);
    assertMatch(logged, /INFO w0 worker restarted worker=1/);
    assertEquals(await status(port), 200, "after the restart");
  } finally {
    await pool.shutdown();
    Deno.env.delete("DYING_WORKER_FLAG");
  }
});
