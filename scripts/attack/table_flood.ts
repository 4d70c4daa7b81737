/**
 * Fills the per-address client table (issue 16, row "17 000 source addresses
 * filling the client table with bans"): every address of the flood, from
 * 127.1.0.1 on, gets itself banned (one traversal under `--ban 1/60s:300s`)
 * or, with `--mix`, every other one rate-limited instead (a burst of 6 under
 * `--rate-limit 5/s:5`): more addresses than the default table has slots. Then 3 fresh addresses and a control one
 * (seen once before the flood) each send a burst of 20 requests: the fresh
 * ones must still meet 429s. The honest probe on 127.0.0.2 watches throughout.
 *
 * Run: `deno run -A scripts/attack/table_flood.ts [--addresses 17000]
 * [--concurrency 200] [--seconds 50] [--mix]` (loopback only; `BASTION_REPO=DIR`
 * attacks another checkout).
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";
import { assertLoopback, describeProbe, honestProbe, PROBE_FROM, startTarget } from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    addresses: { type: "string", default: "17000" },
    concurrency: { type: "string", default: "200" },
    seconds: { type: "string", default: "50" },
    mix: { type: "boolean", default: false },
  },
});
const ADDRESSES = Math.min(Number(values.addresses), 60_000);
const CONCURRENCY = Math.min(Number(values.concurrency), 500);
const SECONDS = Math.min(Number(values.seconds), 60);
const BURST = 20;
const FRESH = ["127.200.0.1", "127.200.0.2", "127.200.0.3"];
const CONTROL = "127.0.0.3";
const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const LAST_GET = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const TRAVERSAL = "GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/** The `index`-th flood address: 127.1.0.1 on, never .0 or .255 last, never the probe's. */
function floodAddress(index: number): string {
  const n = Math.floor(index / 254) * 256 + (index % 254) + 1;
  return `127.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** `count` requests from `from` on one connection, the last closing it: the statuses seen. */
function burst(port: number, from: string, request: string, count: number): Promise<number[]> {
  assertLoopback(from);
  return new Promise((resolve) => {
    let text = "";
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => {
      socket.write(request.repeat(count - 1) + (request === TRAVERSAL ? TRAVERSAL : LAST_GET));
    });
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("data", (chunk) => text += chunk.toString("latin1"));
    socket.on("error", () => {});
    socket.on("close", () => {
      resolve([...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1])));
    });
  });
}

/** Floods from ADDRESSES addresses, CONCURRENCY at a time, until done or `until`: statuses seen. */
async function flood(port: number, until: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < ADDRESSES && Date.now() < until) {
      const index = next++;
      const from = floodAddress(index);
      if (from === PROBE_FROM || from === CONTROL) continue;
      const statuses = !values.mix || index % 2 === 0
        ? await burst(port, from, TRAVERSAL, 1)
        : await burst(port, from, GET, 6);
      if (statuses.length === 0) seen["none"] = (seen["none"] ?? 0) + 1;
      for (const status of statuses) seen[status] = (seen[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  seen["addresses"] = Math.min(next, ADDRESSES);
  return seen;
}

/** How many of `statuses` are 429. */
function limited(statuses: number[]): number {
  return statuses.filter((status) => status === 429).length;
}

const target = await startTarget({
  args: ["--rate-limit", "5/s:5", "--ban", "1/60s:300s", "--log-level", "error"],
});
console.log(
  `table flood: ${ADDRESSES} addresses ${values.mix ? "banned or rate-limited" : "banned"}, ` +
    `${CONCURRENCY} at a time, ${SECONDS} s at most`,
);
const probe = honestProbe(target.port);
await burst(target.port, CONTROL, GET, 1);
const started = Date.now();
const seen = await flood(target.port, started + SECONDS * 1000);
console.log(
  `flood: ${seen["addresses"]} addresses in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
    Object.entries(seen).filter(([key]) => key !== "addresses")
      .map(([key, count]) => `${count} × ${key}`).join(", "),
);
const fresh = await Promise.all(FRESH.map((from) => burst(target.port, from, GET, BURST)));
const control = await burst(target.port, CONTROL, GET, BURST);
const report = await probe.stop();
await target.stop();
console.log(
  `fresh addresses limited: ${fresh.filter((statuses) => limited(statuses) > 0).length}/3 ` +
    `(429s of ${BURST}: ${fresh.map(limited).join(", ")}); control ${CONTROL}: ` +
    `${limited(control)} × 429 of ${BURST}`,
);
console.log(describeProbe(report));
