/**
 * Clients asking for a big page with `Accept-Encoding: gzip`, as fast as they
 * read (issue 16, row "16 clients asking for a 1 MiB page with gzip"): on the
 * fly, gzip costs many times the CPU of sending the file. The honest probe
 * on 127.0.0.2 says whether everyone else is still served.
 *
 * Run: `deno run -A scripts/attack/gzip_flood.ts [--clients 16] [--mib 1]
 * [--seconds 30]` (loopback only; `--mib 4` for a page larger than the 1 MiB
 * kept in memory; `BASTION_REPO=DIR` attacks another checkout).
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";
import { describeProbe, honestProbe, startTarget } from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "16" },
    mib: { type: "string", default: "1" },
    seconds: { type: "string", default: "30" },
  },
});
const CLIENTS = Math.min(Number(values.clients), 256);
const SIZE = Math.min(Number(values.mib), 64) * 1024 * 1024;
const SECONDS = Math.min(Number(values.seconds), 120);
const REQUEST = "GET /page.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n" +
  "Connection: close\r\n\r\n";

/** HTML that compresses about 4:1, as a real page does. */
function page(size: number): string {
  let state = 7;
  let text = "<!doctype html>\n";
  while (text.length < size) {
    state = (state * 1103515245 + 12345) % 2147483648;
    text += `<p id="p${state % 9973}">line ${state.toString(36)}</p>\n`;
  }
  return text.slice(0, size);
}

/** Fetches the page again and again until `until`; returns bytes read and answers. */
async function reader(port: number, until: number) {
  let bytes = 0;
  let gzipped = 0;
  let answers = 0;
  while (Date.now() < until) {
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      let head = "";
      socket.on("connect", () => socket.write(REQUEST));
      socket.on("data", (chunk) => {
        bytes += chunk.length;
        if (head.length < 4096) head += chunk.toString("latin1", 0, 4096);
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        answers++;
        if (/\r\ncontent-encoding: gzip\r\n/i.test(head)) gzipped++;
        resolve();
      });
      setTimeout(() => socket.destroy(), Math.max(0, until - Date.now()));
    });
  }
  return { bytes, gzipped, answers };
}

const target = await startTarget({
  args: ["--log-level", "warn", "--rate-limit", "off", "--ban", "off"],
  files: { "page.html": page(SIZE) },
});
console.log(`gzip flood: ${CLIENTS} clients, a ${SIZE >> 20} MiB page, ${SECONDS} s`);
const probe = honestProbe(target.port);
const until = Date.now() + SECONDS * 1000;
const results = await Promise.all(
  Array.from({ length: CLIENTS }, () => reader(target.port, until)),
);
const report = await probe.stop();
await target.stop();
const sum = (key: "bytes" | "gzipped" | "answers") =>
  results.reduce((total, result) => total + result[key], 0);
console.log(describeProbe(report));
console.log(
  `flood answers ${sum("answers")} (${sum("gzipped")} gzipped), ` +
    `${(sum("bytes") / SECONDS / 1e6).toFixed(0)} MB/s read`,
);
