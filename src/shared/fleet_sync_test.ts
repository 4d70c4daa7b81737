// FleetSync against a store the test plays: what it sends, what it applies
// (charges, quota, bans), and how it behaves while the store fails.
import { assertEquals, assertTrue } from "../../tests/_assert.ts";
import { Logger } from "../log.ts";
import { ClientTable } from "./client_table.ts";
import type { FleetStore, StoredBan, SyncReply, SyncRequest } from "./fleet_store.ts";
import { FleetSync } from "./fleet_sync.ts";
import { UploadQuota } from "./upload_quota.ts";

class FakeStore implements FleetStore {
  requests: SyncRequest[] = [];
  failing = false;
  reply: (request: SyncRequest) => SyncReply = (r) => ({
    quotaTotal: -1,
    others: r.clients.map(() => 0),
  });
  stored: StoredBan[] = [];
  onBan: (ban: StoredBan) => void = () => {};
  start(onBan: (ban: StoredBan) => void): void {
    this.onBan = onBan;
  }
  sync(request: SyncRequest): Promise<SyncReply> {
    this.requests.push(structuredClone(request));
    return this.failing
      ? Promise.reject(new Error("connection refused"))
      : Promise.resolve(this.reply(request));
  }
  bans(): Promise<StoredBan[]> {
    return Promise.resolve(this.stored);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function setup(quota: UploadQuota | null = null) {
  const store = new FakeStore();
  const table = ClientTable.create(64);
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const log = new Logger({
    out: { write: (bytes) => (lines.push(decoder.decode(bytes)), Promise.resolve(bytes.length)) },
  });
  const fleet = new FleetSync({
    store,
    name: "redis://test",
    table,
    quota,
    rateLimit: { rate: 10, burst: 5 },
    ban: { count: 3, windowMs: 60_000, banMs: 300_000 },
    log,
    intervalMs: 60_000,
  });
  return { store, table, fleet, logged: async () => (await log.flush(), lines.join("")) };
}

const batch = (key: string, tokens: number, strikes = 0) => ({
  clients: [[key, { tokens, strikes }]] as [string, { tokens: number; strikes: number }][],
  bans: [] as [string, number][],
});

Deno.test("FleetSync sends the threads' counts summed, and charges what the others took since", async () => {
  const { store, table, fleet } = setup();
  fleet.add(batch("10.0.0.1", 2, 1));
  fleet.add(batch("10.0.0.1", 3));
  store.reply = () => ({ quotaTotal: -1, others: [40] });
  await fleet.syncNow();
  assertEquals(store.requests[0].clients, [{ key: "10.0.0.1", tokens: 5, strikes: 1 }]);
  assertEquals(store.requests[0].instance, fleet.instance);
  assertEquals(
    table.take("10.0.0.1", { rate: 10, burst: 5 }, Date.now()),
    0,
    "first seen: not charged",
  );
  fleet.add(batch("10.0.0.1", 1));
  store.reply = () => ({ quotaTotal: -1, others: [45] });
  await fleet.syncNow();
  // 5 more taken elsewhere: the bucket (4 left) is in debt.
  assertTrue(table.take("10.0.0.1", { rate: 10, burst: 5 }, Date.now()) > 0);
  assertEquals(table.take("10.0.0.2", { rate: 10, burst: 5 }, Date.now()), 0);
});

Deno.test("FleetSync keeps the counts while the store fails: one warning, one recovery line, bans loaded", async () => {
  const { store, table, fleet, logged } = setup();
  await fleet.syncNow();
  store.failing = true;
  fleet.add(batch("10.0.0.1", 2));
  await fleet.syncNow();
  fleet.add(batch("10.0.0.1", 1));
  await fleet.syncNow();
  store.failing = false;
  store.stored = [{ key: "10.0.0.9", until: Date.now() + 60_000 }];
  await fleet.syncNow();
  assertEquals(store.requests.at(-1)!.clients, [{ key: "10.0.0.1", tokens: 3, strikes: 0 }]);
  assertTrue(table.banned("10.0.0.9", Date.now()), "a ban set while away is in force");
  const text = await logged();
  assertEquals(text.match(/shared state unreachable/g)?.length, 1);
  assertEquals(text.match(/reachable again/g)?.length, 1);
  assertEquals(text.match(/shared state connected/g)?.length, 1);
});

Deno.test("FleetSync reports the quota's change and counts the rest of the fleet's bytes", async () => {
  const quota = UploadQuota.create(1000, 100);
  const { store, fleet } = setup(quota);
  store.reply = () => ({ quotaTotal: 400, others: [] });
  await fleet.syncNow();
  assertEquals(store.requests[0].quota, { used: 100, change: 0, first: true });
  assertEquals(quota.elsewhere, 300);
  quota.reserve(50);
  store.reply = () => ({ quotaTotal: 700, others: [] });
  await fleet.syncNow();
  assertEquals(store.requests[1].quota, { used: 150, change: 50, first: false });
  assertEquals(quota.elsewhere, 550);
  assertEquals(quota.reserve(301), false, "150 here + 550 elsewhere + 301 > 1000");
});

Deno.test("FleetSync enforces a ban the store publishes", async () => {
  const { store, table, fleet } = setup();
  fleet.start();
  try {
    store.onBan({ key: "10.0.0.5", until: Date.now() + 60_000 });
    assertTrue(table.banned("10.0.0.5", Date.now()));
  } finally {
    await fleet.stop();
  }
});
