/**
 * The three kinds of measurement: wrk load (a warm-up, single runs, and the
 * median of the repeats), one 1 GiB download (time, RSS before, peak during), and RSS with
 * many idle keep-alive connections (through `idle_holder.ts`).
 * @module
 */

import { foreignCores, sampleCpu, waitQuiet } from "./cpu.ts";
import { which } from "./machine.ts";
import { readMemory, resetPeak } from "./memory.ts";
import type { ProcessSet } from "./procs.ts";
import type { BenchEnv, PeerSpec, RunningPeer } from "./servers.ts";
import { runWrk, type WrkOptions, type WrkResult } from "./wrk.ts";

/** Warm-up and measured durations, in seconds. */
export interface Timing {
  warmup: number;
  seconds: number;
  repeats: number;
}

/** A load row: a path hit by wrk with some connections. */
export interface LoadRow {
  id: string;
  path: string;
  connections: number;
  /** `Connection: close` on every request. */
  close: boolean;
  /** The servers that run it (the others show "not run"). */
  peers: readonly PeerSpec["key"][];
}

/** One wrk run and the CPU other processes used meanwhile, in cores. */
export type Run = WrkResult & { foreign: number };

/** Medians over the repeats, the errors of every run, the most other load seen. */
export interface LoadStat extends WrkResult {
  runs: number;
  /** Cores' worth of CPU used by other processes during the noisiest run kept. */
  foreign: number;
}

/** Above this much CPU used by others during a run, the run is re-done once. */
export const NOISY_CORES = 0.2;
/** How long a noisy run's retry waits for the machine to go quiet. */
const QUIET_WAIT_MS = 30_000;

/** Downloads of the 1 GiB file per server, whose median time counts. */
const DOWNLOADS = 3;

/** The 1 GiB download, three times. */
export interface Download {
  seconds: number;
  bytes: number;
  rssBeforeKiB: number;
  /** VmHWM during the download (VmHWM since start if it could not be reset). */
  peakKiB: number;
  peakReset: boolean;
  rssAfterKiB: number;
}

/** RSS with idle connections, read with half of them open and with all. */
export interface Idle {
  rssBeforeKiB: number;
  /** With the first half open. */
  rssHalfKiB: number;
  halfOpen: number;
  rssAfterKiB: number;
  /** Connections still open (the server did not close them) when RSS was read. */
  open: number;
  failed: number;
  openingMs: number;
  firstError: string;
}

/** Options of {@linkcode measureRun}. */
export interface RunOptions {
  url: string;
  row: LoadRow;
  seconds: number;
  say: (line: string) => void;
  /** Shown before the figures, e.g. `nginx run 2/3`. */
  label: string;
  /** Whether a run spoilt by other load may be re-done (the time budget allows). */
  mayRetry: () => boolean;
}

/**
 * One wrk run of `row` against `peer`. A run during which other processes
 * used more than {@linkcode NOISY_CORES} is re-done once, when the machine is
 * quiet again (or after 30 s), and the quieter of the two kept.
 *
 * @example
 * ```ts ignore
 * const run = await measureRun(procs, peer, { url, row, seconds: 5, say, label, mayRetry });
 * ```
 */
export async function measureRun(
  procs: ProcessSet,
  peer: RunningPeer,
  options: RunOptions,
): Promise<Run> {
  const { row, say, label } = options;
  const wrk = { url: options.url, connections: row.connections, close: row.close };
  let run = await _run(procs, peer, { ...wrk, seconds: options.seconds });
  say(_describe(label, run));
  if (run.foreign > NOISY_CORES && options.mayRetry()) {
    const quiet = await waitQuiet(NOISY_CORES, QUIET_WAIT_MS);
    if (!quiet) say(`  still busy after ${QUIET_WAIT_MS / 1000} s: running again anyway`);
    const again = await _run(procs, peer, { ...wrk, seconds: options.seconds });
    say(_describe(`${label} again`, again));
    if (again.foreign < run.foreign) run = again;
  }
  return run;
}

/**
 * Loads `row` for `seconds` without measuring: the warm-up.
 *
 * @example
 * ```ts ignore
 * await warmUp(procs, url, row, 2);
 * ```
 */
export async function warmUp(
  procs: ProcessSet,
  url: string,
  row: LoadRow,
  seconds: number,
): Promise<void> {
  await runWrk(procs, { url, connections: row.connections, close: row.close, seconds });
}

/**
 * The median of each figure over `runs`, every run's errors, the most other load seen.
 *
 * @example
 * ```ts ignore
 * const stat = summarizeRuns(runs);
 * ```
 */
export function summarizeRuns(runs: Run[]): LoadStat {
  return {
    rps: _median(runs.map((r) => r.rps)),
    p50Ms: _median(runs.map((r) => r.p50Ms)),
    p99Ms: _median(runs.map((r) => r.p99Ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    errors: runs.map((r) => r.errors).filter((e) => e !== "").join("; "),
    cpuSeconds: runs.reduce((sum, r) => sum + r.cpuSeconds, 0),
    runs: runs.length,
    foreign: Math.max(...runs.map((r) => r.foreign)),
  };
}

async function _run(procs: ProcessSet, peer: RunningPeer, options: WrkOptions): Promise<Run> {
  const before = sampleCpu(peer.pids());
  const result = await runWrk(procs, options);
  const foreign = foreignCores(before, sampleCpu(peer.pids()), result.cpuSeconds);
  return { ...result, foreign };
}

function _describe(label: string, run: Run): string {
  return `  ${label}: ${Math.round(run.rps)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, ` +
    `p99 ${run.p99Ms.toFixed(2)} ms, max ${run.maxMs.toFixed(0)} ms, other load ${
      run.foreign.toFixed(2)
    } cores` +
    (run.errors ? ` (${run.errors})` : "");
}

/**
 * Downloads `url` three times (curl when present, else fetch) and reads the server's
 * memory around it.
 *
 * @example
 * ```ts ignore
 * const download = await measureDownload(procs, peer, url);
 * ```
 */
export async function measureDownload(
  procs: ProcessSet,
  peer: RunningPeer,
  url: string,
): Promise<Download> {
  const pids = peer.pids();
  const before = readMemory(pids);
  const peakReset = resetPeak(pids);
  // One download's time swings by half between runs on shared cores: the median of three.
  const runs = [];
  for (let i = 0; i < DOWNLOADS; i++) runs.push(await _download(procs, url));
  const after = readMemory(pids);
  return {
    seconds: _median(runs.map((run) => run.seconds)),
    bytes: runs[0].bytes,
    rssBeforeKiB: before.rssKiB,
    peakKiB: after.hwmKiB,
    peakReset,
    rssAfterKiB: after.rssKiB,
  };
}

async function _download(
  procs: ProcessSet,
  url: string,
): Promise<{ seconds: number; bytes: number }> {
  if (which("curl") !== null) {
    const format = "%{http_code} %{size_download} %{time_total}";
    const { out } = await procs.run("curl", "curl", ["-s", "-o", "/dev/null", "-w", format, url]);
    const [status, bytes, seconds] = out.trim().split(" ");
    if (status !== "200") throw new Error(`Download answered ${status}`);
    return { seconds: Number(seconds), bytes: Number(bytes) };
  }
  const started = performance.now();
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`Download answered ${response.status}`);
  let bytes = 0;
  for await (const chunk of response.body!) bytes += chunk.length;
  return { seconds: (performance.now() - started) / 1000, bytes };
}

/**
 * Opens `count` keep-alive connections from a holder process, reads the
 * server's RSS with them open, then closes them all.
 *
 * @example
 * ```ts ignore
 * const idle = await measureIdle(env, peer, 10_000);
 * ```
 */
export async function measureIdle(env: BenchEnv, peer: RunningPeer, count: number): Promise<Idle> {
  const pids = peer.pids();
  await _sleep(500);
  const rssBeforeKiB = readMemory(pids).rssKiB;
  const half = Math.floor(count / 2);
  const holder = env.procs.spawn("idle holder", Deno.execPath(), [
    "run",
    "--allow-net=127.0.0.1",
    `${env.repo}/scripts/bench/idle_holder.ts`,
    String(peer.port),
    String(half),
    "/page.html",
  ], { manyFiles: true, stdin: "piped", stdout: "piped" });
  const lines = _lines(holder.child.stdout);
  const stdin = holder.child.stdin.getWriter();
  const ask = async (command: string, timeoutMs: number, silent: string) => {
    if (command !== "") await stdin.write(new TextEncoder().encode(`${command}\n`));
    return (await _within(lines.next(), timeoutMs, silent)).value ?? "";
  };
  /** Waits for the holder's `ready` line, then reads RSS: the holder's open count and RSS. */
  const opened = async (command: string) => {
    const ready = await ask(command, 120_000, "idle holder not ready");
    const [word, open, failed, ms, ...error] = ready.split(" ");
    if (word !== "ready") throw new Error(`Idle holder: ${ready || "no output"}`);
    await _sleep(1000);
    const rssKiB = readMemory(pids).rssKiB;
    return { open: Number(open), failed: Number(failed), ms: Number(ms), error, rssKiB };
  };
  try {
    const first = await opened("");
    const all = await opened(`more ${count - half}`);
    const status = await ask("status", 10_000, "idle holder silent");
    const stillOpen = Number(status.split(" ")[1] ?? all.open);
    await stdin.write(new TextEncoder().encode("quit\n"));
    await _within(holder.status, 20_000, "idle holder did not exit");
    return {
      rssBeforeKiB,
      rssHalfKiB: first.rssKiB,
      halfOpen: first.open,
      rssAfterKiB: all.rssKiB,
      open: stillOpen,
      failed: all.failed,
      openingMs: first.ms + all.ms,
      firstError: all.error.join(" "),
    };
  } finally {
    await stdin.close().catch(() => {});
    await env.procs.stop(holder);
    await _sleep(1000);
  }
}

async function* _lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
}

function _within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function _median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
