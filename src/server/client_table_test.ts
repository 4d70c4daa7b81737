import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { ClientTable } from "./client_table.ts";

const caps = { perIp: 2, global: 3 };

Deno.test("ClientTable.open() enforces the per-address and the global cap", () => {
  const table = ClientTable.create(64);
  assertEquals(table.open("10.0.0.1", caps, 1000), null);
  assertEquals(table.open("10.0.0.1", caps, 1000), null);
  assertEquals(table.open("10.0.0.1", caps, 1000), "per-ip");
  assertEquals(table.open("10.0.0.2", caps, 1000), null);
  assertEquals(table.open("10.0.0.3", caps, 1000), "global");
  assertEquals(table.openConnections, 3);
  table.release("10.0.0.1", 1000);
  assertEquals(table.open("10.0.0.3", caps, 1000), null);
});

Deno.test("ClientTable.take() refills at the rate, caps at the burst and never goes into debt", () => {
  const table = ClientTable.create(64);
  const bucket = { rate: 10, burst: 3 };
  assertEquals([0, 1, 2].map(() => table.take("a", bucket, 0)), [0, 0, 0]);
  assertEquals(table.take("a", bucket, 0), 100);
  assertEquals(table.take("a", bucket, 0), 100, "a refused request takes no token");
  assertEquals(table.take("a", bucket, 100), 0);
  assertEquals(table.take("a", bucket, 10_000), 0);
  assertEquals(table.take("a", bucket, 10_000), 0);
  assertEquals(table.take("a", bucket, 10_000), 0);
  assertEquals(table.take("a", bucket, 10_000), 100, "the burst caps what idle time saves");
});

Deno.test("ClientTable.strike() bans on the Nth rejection in the window and clears the count", () => {
  const table = ClientTable.create(64);
  const rule = { count: 3, windowMs: 60_000, banMs: 300_000 };
  assertEquals(table.strike("a", rule, 0), false);
  assertEquals(table.strike("a", rule, 1), false);
  assertEquals(table.strike("a", rule, 2), true);
  assertTrue(table.banned("a", 3));
  assertEquals(table.open("a", caps, 3), "banned");
  assertEquals(table.strike("a", rule, 4), false, "no second ban while banned");
  assertTrue(!table.banned("a", 300_003));
  assertEquals(table.strike("a", rule, 300_004), false, "the ban cleared the count");
});

Deno.test("ClientTable.strike() forgets rejections older than the sliding window", () => {
  const table = ClientTable.create(64);
  const rule = { count: 3, windowMs: 1000, banMs: 5000 };
  table.strike("a", rule, 0);
  table.strike("a", rule, 10);
  assertEquals(table.strike("a", rule, 2500), false);
  assertEquals(table.strike("a", rule, 2600), false);
  assertEquals(table.strike("a", rule, 2700), true);
});

Deno.test("ClientTable stays bounded under a flood of distinct addresses", () => {
  const table = ClientTable.create(1024);
  const bucket = { rate: 1, burst: 1 };
  for (let i = 0; i < 50_000; i++) {
    table.take(`127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, bucket, i);
  }
  assertTrue(table.size <= 1024);
  assertEquals(table.take("192.0.2.1", bucket, 60_000), 0, "a new address still gets a bucket");
});

Deno.test("ClientTable counts exactly when two threads hammer it at once", async () => {
  const table = ClientTable.create(1024);
  const rounds = 200_000;
  const control = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL("./testdata/client_table_worker.ts", import.meta.url), {
    type: "module",
  });
  const done = new Promise((resolve) => worker.onmessage = resolve);
  worker.postMessage({ table: table.buffer, control: control.buffer, rounds });
  while (Atomics.load(control, 0) === 0) { /* wait until the worker is about to start */ }
  const caps = { perIp: 1e9, global: 1e9 };
  for (let i = 0; i < rounds; i++) table.open(`10.0.0.${i % 4}`, caps, 1);
  await done;
  worker.terminate();
  assertEquals(table.openConnections, 2 * rounds);
  for (let i = 0; i < 2 * rounds; i++) table.release(`10.0.0.${i % 4}`, 2);
  assertEquals(table.openConnections, 0);
});

Deno.test("ClientTable.banned() sees a ban on the real clock, and its end, for that address only", () => {
  const table = ClientTable.create(64);
  const rule = { count: 2, windowMs: 60_000, banMs: 5_000 };
  const now = Date.now();
  assertTrue(!table.banned("a", now), "no ban in force");
  table.strike("a", rule, now);
  assertTrue(table.strike("a", rule, now));
  assertTrue(table.banned("a", now + 1));
  assertTrue(!table.banned("b", now + 1));
  assertTrue(table.banned("a", now + 4_999));
  assertTrue(!table.banned("a", now + 5_000));
  assertTrue(!table.banned("a", now + 60_000));
});
