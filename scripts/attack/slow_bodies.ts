/**
 * Slow-body uploads from many addresses (issue 16, row "4 400 slow-body
 * uploads trickling a byte now and then"): each connection sends the head of
 * a 1 MiB `POST /upload` and then one byte every few seconds, and reconnects
 * whenever the server closes it. The honest probe on 127.0.0.2 says whether a
 * working client still gets in.
 *
 * Run: `deno run -A scripts/attack/slow_bodies.ts [--connections 4400]
 * [--addresses 20] [--seconds 40] [--every-ms 5000]` (loopback only; raises
 * its own open-files limit; `BASTION_REPO=DIR` attacks another checkout).
 * @module
 */

import net from "node:net";
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
    connections: { type: "string", default: "4400" },
    addresses: { type: "string", default: "20" },
    seconds: { type: "string", default: "40" },
    "every-ms": { type: "string", default: "5000" },
  },
});
const CONNECTIONS = Math.min(Number(values.connections), 20_000);
const ADDRESSES = Math.min(Number(values.addresses), 200);
const SECONDS = Math.min(Number(values.seconds), 120);
const EVERY_MS = Math.max(Number(values["every-ms"]), 100);
const HEAD = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  "Content-Length: 1048576\r\n\r\n";

/** Starts one trickling upload on `socket`; counts the 408s it is answered with. */
function trickle(socket: net.Socket): void {
  const timer = setInterval(() => socket.write("["), EVERY_MS);
  socket.on("connect", () => socket.write(HEAD + "["));
  socket.on("data", (chunk) => {
    if (chunk.toString("latin1").startsWith("HTTP/1.1 408")) timedOut++;
  });
  socket.on("close", () => clearInterval(timer));
}

let timedOut = 0;
await raisedLimit(import.meta.url);
const target = await startTarget({ args: ["--log-level", "warn"], shell: RAISE_FILES });
console.log(
  `slow bodies: ${CONNECTIONS} uploads from ${ADDRESSES} addresses, a byte every ${EVERY_MS} ms, ` +
    `for ${SECONDS} s`,
);
const probe = honestProbe(target.port);
const until = Date.now() + SECONDS * 1000;
const opened = await holdConnections(target.port, {
  connections: CONNECTIONS,
  addresses: ADDRESSES,
  until,
  start: trickle,
});
const report = await probe.stop();
await target.stop();
console.log(describeProbe(report));
console.log(`attacker uploads started ${opened}, answered 408 ${timedOut}`);
