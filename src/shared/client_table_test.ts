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

/** Caps that refuse nobody, a bucket that never refills, a rule that bans at once for long. */
const wide = { perIp: 1e9, global: 1e9 };
const once = { rate: 1e-9, burst: 1 };
const instantBan = { count: 1, windowMs: 60_000, banMs: 1e9 };

Deno.test("ClientTable evicts the least recently seen entry first, bans last, never one with connections", () => {
  const table = ClientTable.create(32); // 32 slots: one probe window, every slot competes
  for (let i = 0; i < 8; i++) table.open(`c${i}`, wide, i);
  for (let i = 0; i < 8; i++) table.strike(`b${i}`, instantBan, 10 + i);
  for (let i = 0; i < 16; i++) table.take(`r${i}`, once, 20 + i);
  assertEquals(table.size, 32);
  assertTrue(table.take("r0", once, 40) > 0, "r0 seen again, its bucket empty");
  assertEquals(table.take("new", once, 50), 0, "a newcomer gets a bucket of its own");
  assertTrue(table.take("r0", once, 51) > 0, "r0, seen recently, was kept");
  assertEquals(table.take("r1", once, 52), 0, "r1, the least recently seen, was given up");
  // 16 newcomers holding connections take the place of every idle, unbanned entry.
  for (let i = 0; i < 16; i++) assertEquals(table.open(`n${i}`, wide, 100 + i), null);
  assertTrue(table.banned("b7", 200), "bans outlast idle entries");
  assertEquals(table.open("m0", wide, 300), null);
  assertTrue(!table.banned("b0", 301), "then the least recently seen ban is given up");
  assertTrue(table.banned("b1", 301));
  for (let i = 1; i < 8; i++) table.open(`m${i}`, wide, 310 + i);
  for (let i = 0; i < 8; i++) {
    assertEquals(
      table.open(`c${i}`, { perIp: 1, global: 1e9 }, 400),
      "per-ip",
      `c${i} kept its count`,
    );
  }
  assertEquals(table.size, 32);
});

Deno.test("ClientTable shares one overflow bucket among addresses it cannot track", () => {
  const table = ClientTable.create(32);
  for (let i = 0; i < 32; i++) table.open(`c${i}`, wide, i);
  const bucket = { rate: 1e-9, burst: 2 };
  assertEquals(table.take("x0", bucket, 100), 0);
  assertEquals(table.take("x1", bucket, 101), 0);
  assertTrue(table.take("x2", bucket, 102) > 0, "the overflow bucket is spent");
  assertTrue(table.take("x0", bucket, 103) > 0, "for every untracked address");
  table.release("c0", 104);
  assertEquals(table.take("x2", bucket, 105), 0, "a freed entry is given to the next newcomer");
  assertEquals(table.take("x2", bucket, 106), 0, "with a bucket of its own");
});

Deno.test("ClientTable counts an IPv6 client per /64", () => {
  const table = ClientTable.create(64);
  assertEquals(table.take("2001:db8:1:2::1", once, 0), 0);
  assertTrue(table.take("2001:db8:1:2:ffff:ffff:ffff:fffe", once, 1) > 0, "same /64");
  assertTrue(table.take("2001:DB8:1:2:0:0:0:5", once, 2) > 0, "same /64, spelt out");
  assertEquals(table.take("2001:db8:1:3::1", once, 3), 0, "the next /64 is another client");
  table.strike("2001:db8:9:9::1", instantBan, 4);
  assertTrue(table.banned("2001:db8:9:9:abcd::2", 5), "a ban holds for the whole /64");
  assertTrue(!table.banned("2001:db8:9:8::1", 5));
});

Deno.test("ClientTable counts an IPv4-mapped IPv6 client as its IPv4 address", () => {
  const table = ClientTable.create(64);
  assertEquals(table.take("127.0.0.9", once, 0), 0);
  assertTrue(table.take("::ffff:127.0.0.9", once, 1) > 0);
  assertTrue(table.take("::FFFF:7f00:9", once, 2) > 0, "hex spelling");
  assertTrue(table.take("0:0:0:0:0:ffff:127.0.0.9", once, 3) > 0, "spelt out");
  assertEquals(table.open("::ffff:10.0.0.1", { perIp: 1, global: 9 }, 4), null);
  assertEquals(table.open("10.0.0.1", { perIp: 1, global: 9 }, 5), "per-ip");
});

Deno.test("ClientTable.charge() takes what a fleet's other instances took, into debt down to minus the burst", () => {
  const table = ClientTable.create(64);
  const bucket = { rate: 10, burst: 3 };
  table.charge("a", 2, bucket, 0);
  assertEquals(table.take("a", bucket, 0), 0, "one of three tokens left");
  assertEquals(table.take("a", bucket, 0), 100);
  table.charge("a", 50, bucket, 0);
  // Debt of 3 (the floor): 4 tokens' worth of refill, 400 ms, before the next request.
  assertEquals(table.take("a", bucket, 0), 400);
  assertEquals(table.take("a", bucket, 400), 0);
  assertEquals(table.take("b", bucket, 0), 0, "other clients are not charged");
});

Deno.test("ClientTable.banUntil() bans until the given end and keeps a longer ban", () => {
  const table = ClientTable.create(64);
  table.banUntil("10.0.0.1", 5000, 1000);
  assertTrue(table.banned("10.0.0.1", 4999));
  assertEquals(table.open("10.0.0.1", caps, 2000), "banned");
  table.banUntil("10.0.0.1", 3000, 2000);
  assertTrue(table.banned("10.0.0.1", 4000), "a shorter ban does not cut a longer one");
  assertTrue(!table.banned("10.0.0.1", 5000));
  assertTrue(!table.banned("10.0.0.2", 2000));
});
