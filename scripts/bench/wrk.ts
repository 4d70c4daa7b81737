/**
 * Runs wrk (`-t1`: the load generator shares the cores with the server) and
 * reads requests/s, p50, p99 and errors from its `--latency` report.
 * @module
 */

import { type ProcessSet, RAISE_FILES } from "./procs.ts";

/** One wrk run. */
export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest request's latency: a starved connection shows here. */
  maxMs: number;
  /** Socket errors and non-2xx/3xx responses, e.g. `read 12, non-2xx 3`; "" when none. */
  errors: string;
  /** wrk's user + system CPU time (0 when unknown). */
  cpuSeconds: number;
}

/** Options of {@linkcode runWrk}. */
export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Send `Connection: close` with every request. @default false */
  close?: boolean;
}

const TIMEOUT = "10s";

/**
 * Runs wrk once.
 *
 * @example
 * ```ts ignore
 * const result = await runWrk(procs, { url, connections: 64, seconds: 5 });
 * ```
 */
export async function runWrk(procs: ProcessSet, options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    `--timeout`,
    TIMEOUT,
    "--latency",
    ...(options.close ? ["-H", "Connection: close"] : []),
    options.url,
  ];
  // bash's `times` after wrk: wrk's own CPU time, so other load can be told apart.
  // Many connections need the open-files limit raised first.
  const script = `${RAISE_FILES}; wrk "$@"; status=$?; echo; times; exit $status`;
  const { code, out } = await procs.run("wrk", "bash", ["-c", script, "wrk", ...args]);
  if (code !== 0) throw new Error(`wrk failed: ${out.trim().split("\n").pop()}`);
  return { ...parseWrk(out), cpuSeconds: _childTimes(out) };
}

/**
 * Reads a wrk `--latency` report.
 *
 * @example
 * ```ts
 * import { parseWrk } from "./wrk.ts";
 * parseWrk("     50%    1.00ms\n     99%    2.00ms\nRequests/sec:   100.00\n").rps; // 100
 * ```
 */
export function parseWrk(text: string): WrkResult {
  const rps = text.match(/^Requests\/sec:\s+([\d.]+)/m);
  const p50 = text.match(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const p99 = text.match(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const max = text.match(/^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\s/m);
  if (rps === null || p50 === null || p99 === null || max === null) {
    throw new Error(`Unreadable wrk output: ${text.slice(0, 200)}`);
  }
  const errors: string[] = [];
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  if (socket !== null) {
    ["connect", "read", "write", "timeout"].forEach((kind, i) => {
      if (socket[i + 1] !== "0") errors.push(`${kind} ${socket[i + 1]}`);
    });
  }
  const non2xx = text.match(/Non-2xx or 3xx responses: (\d+)/);
  if (non2xx !== null) errors.push(`non-2xx ${non2xx[1]}`);
  return {
    rps: Number(rps[1]),
    p50Ms: _ms(p50[1], p50[2]),
    p99Ms: _ms(p99[1], p99[2]),
    maxMs: _ms(max[1], max[2]),
    errors: errors.join(", "),
    cpuSeconds: 0,
  };
}

/** The last line of bash's `times`: children's user and system time, `0m1.234s 0m0.567s`. */
function _childTimes(out: string): number {
  const match = out.trim().match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  if (match === null) return 0;
  return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) * 60 + Number(match[4]);
}

function _ms(value: string, unit: string): number {
  const factor: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
  return Number(value) * factor[unit];
}
