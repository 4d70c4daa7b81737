/**
 * Unfinished uploads (issue 16, row "3 000 unfinished 1 MiB uploads"): each
 * connection from 127.0.0.1 sends the head of a `POST /upload` with
 * `Content-Length: 1048576` and all of the body but its last byte, then
 * stalls. Prints the server's resident memory before, at its peak and after,
 * what the attackers were answered, the upload temporaries left once they are
 * gone, and the honest probe line (127.0.0.2).
 *
 * Run: `deno run -A scripts/attack/unfinished_uploads.ts [--connections 3000]
 * [--seconds 15] [--inflight SIZE]` (loopback only; raises its own
 * open-files limit; `--inflight` passes `--upload-inflight SIZE` to the
 * server; `BASTION_REPO=DIR` attacks another checkout).
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  describeProbe,
  honestProbe,
  raisedLimit,
  sleep,
  startTarget,
  type Target,
} from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "3000" },
    seconds: { type: "string", default: "15" },
    inflight: { type: "string" },
  },
});
const CONNECTIONS = Math.min(Math.max(Number(values.connections), 1), 4000);
const SECONDS = Math.min(Math.max(Number(values.seconds), 1), 40);
/** Opening every connection may take at most this long. */
const OPEN_MS = 25_000;
/** How long to watch the temporaries go once the attackers have gone. */
const SETTLE_MS = 10_000;
const LENGTH = 1024 * 1024;
const HEAD = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  `Content-Length: ${LENGTH}\r\n\r\n`;
/** One body for every socket (a JSON string missing its last byte), never copied per socket. */
const BODY = new TextEncoder().encode(`"${"x".repeat(LENGTH - 2)}`);

/** What the attacking connections saw. */
interface Tally {
  opened: number;
  /** The whole head and body were handed to the kernel. */
  written: number;
  /** Status lines received, by status. */
  answers: Record<string, number>;
  /** Closed by the server while we held them. */
  closedEarly: number;
  /** Set once we close them ourselves. */
  closing: boolean;
}

/** Opens one stalled upload; resolves once it is connected (or failed). */
function openOne(port: number, tally: Tally, sockets: net.Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.1" });
    sockets.push(socket);
    socket.on("connect", () => {
      tally.opened++;
      socket.write(HEAD);
      socket.write(BODY, () => tally.written++);
      resolve();
    });
    socket.on("data", (chunk) => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString("latin1"));
      if (status) tally.answers[status[1]] = (tally.answers[status[1]] ?? 0) + 1;
    });
    socket.on("error", () => resolve());
    socket.on("end", () => socket.destroy());
    socket.on("close", () => {
      if (!tally.closing) tally.closedEarly++;
      resolve();
    });
  });
}

/** Opens `CONNECTIONS` stalled uploads, in batches, within {@linkcode OPEN_MS}. */
async function openAll(port: number, tally: Tally, sockets: net.Socket[]): Promise<void> {
  const deadline = Date.now() + OPEN_MS;
  for (let i = 0; i < CONNECTIONS && Date.now() < deadline; i += 50) {
    const batch = Math.min(50, CONNECTIONS - i);
    await Promise.all(Array.from({ length: batch }, () => openOne(port, tally, sockets)));
    await sleep(5);
  }
}

/** Samples the target's RSS every 200 ms until `stop()`; returns the peak. */
function watchRss(target: Target): { stop(): number } {
  let peak = target.rssKiB();
  const timer = setInterval(() => (peak = Math.max(peak, target.rssKiB())), 200);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, target.rssKiB());
    },
  };
}

/** Polls until no temporary is left (at most {@linkcode SETTLE_MS}); how many are left and when. */
async function tempsGone(dir: string): Promise<{ left: number; ms: number }> {
  const started = Date.now();
  let left = await tempFiles(dir);
  while (left > 0 && Date.now() - started < SETTLE_MS) {
    await sleep(100);
    left = await tempFiles(dir);
  }
  return { left, ms: Date.now() - started };
}

async function tempFiles(dir: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) if (/^\.upload-.*\.tmp$/.test(entry.name)) count++;
  return count;
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MB`;
}

await raisedLimit(import.meta.url);
const target = await startTarget({
  args: [
    ...["--max-connections-per-ip", "4096", "--max-connections", "4096"],
    ...["--body-timeout", "60s", "--rate-limit", "off", "--ban", "off", "--log-level", "warn"],
    ...(values.inflight ? ["--upload-inflight", values.inflight] : []),
  ],
  shell: "ulimit -n 8192;",
});
const uploads = join(target.root, "uploads");
console.log(
  `unfinished uploads: ${CONNECTIONS} × (head + ${
    LENGTH - 1
  } of ${LENGTH} bytes), held ${SECONDS} s` +
    (values.inflight ? `, --upload-inflight ${values.inflight}` : ""),
);
await sleep(500);
const before = target.rssKiB();
const rss = watchRss(target);
const probe = honestProbe(target.port);
const tally: Tally = { opened: 0, written: 0, answers: {}, closedEarly: 0, closing: false };
const sockets: net.Socket[] = [];
await openAll(target.port, tally, sockets);
await sleep(SECONDS * 1000);
const temps = await tempFiles(uploads);
const report = await probe.stop();
tally.closing = true;
for (const socket of sockets) socket.destroy();
const gone = await tempsGone(uploads);
const peak = rss.stop();
const after = target.rssKiB();
await target.stop();
console.log(
  `RSS before ${mib(before)}, peak ${mib(peak)}, ${(gone.ms / 1000).toFixed(1)} s after closing ` +
    mib(after),
);
console.log(
  `attackers: opened ${tally.opened}, wrote everything ${tally.written}, ` +
    `answered ${JSON.stringify(tally.answers)}, closed by the server ${tally.closedEarly}`,
);
console.log(
  `upload temporaries: ${temps} while held, ${gone.left} left ${(gone.ms / 1000).toFixed(1)} s ` +
    "after closing",
);
console.log(describeProbe(report));
