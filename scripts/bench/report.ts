/**
 * The one markdown table: absolute figures per server, and in the last column
 * the ratios to the peers measured in the same run, against the targets.
 * @module
 */

import { FIXTURE } from "./fixture.ts";
import { type Download, type Idle, type LoadStat, NOISY_CORES } from "./measure.ts";
import type { PeerSpec } from "./servers.ts";

/** A figure, or the short reason it is missing (shown as `n/a (reason)`). */
export type Outcome<T> = T | string;

/** Everything measured on one server. */
export interface PeerResult {
  load: Record<string, Outcome<LoadStat>>;
  download: Outcome<Download>;
  idle: Outcome<Idle>;
  /** RSS of the process started for the load rows: after start, after the rows, 15 s later. */
  rss: { startKiB?: number; afterLoadKiB?: number; settledKiB?: number };
}

/** A figure a server is not asked for (shown as `—`). */
export const NOT_RUN = "not run";

/** Results by server key. */
export type Results = Record<PeerSpec["key"], PeerResult>;

type Key = PeerSpec["key"];
type Row = { label: string; cell: (r: PeerResult) => string; ratios: (all: Results) => string };

const MIB = 1024;
const IDLE_EXPECTED = 10_000;

/**
 * The table, one line per row.
 *
 * @example
 * ```ts ignore
 * console.log(renderTable(PEERS, results).join("\n"));
 * ```
 */
export function renderTable(peers: PeerSpec[], results: Results): string[] {
  const header = ["measurement", ...peers.map((p) => p.title), "ratios (target)"];
  const lines = [_line(header), _line(header.map(() => "---"))];
  for (const row of _rows()) {
    lines.push(
      _line([row.label, ...peers.map((p) => row.cell(results[p.key])), row.ratios(results)]),
    );
  }
  return lines;
}

/**
 * Every wrk run that reported socket errors or non-2xx answers.
 *
 * @example
 * ```ts ignore
 * renderErrors(PEERS, results); // ["bastion 1 worker, ka256: read 12"]
 * ```
 */
export function renderErrors(peers: PeerSpec[], results: Results): string[] {
  const notes: string[] = [];
  for (const peer of peers) {
    for (const [id, stat] of Object.entries(results[peer.key].load)) {
      if (typeof stat !== "string" && stat.errors) {
        notes.push(`${peer.title}, ${id}: ${stat.errors}`);
      }
    }
  }
  return notes;
}

/**
 * Rows measured while other processes used more than `limit` cores.
 *
 * @example
 * ```ts ignore
 * renderNoise(PEERS, results, 0.2); // ["Deno.serve ka50 0.61"]
 * ```
 */
export function renderNoise(peers: PeerSpec[], results: Results, limit: number): string[] {
  const noisy: string[] = [];
  for (const peer of peers) {
    for (const [id, stat] of Object.entries(results[peer.key].load)) {
      if (typeof stat !== "string" && stat.foreign > limit) {
        noisy.push(`${peer.title} ${id} ${stat.foreign.toFixed(2)}`);
      }
    }
  }
  return noisy;
}

function _rows(): Row[] {
  const rows: Row[] = [];
  for (const conns of [1, 50, 256]) {
    const id = `ka${conns}`;
    rows.push({
      label: `2 KiB page, keep-alive, ${conns} conn: req/s`,
      cell: (r) => _load(r, id, (s) => _int(s.rps)),
      ratios: (all) => _rpsRatios(all, id, conns),
    });
    rows.push({
      label: `… p50 / p99 latency (ms)`,
      cell: (r) => _load(r, id, (s) => `${_ms(s.p50Ms)} / ${_ms(s.p99Ms)}`),
      ratios: (all) => conns === 256 ? _p99VsNginx(all, id, 1.5) : "",
    });
  }
  rows.push({
    label: "2 KiB page, `Connection: close`, 50 conn: req/s",
    cell: (r) => _load(r, "close50", (s) => _int(s.rps)),
    ratios: (all) => _vsNginx(all, "close50", { b2: 0.6 }),
  });
  rows.push({
    label: "1 MiB file, 16 conn: MB/s",
    cell: (r) => _load(r, "file1m", (s) => _int(s.rps * FIXTURE.file1m.bytes / 1e6)),
    ratios: (all) => _vsNginx(all, "file1m", { b1: 1, b2: 1 }),
  });
  for (const conns of [1000, 10_000]) {
    const id = `ka${conns}`;
    rows.push({
      label: `2 KiB page, keep-alive, ${_int(conns)} conn: req/s`,
      cell: (r) => _load(r, id, (s) => _int(s.rps)),
      ratios: (all) => `${_vsNginx(all, id, {})} · ${_errorFree(all, id)}`,
    });
    rows.push({
      label: `… p50 / p99 / max latency (ms)`,
      cell: (r) => _load(r, id, (s) => `${_ms(s.p50Ms)} / ${_ms(s.p99Ms)} / ${_ms(s.maxMs)}`),
      ratios: (all) => _p99VsNginx(all, id, null),
    });
  }
  rows.push({
    label: "1 GiB download: time (s)",
    cell: (r) => _outcome(r.download, (d) => `${d.seconds.toFixed(2)}`),
    ratios: _downloadSpeed,
  });
  rows.push({
    label: "1 GiB download: RSS growth (peak) MiB",
    cell: (r) =>
      _outcome(
        r.download,
        (d) => `${_signed(_growthKiB(d) / MIB)} (peak ${_mib(d.peakKiB)}${d.peakReset ? "" : "*"})`,
      ),
    ratios: (all) =>
      _limit(all, "growth", (r) => _num(r.download, (d) => _growthKiB(d) / MIB), 8, "MiB"),
  });
  rows.push({
    label: "10 000 idle keep-alive conn: RSS growth MiB; KiB/conn, all / last 5 000",
    cell: (r) => _outcome(r.idle, _idleCell),
    ratios: (all) =>
      `${_limit(all, "KiB/conn (last 5 000)", (r) => _num(r.idle, _marginal), 6, "KiB")} · ` +
      _ratio("×1/floor", _num(all.b1.idle, _marginal), _num(all.floor.idle, _marginal), null),
  });
  rows.push({
    label: "RSS MiB: started / after the load rows / 15 s later",
    cell: (r) =>
      r.rss.startKiB === undefined ? "n/a" : [r.rss.startKiB, r.rss.afterLoadKiB, r.rss.settledKiB]
        .map((kib) => kib === undefined ? "n/a" : _mib(kib)).join(" / "),
    ratios: () => "",
  });
  return rows;
}

/** Bastion's req/s against each peer; the targets of issues 10 and 18 at 50 and 256 conns. */
function _rpsRatios(all: Results, id: string, conns: number): string {
  const rps = (key: Key) => _num(all[key].load[id], (s) => s.rps);
  const targeted = conns === 50 || conns === 256;
  return [
    _ratio("×1/nginx", rps("b1"), rps("nginx"), conns === 256 ? 0.85 : null),
    _ratio("×2/nginx", rps("b2"), rps("nginx"), conns === 256 ? 0.9 : targeted ? 0.6 : null),
    _ratio("×1/Deno", rps("b1"), rps("deno"), targeted ? 1.2 : null),
    _ratio("×2/Deno", rps("b2"), rps("deno"), targeted ? 1.5 : null),
    _ratio("×1/Caddy", rps("b1"), rps("caddy"), null),
    _ratio("×1/floor", rps("b1"), rps("floor"), null),
    ...(targeted
      ? [
        _ratio("shared/alone", rps("b1s"), rps("b1r"), 0.9),
        _ratio("counting/×1", rps("b1r"), rps("b1"), null),
      ]
      : []),
  ].join(" · ");
}

function _vsNginx(all: Results, id: string, targets: { b1?: number; b2?: number }): string {
  const rps = (key: Key) => _num(all[key].load[id], (s) => s.rps);
  return [
    _ratio("×1/nginx", rps("b1"), rps("nginx"), targets.b1 ?? null),
    _ratio("×2/nginx", rps("b2"), rps("nginx"), targets.b2 ?? null),
  ].join(" · ");
}

/** Each bastion's p99 over nginx's, at most `max` times it when given. */
function _p99VsNginx(all: Results, id: string, max: number | null): string {
  const p99 = (key: Key) => _num(all[key].load[id], (s) => s.p99Ms);
  const nginx = p99("nginx");
  return (["b1", "b2"] as const).map((key) => {
    const name = `×${key === "b1" ? 1 : 2} p99/nginx`;
    const mine = p99(key);
    if (mine === null || nginx === null || nginx === 0) return `${name} n/a`;
    const r = mine / nginx;
    if (max === null) return `${name} ${r.toFixed(2)}`;
    return `${name} ${_near(r, max, 2)} ${r <= max ? "✓" : "✗"} (≤${max})`;
  }).join(" · ");
}

/** `errors ✓` when neither bastion had a wrk error in the row. */
function _errorFree(all: Results, id: string): string {
  const failed = (["b1", "b2"] as const).filter((key) => {
    const stat = all[key].load[id];
    return stat === undefined || typeof stat === "string" || stat.errors !== "";
  });
  return failed.length === 0 ? "no errors ✓" : `errors ✗ (${failed.join(", ")})`;
}

function _downloadSpeed(all: Results): string {
  const time = (key: Key) => _num(all[key].download, (d) => d.seconds);
  return [
    _ratio("×1 speed/nginx", time("nginx"), time("b1"), 1),
    _ratio("×2 speed/nginx", time("nginx"), time("b2"), null),
  ].join(" · ");
}

/** `×1 p99 12.3 ✓ (≤25 ms)` for both bastions. */
function _limit(
  all: Results,
  what: string,
  value: (r: PeerResult) => number | null,
  max: number,
  unit: string,
): string {
  return (["b1", "b2"] as const).map((key) => {
    const v = value(all[key]);
    const name = `×${key === "b1" ? 1 : 2} ${what}`;
    if (v === null) return `${name} n/a`;
    return `${name} ${_near(v, max, 1)} ${v <= max ? "✓" : "✗"} (≤${max} ${unit})`;
  }).join(" · ");
}

function _ratio(name: string, a: number | null, b: number | null, min: number | null): string {
  if (a === null || b === null || b === 0) return `${name} n/a`;
  const r = a / b;
  if (min === null) return `${name} ${r.toFixed(2)}`;
  return `${name} ${_near(r, min, 2)} ${r >= min ? "✓" : "✗"} (≥${min})`;
}

function _idleCell(i: Idle): string {
  const open = i.open < IDLE_EXPECTED ? ` (${i.open} open)` : "";
  const growth = _signed((i.rssAfterKiB - i.rssBeforeKiB) / MIB);
  return `${growth}; ${_perConn(i).toFixed(1)} / ${_marginal(i).toFixed(1)}${open}`;
}

/** KiB per connection of the second half alone: what one more idle connection costs. */
function _marginal(i: Idle): number {
  const added = i.open - i.halfOpen;
  return added > 0 ? (i.rssAfterKiB - i.rssHalfKiB) / added : NaN;
}

/** `value` with `digits` decimals, one more when rounding would land on the target. */
function _near(value: number, target: number, digits: number): string {
  const shown = value.toFixed(digits);
  return Number(shown) === target && value !== target ? value.toFixed(digits + 1) : shown;
}

function _growthKiB(d: Download): number {
  return (d.peakReset ? d.peakKiB : d.rssAfterKiB) - d.rssBeforeKiB;
}

function _perConn(i: Idle): number {
  return i.open > 0 ? (i.rssAfterKiB - i.rssBeforeKiB) / i.open : NaN;
}

function _load(r: PeerResult, id: string, show: (s: LoadStat) => string): string {
  const stat = r.load[id];
  if (stat === undefined) return "n/a";
  if (stat === NOT_RUN) return "—";
  return _outcome(
    stat,
    (s) => show(s) + (s.errors ? " †" : "") + (s.foreign > NOISY_CORES ? " ‡" : ""),
  );
}

function _outcome<T>(value: Outcome<T>, show: (v: T) => string): string {
  if (value === NOT_RUN) return "—";
  return typeof value === "string" ? `n/a (${value})` : show(value);
}

function _num<T>(value: Outcome<T> | undefined, pick: (v: T) => number): number | null {
  if (value === undefined || typeof value === "string") return null;
  const n = pick(value);
  return Number.isFinite(n) ? n : null;
}

function _line(cells: string[]): string {
  return `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
}

function _int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function _ms(n: number): string {
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function _signed(mib: number): string {
  return `${mib < 0 ? "−" : "+"}${Math.abs(mib).toFixed(1)}`;
}

function _mib(kib: number): string {
  return (kib / MIB).toFixed(1);
}
