/**
 * A directory swapped with a symlink out of the web root, in a loop (issue
 * 16, row "directory ⇄ symlink-to-/etc swapped in a loop inside the root").
 * The web root holds `d/passwd`; a swapper process renames `d` away and a
 * symlink `d` → a directory outside the root (holding a shorter `passwd`
 * with a secret marker) into its place, and back, as fast as it can.
 * Clients GET `/d/passwd` over keep-alive connections as fast as they can.
 * A response whose body holds the marker is a leak. Three runs: the file
 * cache off, on, and off with the outside directory also readable by Deno's
 * permissions (so that bastion's own check, not the sandbox, is what holds).
 * With the cache on its TTL is 10 ms, so that files are read from disk often.
 * Rate limit and bans are off, so that every attempt is answered.
 *
 * Run: `deno run -A scripts/attack/symlink_swap.ts [--seconds 15]
 * [--clients 8] [--secret-size 128] [--only off|on|readable]` (loopback only; `BASTION_REPO=DIR`
 * attacks another checkout).
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeProbe, honestProbe, sleep, startTarget, type Target } from "./_lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "15" },
    clients: { type: "string", default: "8" },
    "secret-size": { type: "string", default: "128" },
    only: { type: "string" },
  },
});
const SECONDS = Math.min(Math.max(Number(values.seconds), 1), 60);
const CLIENTS = Math.min(Math.max(Number(values.clients), 1), 32);
const INSIDE = "inside: the honest d/passwd of the web root\n".padEnd(256, ".") + "\n";
const MARKER = `SECRET-${crypto.randomUUID()}`;
const SECRET_SIZE = Math.min(Math.max(Number(values["secret-size"]), MARKER.length + 1), 65536);
const SECRET = `${MARKER}\n`.padEnd(SECRET_SIZE - 1, "#") + "\n";

/** What the clients saw, and what the server logged. */
interface Tally {
  responses: number;
  statuses: Record<string, number>;
  leaks: number;
  /** Responses whose body ended before its Content-Length. */
  cutSeen: number;
}

/** One run: a fresh server, the swapper, the clients, the honest probe. */
async function run(name: string, cache: boolean, outsideReadable: boolean): Promise<void> {
  const outside = await Deno.makeTempDir({ prefix: "bastion-outside-" });
  await Deno.writeTextFile(join(outside, "passwd"), SECRET);
  const target = await startTarget({
    args: [
      ...(cache ? ["--file-cache-ttl", "10ms"] : ["--file-cache", "off"]),
      ...["--rate-limit", "off", "--ban", "off"],
    ],
    files: { "d/passwd": INSIDE },
    denoFlags: outsideReadable ? [`--allow-read=${outside}`] : [],
  });
  try {
    await Deno.symlink(outside, join(target.root, ".d-link"));
    const until = Date.now() + SECONDS * 1000;
    const swapper = _swapper(target.root, until);
    const probe = honestProbe(target.port);
    const tally: Tally = { responses: 0, statuses: {}, leaks: 0, cutSeen: 0 };
    await Promise.all(Array.from({ length: CLIENTS }, () => _client(target.port, until, tally)));
    const swaps = await swapper;
    const report = describeProbe(await probe.stop());
    await sleep(300);
    console.log(_describe(name, tally, swaps, _logged(target)) + `\n  ${report}`);
  } finally {
    await target.stop();
    await Deno.remove(outside, { recursive: true });
  }
}

/** Renames `d` ⇄ the symlink until `until` in another process; the swaps made. */
async function _swapper(root: string, until: number): Promise<number> {
  const code = `
    const [root, until] = [Deno.args[0], Number(Deno.args[1])];
    const at = (name) => root + "/" + name;
    let swaps = 0;
    while (Date.now() < until && swaps < 50_000_000) {
      Deno.renameSync(at("d"), at(".d-dir"));
      Deno.renameSync(at(".d-link"), at("d"));
      Deno.renameSync(at("d"), at(".d-link"));
      Deno.renameSync(at(".d-dir"), at("d"));
      swaps += 2;
    }
    console.log(swaps);`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--allow-read=${root}`, `--allow-write=${root}`, code, root, String(until)],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(output.stdout).trim());
}

/** GETs `/d/passwd` on keep-alive connections until `until`, counting what comes back. */
async function _client(port: number, until: number, tally: Tally): Promise<void> {
  const request = new TextEncoder().encode("GET /d/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n");
  while (Date.now() < until) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const timer = setTimeout(() => conn.close(), until - Date.now() + 5000);
    try {
      const reader = new _Reader(conn);
      while (Date.now() < until) {
        await conn.write(request);
        if (!(await _response(reader, tally))) break;
      }
    } catch { /* the server closed the connection */ }
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Reads one response into `tally`; whether the connection can be used again. */
async function _response(reader: _Reader, tally: Tally): Promise<boolean> {
  const head = await reader.head();
  if (head === null) return false;
  tally.responses++;
  const status = head.slice(9, 12);
  tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  const body = await reader.body(length);
  if (body.length < length) tally.cutSeen++;
  if (body.includes(MARKER)) tally.leaks++;
  return body.length === length && !/\r\nconnection: *close/i.test(head);
}

/** A buffered reader of responses on one connection. */
class _Reader {
  #conn: Deno.Conn;
  #buffer = "";
  #chunk = new Uint8Array(64 * 1024);
  #decoder = new TextDecoder("latin1");

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The head as text, or `null` when the connection ended first. */
  async head(): Promise<string | null> {
    let end: number;
    while ((end = this.#buffer.indexOf("\r\n\r\n")) < 0) {
      if (!(await this.#fill())) return null;
    }
    const head = this.#buffer.slice(0, end + 2);
    this.#buffer = this.#buffer.slice(end + 4);
    return head;
  }

  /** Up to `length` body bytes as text: fewer when the connection ended first. */
  async body(length: number): Promise<string> {
    while (this.#buffer.length < length && await this.#fill());
    const body = this.#buffer.slice(0, length);
    this.#buffer = this.#buffer.slice(body.length);
    return body;
  }

  async #fill(): Promise<boolean> {
    const read = await this.#conn.read(this.#chunk).catch(() => null);
    if (read === null) return false;
    this.#buffer += this.#decoder.decode(this.#chunk.subarray(0, read));
    return true;
  }
}

/** Access lines for `/d/passwd`, and how many of them are marked cut short. */
function _logged(target: Target): { lines: number; cut: number } {
  const logged = { lines: 0, cut: 0 };
  const line = /"GET \/d\/passwd HTTP\/1\.1" \d{3} \d+ \S+ rid=\S+( cut=\S+)?/g;
  for (const [, cut] of target.log().matchAll(line)) {
    logged.lines++;
    if (cut) logged.cut++;
  }
  return logged;
}

function _describe(
  name: string,
  tally: Tally,
  swaps: number,
  logged: ReturnType<typeof _logged>,
): string {
  const statuses = Object.entries(tally.statuses).sort().map(([s, n]) => `${n} × ${s}`).join(", ");
  return `${name}: ${tally.responses} responses (${statuses}), ${swaps} swaps; ` +
    `LEAKS ${tally.leaks}; cut short seen by the client ${tally.cutSeen}, ` +
    `logged as cut ${logged.cut} (of ${logged.lines} access lines)`;
}

const RUNS: [string, string, boolean, boolean][] = [
  ["off", "--file-cache off", false, false],
  ["on", "--file-cache on (TTL 10 ms)", true, false],
  ["readable", "--file-cache off, outside dir readable too", false, true],
];
for (const [key, name, cache, readable] of RUNS) {
  if (values.only === undefined || values.only === key) await run(name, cache, readable);
}
