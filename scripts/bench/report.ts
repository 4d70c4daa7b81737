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
}

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
  for (const conns of [1, 50, 64, 256]) {
    const id = `ka${conns}`;
    rows.push({
      label: `2 KiB page, keep-alive, ${conns} conn: req/s`,
      cell: (r) => _load(r, id, (s) => _int(s.rps)),
      ratios: (all) => _rpsRatios(all, id, conns === 50 || conns === 256),
    });
    rows.push({
      label: `… p50 / p99 latency (ms)`,
      cell: (r) => _load(r, id, (s) => `${_ms(s.p50Ms)} / ${_ms(s.p99Ms)}`),
      ratios: (all) => conns === 256 ? _p99(all, id) : "",
    });
  }
  rows.push({
    label: "2 KiB page, `Connection: close`, 50 conn: req/s",
    cell: (r) => _load(r, "close50", (s) => _int(s.rps)),
    ratios: (all) => _vsNginx(all, "close50", 0.6),
  });
  rows.push({
    label: "1 MiB file, 16 conn: MB/s",
    cell: (r) => _load(r, "file1m", (s) => _int(s.rps * FIXTURE.file1m.bytes / 1e6)),
    ratios: (all) => _vsNginx(all, "file1m", 0.5),
  });
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
    label: "10 000 idle keep-alive conn: RSS growth MiB, KiB/conn",
    cell: (r) => _outcome(r.idle, _idleCell),
    ratios: (all) => _limit(all, "KiB/conn", (r) => _num(r.idle, _perConn), 10, "KiB"),
  });
  return rows;
}

function _rpsRatios(all: Results, id: string, targets: boolean): string {
  const rps = (key: Key) => _num(all[key].load[id], (s) => s.rps);
  return [
    _ratio("×2/nginx", rps("b2"), rps("nginx"), targets ? 0.6 : null),
    _ratio("×2/Deno", rps("b2"), rps("deno"), targets ? 1.5 : null),
    _ratio("×1/Deno", rps("b1"), rps("deno"), targets ? 1.2 : null),
    _ratio("×1/nginx", rps("b1"), rps("nginx"), null),
  ].join(" · ");
}

function _vsNginx(all: Results, id: string, target: number): string {
  const rps = (key: Key) => _num(all[key].load[id], (s) => s.rps);
  return [
    _ratio("×2/nginx", rps("b2"), rps("nginx"), target),
    _ratio("×1/nginx", rps("b1"), rps("nginx"), null),
  ].join(" · ");
}

function _p99(all: Results, id: string): string {
  return _limit(all, "p99", (r) => _num(r.load[id], (s) => s.p99Ms), 25, "ms");
}

function _downloadSpeed(all: Results): string {
  const time = (key: Key) => _num(all[key].download, (d) => d.seconds);
  return [
    _ratio("×1 speed/nginx", time("nginx"), time("b1"), null),
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
  return `${_signed((i.rssAfterKiB - i.rssBeforeKiB) / MIB)}, ${_perConn(i).toFixed(1)}${open}`;
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
  return _outcome(
    stat,
    (s) => show(s) + (s.errors ? " †" : "") + (s.foreign > NOISY_CORES ? " ‡" : ""),
  );
}

function _outcome<T>(value: Outcome<T>, show: (v: T) => string): string {
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
