import { assertEquals } from "../../tests/_assert.ts";
import { FLEET_CHANNEL, type FleetBatch, FleetDeltas } from "./fleet_deltas.ts";

Deno.test("FleetDeltas sums per client key (IPv6 per /64) and starts afresh after a drain", () => {
  const deltas = new FleetDeltas();
  deltas.token("192.0.2.7");
  deltas.token("::ffff:192.0.2.7");
  deltas.strike("192.0.2.7");
  deltas.token("2001:db8:1:2::7");
  deltas.token("2001:db8:1:2::8");
  deltas.ban("2001:db8:1:2::9", 5000);
  assertEquals(deltas.drain(), {
    clients: [
      ["192.0.2.7", { tokens: 2, strikes: 1 }],
      ["2001:db8:1:2::/64", { tokens: 2, strikes: 0 }],
    ],
    bans: [["2001:db8:1:2::/64", 5000]],
  });
  assertEquals(deltas.drain(), { clients: [], bans: [] });
});

Deno.test("FleetDeltas sends its batches on the fleet channel, to a listener in the same thread", async () => {
  const listener = new BroadcastChannel(FLEET_CHANNEL);
  const received = new Promise<FleetBatch>((resolve) => {
    listener.onmessage = (event: MessageEvent<FleetBatch>) => resolve(event.data);
  });
  const deltas = new FleetDeltas();
  deltas.startSending();
  try {
    deltas.token("192.0.2.7");
    assertEquals((await received).clients, [["192.0.2.7", { tokens: 1, strikes: 0 }]]);
  } finally {
    deltas.stop();
    listener.close();
  }
});
