/**
 * Idle connections from many addresses, each under the per-address cap and
 * together over the global one (issue 16, rows "5 000–20 000 idle
 * connections" and, with `--fd-limit 1024`, "5 000 connections against
 * ulimit -n 1024"). The attacker reconnects whatever the server closes; the
 * honest probe on 127.0.0.2 says whether a working client still gets in.
 *
 * Run: `deno run -A scripts/attack/idle_flood.ts [--connections 5000]
 * [--addresses 20] [--seconds 30] [--fd-limit N]` (loopback only; raises its
 * own open-files limit; `BASTION_REPO=DIR` attacks another checkout).
 * @module
 */

import { parseArgs } from "node:util";
import {
  describeProbe,
  holdConnections,
  honestProbe,
  RAISE_FILES,
  raisedLimit,
  startTarget,
} from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "5000" },
    addresses: { type: "string", default: "20" },
    seconds: { type: "string", default: "30" },
    "fd-limit": { type: "string" },
  },
});
const CONNECTIONS = Math.min(Number(values.connections), 20_000);
const ADDRESSES = Math.min(Number(values.addresses), 200);
const SECONDS = Math.min(Number(values.seconds), 120);

await raisedLimit(import.meta.url);
const target = await startTarget({
  args: ["--log-level", "warn"],
  shell: values["fd-limit"] ? `ulimit -n ${Number(values["fd-limit"])};` : RAISE_FILES,
});
console.log(
  `idle flood: ${CONNECTIONS} connections from ${ADDRESSES} addresses for ${SECONDS} s` +
    (values["fd-limit"] ? `, server open-files limit ${values["fd-limit"]}` : ""),
);
const probe = honestProbe(target.port);
const until = Date.now() + SECONDS * 1000;
const opened = await holdConnections(target.port, {
  connections: CONNECTIONS,
  addresses: ADDRESSES,
  until,
});
const report = await probe.stop();
const log = target.log();
await target.stop();
const count = (pattern: RegExp) => (log.match(pattern) ?? []).length;
console.log(describeProbe(report));
console.log(
  `attacker connections opened ${opened}; server log: ${count(/accept failed/g)} accept ` +
    `failures, ${count(/out of file descriptors/g)} out-of-files warnings`,
);
// What the server said, each kind of line once (numbers and addresses blanked).
const kinds = new Set(
  log.split("\n").filter((line) => line.trim() !== "" && !/listening on/.test(line))
    .map((line) => line.replace(/\d+/g, "#")),
);
for (const kind of [...kinds].slice(0, 8)) console.log(`  server: ${kind.slice(0, 240)}`);
