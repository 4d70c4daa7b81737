/**
 * The honest client, as a process of its own: `GET /` from
 * {@linkcode PROBE_FROM} every 500 ms until its standard input closes (10
 * minutes at most), then one JSON {@linkcode ProbeReport} on standard output.
 * Apart from the attacker's process, its timings are the server's answer and
 * not the attacker's own event loop, busy opening thousands of sockets.
 *
 * Run: `deno run --allow-net scripts/attack/probe.ts PORT` (loopback only).
 * @module
 */

import net from "node:net";

/** The honest client's own address: per-address limits hit the attacker, not it. */
export const PROBE_FROM = "127.0.0.2";

/** What the honest client saw. */
export interface ProbeReport {
  sent: number;
  /** 200 within 1 s. */
  served: number;
  /** Latencies of every probe, ms (a failed one counts as its time to fail). */
  latencies: number[];
  /** Statuses other than 200, and failures, with counts. */
  other: Record<string, number>;
}

const LONGEST_MS = 10 * 60_000;

/** GET / from the probe address; the status, or a word for what failed (5 s at most). */
function get(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: PROBE_FROM });
    let text = "";
    const done = (result: number | string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("no answer in 5 s"), 5000);
    socket.on("connect", () => {
      socket.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    });
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status) done(Number(status[1]));
    });
    socket.on("error", (error: Error & { code?: string }) => done(error.code ?? "error"));
    socket.on("close", () => done("closed"));
  });
}

/** Probes `port` until `stop` resolves; the report once every probe has ended. */
async function probe(port: number, stop: Promise<unknown>): Promise<ProbeReport> {
  const report: ProbeReport = { sent: 0, served: 0, latencies: [], other: {} };
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    report.sent++;
    const started = performance.now();
    const one = get(port).then((status) => {
      const ms = performance.now() - started;
      report.latencies.push(ms);
      if (status === 200 && ms <= 1000) report.served++;
      else {
        const key = status === 200 ? "200 late" : String(status);
        report.other[key] = (report.other[key] ?? 0) + 1;
      }
    });
    pending.add(one);
    one.finally(() => pending.delete(one));
  }, 500);
  await stop;
  clearInterval(timer);
  await Promise.all(pending);
  return report;
}

if (import.meta.main) {
  const port = Number(Deno.args[0]);
  if (!Number.isInteger(port) || port <= 0) throw new Error("usage: probe.ts PORT");
  const stdinClosed = (async () => {
    for await (const _ of Deno.stdin.readable) { /* until it closes */ }
  })();
  const longest = new Promise((resolve) => setTimeout(resolve, LONGEST_MS));
  const report = await probe(port, Promise.race([stdinClosed, longest]));
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
