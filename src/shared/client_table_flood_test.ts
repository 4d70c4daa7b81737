// A client table filled with bans, over real sockets, in a server started in
// this process with a table of 32 slots (one probe window), so that a few
// dozen source addresses in 127.0.0.0/8 fill it as 17 000 fill the default.
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { fromAddress, makeRoot } from "../../tests/_harness.ts";
import { parseCommand } from "../config.ts";
import { UploadQuota } from "./upload_quota.ts";
import { Logger } from "../log.ts";
import { prepare } from "../startup.ts";
import { ClientTable } from "./client_table.ts";
import { Metrics } from "./metrics.ts";
import { startBastion } from "../assemble.ts";

const SLOTS = 32;

Deno.test("a client table full of bans still rate-limits new addresses", async () => {
  const { root } = await makeRoot({ copyResources: false, files: { "a.txt": "a" } });
  const command = parseCommand([
    ...["--root", root, "--host", "127.0.0.1", "--port", "0"],
    ...["--rate-limit", "1/s:3", "--ban", "1/60s:300s"],
  ]);
  if (command.kind !== "run") throw new Error("Unexpected command");
  const { config } = command;
  const clients = ClientTable.create(SLOTS);
  const server = await startBastion({
    config,
    log: new Logger({ out: { write: (bytes) => Promise.resolve(bytes.length) } }),
    prepared: await prepare(config),
    shared: {
      quota: UploadQuota.create(config.uploadQuota, 0),
      clients,
      metrics: Metrics.create(),
    },
  });
  const { port } = server.addr;
  const traversal = "GET /../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  const get = "GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  try {
    // One traversal bans each address: more bans than slots.
    for (let i = 1; i <= SLOTS + 8; i++) {
      assertTrue((await fromAddress(port, `127.0.9.${i}`, traversal)).startsWith("HTTP/1.1 403"));
    }
    assertEquals(clients.size, SLOTS);
    for (let i = 1; i <= 3; i++) {
      const text = await fromAddress(port, `127.0.10.${i}`, get.repeat(5) + traversal);
      assertEquals(text.match(/HTTP\/1\.1 200 /g)?.length, 3, `127.0.10.${i}: the burst`);
      assertEquals(text.match(/HTTP\/1\.1 429 /g)?.length, 3, `127.0.10.${i}: then 429`);
    }
  } finally {
    await server.shutdown();
  }
});
