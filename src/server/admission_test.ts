import { assertEquals } from "../../tests/_assert.ts";
import { Admission } from "./admission.ts";
import { ClientTable } from "../shared/client_table.ts";

function admission(queue: number): Admission {
  return new Admission({
    table: ClientTable.create(64),
    maxConnections: 1,
    maxConnectionsPerIp: 100,
    queue,
    queueTimeoutMs: 60_000,
    rateLimit: null,
    ban: null,
  });
}

Deno.test("Admission: a first waiter goes ahead of ordinary ones, behind earlier first ones", async () => {
  const gate = admission(10);
  assertEquals(await gate.admit("holder"), null);
  const order: string[] = [];
  const waits = [
    gate.admit("crowd-1").then(() => order.push("crowd-1")),
    gate.admit("lone-1", true).then(() => order.push("lone-1")),
    gate.admit("crowd-2").then(() => order.push("crowd-2")),
    gate.admit("lone-2", true).then(() => order.push("lone-2")),
  ];
  for (const ip of ["holder", "lone-1", "lone-2", "crowd-1"]) {
    gate.release(ip);
    await Promise.resolve();
  }
  await Promise.all(waits);
  assertEquals(order, ["lone-1", "lone-2", "crowd-1", "crowd-2"]);
});

Deno.test("Admission: with the queue full, a first newcomer takes the last ordinary waiter's place", async () => {
  const gate = admission(2);
  assertEquals(await gate.admit("holder"), null);
  const crowd1 = gate.admit("crowd-1");
  const crowd2 = gate.admit("crowd-2");
  assertEquals(await gate.admit("crowd-3"), "global", "an ordinary one is refused at once");
  const lone = gate.admit("lone", true);
  assertEquals(await crowd2, "global", "the last ordinary waiter gave its place");
  assertEquals(gate.queued, 2);
  gate.release("holder");
  assertEquals(await lone, null, "and it is let in first");
  gate.release("lone");
  assertEquals(await crowd1, null);
});
