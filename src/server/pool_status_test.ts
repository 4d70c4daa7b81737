import { assertEquals } from "../../tests/_assert.ts";
import { ClientTable } from "../shared/client_table.ts";
import { PoolStatus } from "./pool_status.ts";

Deno.test("PoolStatus logs each crossing of 50, 80 and 100 % once, for all workers together", () => {
  const table = ClientTable.create(64);
  const swapLevel = (level: number) => table.swapPoolLevel(level);
  const worker1 = new PoolStatus({ cap: 10, queue: 4, swapLevel });
  const worker2 = new PoolStatus({ cap: 10, queue: 4, swapLevel });
  assertEquals(worker1.update(4, 0), null);
  assertEquals(worker1.update(5, 0), "🟡 connections 5/10 | queue 0/4");
  assertEquals(worker2.update(6, 0), null, "the other worker saw the same level: no second line");
  assertEquals(worker2.update(8, 0), "🔴 connections 8/10 | queue 0/4");
  assertEquals(worker1.update(10, 2), "🔴 connections 10/10 | queue 2/4");
  assertEquals(worker1.update(3, 0), "🟢 connections 3/10 | queue 0/4");
});
