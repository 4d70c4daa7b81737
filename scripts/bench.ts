/**
 * `deno task bench` (`docs/performance.md`): bastion with 1 and 2 workers, a `Deno.serve`
 * file server, nginx and Python's `http.server`, each on 127.0.0.1 with the
 * same web root, driven by wrk. Prints progress on stderr and one markdown
 * table on stdout, and writes it to `docs/benchmarks.md`.
 *
 * Memory rows run on each server freshly started, one server at a time. Then
 * every server is started again and all stay up for the load rows, whose runs
 * take turns: run 1 of each server, then run 2 of each, and so on. The
 * machine's speed drifts by tens of percent over minutes (other tenants of the
 * host); with each server measured in its own minutes, that drift went
 * straight into the ratios.
 *
 * `--quick`: 1 s warm-up, one 2 s run per row, `docs/` untouched (add
 * `--write` to write it anyway). Every process started is stopped by its PID.
 * @module
 */

import { buildFixture, FIXTURE } from "./bench/fixture.ts";
import { describeLog, scanLog } from "./bench/logscan.ts";
import { cpuBusy } from "./bench/cpu.ts";
import { describeMachine, ensureTools } from "./bench/machine.ts";
import {
  type LoadRow,
  measureDownload,
  measureIdle,
  measureRun,
  NOISY_CORES,
  type Run,
  summarizeRuns,
  type Timing,
  warmUp,
} from "./bench/measure.ts";
import { readMemory } from "./bench/memory.ts";
import { ProcessSet } from "./bench/procs.ts";
import {
  NOT_RUN,
  type PeerResult,
  renderErrors,
  renderNoise,
  renderTable,
  type Results,
} from "./bench/report.ts";
import {
  BASTION_FLAGS,
  type BenchEnv,
  PEERS,
  type PeerSpec,
  type RunningPeer,
} from "./bench/servers.ts";

const FULL: Timing = { warmup: 2, seconds: 4, repeats: 3 };
const QUICK: Timing = { warmup: 1, seconds: 2, repeats: 1 };
/** Python's server is slow and single-purpose here: short runs keep the budget. */
const PYTHON_FULL: Timing = { warmup: 1, seconds: 3, repeats: 1 };
const PYTHON_QUICK: Timing = { warmup: 1, seconds: 1, repeats: 1 };
/** Past this, the remaining rows are skipped (the bound is 15 minutes). */
const BUDGET_MS = 14 * 60_000;
const IDLE_CONNECTIONS = 10_000;
/** How long after the load rows RSS is read again. */
const SETTLE_MS = 15_000;
const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DOCS = `${REPO}/docs/benchmarks.md`;

/** Every server that serves files; the floor joins the rows of small keep-alive requests. */
const FILE_SERVERS = ["b1", "b2", "deno", "caddy", "nginx", "python"] as const;
const SMALL = [...FILE_SERVERS, "floor"] as const;
/** The rows where a fleet of one is set beside bastion alone. */
const WITH_FLEET = [...SMALL, "b1r", "b1s"] as const;
/** Thousands of connections: the servers built for them (Python and Deno.serve are not run). */
const MANY = ["b1", "b2", "caddy", "nginx", "floor"] as const;

const LOAD_ROWS: LoadRow[] = [
  ...[1, 50, 256].map((connections) => ({
    id: `ka${connections}`,
    path: FIXTURE.page.path,
    connections,
    close: false,
    peers: connections === 1 ? SMALL : WITH_FLEET,
  })),
  { id: "close50", path: FIXTURE.page.path, connections: 50, close: true, peers: FILE_SERVERS },
  { id: "file1m", path: FIXTURE.file1m.path, connections: 16, close: false, peers: FILE_SERVERS },
  ...[1000, 10_000].map((connections) => ({
    id: `ka${connections}`,
    path: FIXTURE.page.path,
    connections,
    close: false,
    peers: MANY,
  })),
];

const started = Date.now();
const notes: string[] = [];
/** CPU busy in the half second before each server starts: load from elsewhere. */
const idleCpu: string[] = [];

function say(line: string): void {
  const s = Math.floor((Date.now() - started) / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  console.error(`[${clock}] ${line}`);
}

/** Retries of noisy runs stop a few minutes before the budget. */
function mayRetry(): boolean {
  return Date.now() - started < BUDGET_MS - 3 * 60_000;
}

function _overBudget(): boolean {
  return Date.now() - started > BUDGET_MS;
}

/** Runs `measure` unless the budget is spent; a failure becomes a short n/a and a note. */
async function _attempt<T>(what: string, measure: () => Promise<T>): Promise<T | string> {
  if (_overBudget()) return "time budget";
  try {
    return await measure();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    say(`${what}: failed: ${message}`);
    notes.push(`${what}: ${message}`);
    return "failed";
  }
}

/** The memory rows of `peer`, on a process started for them alone. */
async function _memoryPeer(env: BenchEnv, peer: PeerSpec): Promise<PeerResult> {
  if (peer.memoryRows === false) return { load: {}, download: NOT_RUN, idle: NOT_RUN, rss: {} };
  const busy = await cpuBusy(500);
  idleCpu.push(`${peer.title} ${Math.round(busy * 100)} %`);
  say(`${peer.title}: starting for the memory rows (CPU busy before: ${Math.round(busy * 100)} %)`);
  const running = _overBudget() ? "time budget" : await peer.start(env);
  if (typeof running === "string") return _notRun(peer, running);
  const result: PeerResult = { load: {}, download: "not run", idle: "not run", rss: {} };
  try {
    await _memoryRows(env, peer, running, result);
  } finally {
    say(`${peer.title}: stopping`);
    await running.stop();
  }
  return result;
}

/** A server up for the load rows, with the timing of its runs. */
interface UpPeer {
  peer: PeerSpec;
  running: RunningPeer;
  timing: Timing;
}

/** The load rows: every server up at once, their runs taking turns. */
async function _loadRows(env: BenchEnv, results: Results, quick: boolean): Promise<void> {
  const up: UpPeer[] = [];
  try {
    for (const peer of PEERS) {
      // A server that did not start for the memory rows has its load rows n/a already.
      if (Object.keys(results[peer.key].load).length > 0) continue;
      say(`${peer.title}: starting for the load rows`);
      const running = _overBudget() ? "time budget" : await peer.start(env);
      if (typeof running === "string") {
        results[peer.key].load = _notRun(peer, running).load;
        continue;
      }
      const timing = peer.key === "python"
        ? (quick ? PYTHON_QUICK : PYTHON_FULL)
        : (quick ? QUICK : FULL);
      up.push({ peer, running, timing });
      results[peer.key].rss.startKiB = readMemory(running.pids()).rssKiB;
    }
    const busy = await cpuBusy(500);
    idleCpu.push(`all servers up for the load rows ${Math.round(busy * 100)} %`);
    for (const row of LOAD_ROWS) await _loadRow(env, row, up, results);
    for (const { peer, running } of up) {
      results[peer.key].rss.afterLoadKiB = readMemory(running.pids()).rssKiB;
    }
    // V8's memory reducer collects a burst's garbage about 8 s after the allocation stops.
    say(`waiting ${SETTLE_MS / 1000} s for memory to settle`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    for (const { peer, running } of up) {
      results[peer.key].rss.settledKiB = readMemory(running.pids()).rssKiB;
    }
  } finally {
    for (const { peer, running } of up) {
      say(`${peer.title}: stopping`);
      await running.stop();
    }
  }
  for (const { peer, running } of up) {
    if (peer.key !== "b1" && peer.key !== "b2") continue;
    const summary = await scanLog(running.log).catch(() => null);
    if (summary !== null) notes.push(`${peer.title} log: ${describeLog(summary)}`);
  }
}

/**
 * One load row over the servers that are up: round `i` runs each server once
 * (after its warm-up in round 1), starting one server further along each round.
 */
async function _loadRow(
  env: BenchEnv,
  row: LoadRow,
  up: UpPeer[],
  results: Results,
): Promise<void> {
  say(`${row.id} (${row.path}, ${row.connections} conn${row.close ? ", close" : ""})`);
  const runs = new Map<string, Run[]>(up.map(({ peer }) => [peer.key, []]));
  const rounds = Math.max(...up.map(({ timing }) => timing.repeats));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < up.length; turn++) {
      const { peer, running, timing } = up[(round + turn) % up.length];
      if (!row.peers.includes(peer.key)) results[peer.key].load[row.id] = NOT_RUN;
      if (round >= timing.repeats || typeof results[peer.key].load[row.id] === "string") continue;
      const url = _url(running, row.path);
      const outcome = await _attempt(`${peer.title}, ${row.id}`, async () => {
        if (round === 0) await warmUp(env.procs, url, row, timing.warmup);
        return await measureRun(env.procs, running, {
          url,
          row,
          seconds: timing.seconds,
          say,
          label: `${peer.title} run ${round + 1}/${timing.repeats}`,
          mayRetry,
        });
      });
      if (typeof outcome === "string") results[peer.key].load[row.id] = outcome;
      else runs.get(peer.key)!.push(outcome);
    }
  }
  for (const { peer } of up) {
    const kept = runs.get(peer.key)!;
    if (typeof results[peer.key].load[row.id] !== "string" && kept.length > 0) {
      results[peer.key].load[row.id] = summarizeRuns(kept);
    }
  }
}

/** Idle connections first (on a fresh process), then the 1 GiB download. */
async function _memoryRows(
  env: BenchEnv,
  peer: PeerSpec,
  running: RunningPeer,
  result: PeerResult,
): Promise<void> {
  if (peer.keepAlive) {
    say(`${peer.title}: ${IDLE_CONNECTIONS} idle keep-alive connections`);
    result.idle = await _attempt(
      `${peer.title}, idle`,
      () => measureIdle(env, running, IDLE_CONNECTIONS),
    );
    if (typeof result.idle !== "string") {
      const i = result.idle;
      say(
        `  ${i.open} open (${i.failed} failed, ${i.openingMs} ms), RSS ${i.rssBeforeKiB} → ${i.rssAfterKiB} KiB`,
      );
      if (i.failed > 0) {
        notes.push(`${peer.title}, idle: ${i.failed} connections failed (${i.firstError})`);
      }
    }
  } else {
    result.idle = "HTTP/1.0, no keep-alive";
  }
  if (!peer.files) {
    result.download = NOT_RUN;
    return;
  }
  say(`${peer.title}: one 1 GiB download`);
  result.download = await _attempt(
    `${peer.title}, download`,
    () => measureDownload(env.procs, running, _url(running, FIXTURE.file1g.path)),
  );
  if (typeof result.download !== "string") {
    const d = result.download;
    say(
      `  ${d.seconds} s, RSS ${d.rssBeforeKiB} KiB, peak ${d.peakKiB} KiB, after ${d.rssAfterKiB} KiB`,
    );
  }
}

/** Every figure of a server that did not start is `n/a (reason)`. */
function _notRun(peer: PeerSpec, why: string): PeerResult {
  say(`${peer.title}: n/a: ${why}`);
  let reason = "did not start";
  if (why === "time budget") reason = why;
  else if (why.startsWith("workers not available")) reason = "workers not available";
  if (why !== "time budget") notes.push(`${peer.title}: ${why}`);
  const load: PeerResult["load"] = {};
  for (const row of LOAD_ROWS) load[row.id] = reason;
  return { load, download: reason, idle: reason, rss: {} };
}

function _url(running: RunningPeer, path: string): string {
  return `http://127.0.0.1:${running.port}${path}`;
}

function _report(machine: string, versions: string[], results: Results, quick: boolean): string {
  const timing = quick ? QUICK : FULL;
  const python = quick ? PYTHON_QUICK : PYTHON_FULL;
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const errors = renderErrors(PEERS, results);
  const noisy = renderNoise(PEERS, results, NOISY_CORES);
  // The task runner passes its own `--` on: it is not one of the bench's arguments.
  const own = Deno.args.filter((arg) => arg !== "--");
  const args = own.length > 0 ? ` -- ${own.join(" ")}` : "";
  return [
    `- Date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    `- Machine: ${machine}`,
    `- Command: \`npx --yes deno@2.9.6 task bench${args}\` ` +
    `(\`deno run --allow-all scripts/bench.ts\`), ${minutes} min in all`,
    `- Tools: ${versions.join(", ")}; wrk \`-t1\` on the same cores as the servers`,
    `- Each row: ${timing.warmup} s warm-up, then the median of ${timing.repeats} × ${timing.seconds} s ` +
    `(Python: ${python.warmup} s, ${python.repeats} × ${python.seconds} s)`,
    "",
    ...renderTable(PEERS, results),
    "",
    "Notes:",
    "",
    `- bastion runs with \`${BASTION_FLAGS.join(" ")}\`: the per-client rate limit and the ` +
    "per-address connection cap are off (every client here is 127.0.0.1); every other SPEC " +
    "check stays on, with the defaults: the access log (to a file), 100 requests per " +
    "connection, the timeouts, the security headers.",
    "- Ratios: `×1`/`×2` are bastion with 1/2 workers; `×2/nginx 0.71` is bastion's figure " +
    "divided by nginx's. ✓/✗ against the target; download speed is nginx's time over bastion's.",
    "- Memory from `/proc/<pid>/status`: RSS growth is VmHWM during the download (reset first " +
    "through `clear_refs`) minus VmRSS before it. Idle: 5 000 connections are opened, then " +
    "5 000 more; `all` is VmRSS with all open minus before, over the connections still open; " +
    "`last 5 000` is VmRSS with all open minus with the first half, over the second half: what " +
    "one more idle connection costs, without what the first thousands grow once (a V8 young " +
    "generation at its full size, tables) — the target applies to it, and the floor is " +
    "measured the same way. nginx: master plus workers, summed.",
    "- RSS of the processes up for the load rows: right after start, right after the last " +
    "row, and 15 s later, when V8's memory reducer has collected the garbage a burst left " +
    "(it waits about 8 s after allocation stops; `docs/performance.md`).",
    "- Not every server runs every row (`—`): the floor answers no files; Python and " +
    "`Deno.serve` are left out of the 1 000 and 10 000 connection rows.",
    "- Other load: the cores are shared with whatever else runs. Every run counts the CPU " +
    "time other processes used (the machine's, from `/proc/stat`, minus the server's and " +
    `wrk's); a run where it passed ${NOISY_CORES} cores is re-done once, after waiting up to ` +
    `30 s for the machine to go quiet, and the quieter run kept; ‡ marks a figure where a run ` +
    `kept still had more. CPU busy just before each server started: ${idleCpu.join(", ")}.`,
    "- Order: the memory rows ran on each server freshly started, one at a time; then all " +
    "servers were up at once for the load rows, whose runs took turns (run 1 of every " +
    "server, then run 2…), so that the machine's drift in speed over minutes falls on every " +
    "server alike instead of on whichever ran in a slow minute.",
    "- The 1 GiB file is sparse (no disk reads); it is read once before the first server. " +
    "Each server downloads it three times: the time shown is the median, the RSS growth the " +
    "peak over the three.",
    "- `--shared-state`: bastion with 1 worker in a fleet of one, on a redis-server of its " +
    "own on loopback, with a rate limit of 1 000 000/s so that every request is counted and " +
    'synced. `shared/alone` is its ratio to the same instance without the flag ("rate limit ' +
    'counting": the same rate limit, no Redis); `counting/×1` is what counting every request ' +
    "against a rate limit costs next to bastion with the rate limit off.",
    "- Caddy: `caddy file-server` with its defaults (no access log), Go using both cores.",
    "- Python's `http.server` answers HTTP/1.0 and closes every connection: its keep-alive rows " +
    "open a connection per request.",
    ...(errors.length > 0 ? [`- † wrk errors: ${errors.join("; ")}`] : []),
    ...(noisy.length > 0
      ? [
        `- Rows where other processes still used more than ${NOISY_CORES} cores in a run kept ` +
        `(cores): ${noisy.join(", ")}.`,
      ]
      : []),
    ...notes.map((note) => `- ${note}`),
  ].join("\n");
}

async function _writeDocs(procs: ProcessSet, report: string): Promise<void> {
  const text = [
    "# Benchmarks",
    "",
    "`deno task bench` (`docs/performance.md`) measures bastion next to its peers on loopback: bastion with 1",
    "and 2 workers (and with 1 worker in a fleet of one through `--shared-state`), a `Deno.serve`",
    "file server reading the file on every request (`scripts/bench/deno_serve_peer.ts`), Caddy",
    "(`caddy file-server`), nginx (2 workers, sendfile), Python's `http.server`, and the",
    "runtime's floor: a bare `Deno.listen` loop answering one constant 2 KiB response",
    "(`scripts/bench/listen_floor_peer.ts`), all but the floor serving the same generated web",
    "root. wrk (`-t1`) drives the load rows; curl the 1 GiB downloads;",
    "`scripts/bench/idle_holder.ts` holds the idle connections. It installs wrk, nginx, Caddy",
    "and Redis with apt-get when missing, takes about 13 minutes on 2 cores, and rewrites",
    "this file (`-- --quick` for a short run that leaves it alone).",
    "",
    "## Latest results",
    "",
    report,
    "",
  ].join("\n");
  await Deno.mkdir(`${REPO}/docs`, { recursive: true });
  await Deno.writeTextFile(DOCS, text);
  // `deno task check` runs `deno fmt --check`: pad the table as deno fmt would.
  await procs.run("deno fmt", Deno.execPath(), [
    "fmt",
    "--quiet",
    "--config",
    `${REPO}/deno.json`,
    DOCS,
  ]);
}

async function main(): Promise<void> {
  const quick = Deno.args.includes("--quick");
  const write = !quick || Deno.args.includes("--write");
  const procs = new ProcessSet();
  let tmp: string | null = null;
  const cleanup = async () => {
    await procs.close();
    if (tmp !== null) await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  const interrupted = async () => {
    say("interrupted: stopping every process started");
    await cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    const tools = await ensureTools(procs, say);
    const machine = await describeMachine(procs);
    say(`${machine.text}; ${tools.versions.join(", ")}`);
    tmp = await Deno.makeTempDir({ prefix: "bastion-bench-" });
    const root = await buildFixture(tmp);
    const env: BenchEnv = {
      procs,
      repo: REPO,
      tmp,
      root,
      nginx: tools.nginx,
      caddy: tools.caddy,
      redis: tools.redis,
      python: tools.python,
    };
    const results = {} as Results;
    for (const peer of PEERS) results[peer.key] = await _memoryPeer(env, peer);
    await _loadRows(env, results, quick);
    const report = _report(machine.text, tools.versions, results, quick);
    console.log(report);
    if (write) {
      await _writeDocs(procs, report);
      say(`written: ${DOCS}`);
    }
    say(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
  }
}

if (import.meta.main) await main();
