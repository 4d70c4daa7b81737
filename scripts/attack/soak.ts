/**
 * A mixed soak (issue 16, row "5-minute mixed soak"): pages, a 1 MiB file
 * with and without gzip, ranges, HEAD, 404s, traversal attempts, malformed
 * heads and uploads, from a few clients at once for a bounded time, with the
 * server's resident memory sampled every 10 s. Memory should stay flat from
 * minute 1 to the end; the honest probe watches as everywhere.
 *
 * Run: `deno run -A scripts/attack/soak.ts [--minutes 5] [--clients 16]
 * [--workers 1]` (loopback only; `BASTION_REPO=DIR` soaks another checkout).
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { describeProbe, honestProbe, REPO, sleep, startTarget } from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "5" },
    clients: { type: "string", default: "16" },
    workers: { type: "string", default: "1" },
  },
});
const MINUTES = Math.min(Number(values.minutes), 15);
const CLIENTS = Math.min(Number(values.clients), 64);

const page = (n: number) => `<!doctype html><title>${n}</title>${"<p>soak</p>".repeat(200)}\n`;
const files: Record<string, string | Uint8Array> = {
  "big.html": "x".repeat(1024 * 1024),
  "data.json": JSON.stringify({ list: Array.from({ length: 2000 }, (_, i) => i) }),
};
for (let i = 0; i < 200; i++) files[`pages/p${i}.html`] = page(i);

/** The mix: each entry one raw request; `{n}` is replaced by a counter. */
const MIX = [
  "GET /pages/p{n}.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /pages/p{n}.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n",
  "GET /big.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /big.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n",
  "GET /big.html HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1000-2000,5000-6000\r\n\r\n",
  "HEAD /data.json HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /missing-{n}.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET /a/../../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
  "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  'Content-Length: 9\r\n\r\n{"n":{n}}',
  "BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad : header\r\n\r\n",
];

/** Sends one request on a fresh connection and reads until the server closes or 5 s pass. */
function once(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let status = "";
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on("connect", () => socket.end(raw));
    socket.on("data", (chunk) => status ||= chunk.toString("latin1", 9, 12));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(status || "none");
    });
  });
}

async function client(port: number, until: number, tally: Map<string, number>) {
  let n = 0;
  while (Date.now() < until) {
    const raw = MIX[n % MIX.length].replaceAll("{n}", String(n % 1000));
    const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
    const framed = raw.replace(/Content-Length: \d+/, `Content-Length: ${body.length}`);
    const status = await once(port, framed.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
    tally.set(status, (tally.get(status) ?? 0) + 1);
    n++;
  }
}

const target = await startTarget({
  args: [
    "--log-level",
    "warn",
    "--rate-limit",
    "off",
    "--ban",
    "off",
    "--workers",
    values.workers!,
    "--upload-quota",
    "64MiB",
  ],
  files,
  extraRead: Number(values.workers) > 1 ? [join(REPO, "main.ts"), join(REPO, "src")] : [],
});
console.log(`soak: ${CLIENTS} clients for ${MINUTES} min, ${values.workers} worker(s)`);
const probe = honestProbe(target.port);
const started = Date.now();
const until = started + MINUTES * 60_000;
const tally = new Map<string, number>();
const samples: string[] = [];
const sampler = setInterval(() => {
  const minute = ((Date.now() - started) / 60_000).toFixed(1);
  samples.push(`${minute} min ${(target.rssKiB() / 1024).toFixed(1)} MiB`);
}, 10_000);
await Promise.all(Array.from({ length: CLIENTS }, () => client(target.port, until, tally)));
clearInterval(sampler);
const report = await probe.stop();
await sleep(500);
console.log(`RSS: ${samples.join(", ")}`);
console.log(`answers: ${[...tally].map(([status, count]) => `${count} × ${status}`).join(", ")}`);
console.log(describeProbe(report));
await target.stop();
